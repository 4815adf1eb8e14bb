package session

import (
	"context"
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-hclog"
)

// ChatSession is a logged-in Chat (XMPP) aspect for commands such as
// roster and chat. Shutdown logs out and stops the plugin.
type ChatSession struct {
	protocol.IMPPSession
	Account config.Account
	Plugins *Plugins
	// Info is the backend's self-description (its capabilities).
	Info protocol.Info
}

// Shutdown logs out (bounded) and stops the plugin processes.
func (c *ChatSession) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = c.IMPPSession.Close(ctx)
	c.Plugins.Close()
}

// OpenChat starts the account's IMPP backend and logs into the Chat aspect,
// or, when src lends it (Lender: `cusax agent` keeps it connected), takes
// a lease on the live session: no plugin, no password, no login, and
// Shutdown ends only the lease. RFC 7081 strategy 2: chat, presence, the
// roster and vCards go over XMPP.
func OpenChat(ctx context.Context, src Source, store secrets.Store, a config.Account, timeout time.Duration, log hclog.Logger) (*ChatSession, error) {
	if a.XMPP == nil {
		if sv := Serve(a); sv.ChatOverSIP {
			// RFC 7081 §2: IM over SIP carries messages only.
			return nil, &IMBackendError{Backend: sv.Chat, Account: a.Name, What: "the roster, vCards, presence and rooms need an XMPP aspect"}
		}
		return nil, fmt.Errorf("account %s has no Chat (XMPP) aspect: %w", a.Name, protocol.ErrUnsupported)
	}
	return openIMPP(ctx, src, store, a, timeout, log, "")
}

// OpenIM starts the plugin that carries the account's instant messages
// (Serve(a).Chat: XMPP, or SIP MESSAGE when IM goes over SIP, RFC 7081 §2)
// and logs in with the matching aspect's address and password. `chat`
// uses it; the roster, vCards and rooms use OpenChat.
func OpenIM(ctx context.Context, src Source, store secrets.Store, a config.Account, timeout time.Duration, log hclog.Logger) (*ChatSession, error) {
	sv := Serve(a)
	switch {
	case sv.Chat == "":
		hint := "add a SIP aspect: cusax login --name " + a.Name + " --aor sip:USER@DOMAIN --password-stdin, or remove im_over_sip"
		if a.SIP != nil {
			hint = "set im_over_sip = true in [account.features] of account " + a.Name + ", or add an XMPP aspect with cusax login --jid"
		}
		return nil, &switchError{err: fmt.Errorf("account %s cannot chat: %s: %w", a.Name, sv.ChatUnavailable, ErrNoChat), hint: hint}
	case !sv.ChatOverSIP:
		return openIMPP(ctx, src, store, a, timeout, log, "")
	}
	return openIMPP(ctx, src, store, a, timeout, log, sv.Chat)
}

// IMBackendError: the account's IM backend cannot do what a command needs.
type IMBackendError struct {
	Backend string // the IMPP plugin, e.g. "sipmessage"
	What    string // what is missing, e.g. "the roster (RFC 6121) needs XMPP"
	Account string // the account's name, for the hint; may be ""
}

// Hints names the fix: an XMPP aspect for the account.
func (e *IMBackendError) Hints() []string {
	name := e.Account
	if name == "" {
		name = "NAME"
	}
	return []string{"add an XMPP aspect: cusax login --name " + name + " --jid USER@DOMAIN --password-stdin (docs/sipmessage-backend.md)"}
}

func (e *IMBackendError) Error() string {
	return fmt.Sprintf("not supported by this account's IM backend (%s): %s", e.Backend, e.What)
}

// Unwrap makes it an ErrUnsupported.
func (e *IMBackendError) Unwrap() error { return protocol.ErrUnsupported }

// openIMPP logs into the XMPP aspect with the XMPP IMPP plugin, or, with
// overSIP set, into the SIP aspect with that IMPP plugin.
func openIMPP(ctx context.Context, src Source, store secrets.Store, a config.Account, timeout time.Duration, log hclog.Logger, overSIP string) (*ChatSession, error) {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ca, err := ReadCA(a)
	if err != nil {
		return nil, err
	}
	var req protocol.ConnectRequest
	var opts []Option
	if overSIP != "" {
		s := a.SIP
		pw, err := secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectSIP}, s.PasswordCommand)
		if err != nil {
			return nil, fmt.Errorf("chat (over SIP) password: %w", err)
		}
		req = protocol.ConnectRequest{Address: s.AOR, Username: s.Username, Password: pw, Server: s.Proxy,
			CAPEM: ca, AllowPlaintext: s.AllowPlaintext, MinTLS: a.MinTLS(), Timeout: timeout}
		opts = append(opts, IMPPNamed(overSIP))
	} else {
		// A session the agent lends needs no password: nothing logs in.
		var pw string
		if !Lends(ctx, src, protocol.KindIMPP, a.XMPP.JID) {
			if pw, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectXMPP}, a.XMPP.PasswordCommand); err != nil {
				return nil, fmt.Errorf("chat password: %w", err)
			}
		}
		req = protocol.ConnectRequest{
			Address: a.XMPP.JID, Password: pw, Server: a.XMPP.Server, DirectTLS: a.XMPP.DirectTLS,
			CAPEM: ca, AllowPlaintext: a.XMPP.AllowPlaintext, Mechanisms: a.XMPP.Mechanisms, MinTLS: a.MinTLS(), Timeout: timeout,
		}
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	t0 := time.Now()
	plugins, err := Open(ctx, src, a, append([]Option{Only(protocol.KindIMPP)}, opts...)...)
	if err != nil {
		return nil, err
	}
	lent := plugins.Lent(protocol.KindIMPP)
	if lent {
		log.Debug("chat session lent by the agent", "jid", req.Address)
	} else {
		log.Debug("plugin started", "ms", time.Since(t0).Milliseconds())
	}
	t1 := time.Now()
	cctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	sess, err := plugins.IMPP.Connect(cctx, req)
	if err != nil {
		name, _ := BackendNames(a)
		if overSIP != "" {
			name = overSIP
		}
		if lent {
			err = leaseTimeout(ctx, cctx, err, req.Address, timeout+2*time.Second)
		} else {
			err = NoAnswer(ctx, cctx, err, protocol.KindIMPP, name, "Connect", timeout+2*time.Second)
		}
		plugins.Close()
		return nil, aspectErr(protocol.AspectChat, err)
	}
	if lent {
		log.Debug("agent lease taken", "ms", time.Since(t1).Milliseconds())
	} else {
		log.Debug("im connected", "backend", plugins.Info(protocol.KindIMPP).Name, "ms", time.Since(t1).Milliseconds(), "login_ms", sess.Report().Elapsed.Milliseconds())
	}
	return &ChatSession{IMPPSession: sess, Account: a, Plugins: plugins, Info: plugins.Info(protocol.KindIMPP)}, nil
}
