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
		return nil, fmt.Errorf("account %s has no Chat (XMPP) aspect: %w", a.Name, protocol.ErrUnsupported)
	}
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ca, err := ReadCA(a)
	if err != nil {
		return nil, err
	}
	// A session the agent lends needs no password: nothing logs in.
	var pw string
	if !Lends(ctx, src, protocol.KindIMPP, a.XMPP.JID) {
		if pw, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectXMPP}, a.XMPP.PasswordCommand); err != nil {
			return nil, fmt.Errorf("chat password: %w", err)
		}
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	t0 := time.Now()
	plugins, err := Open(ctx, src, a, Only(protocol.KindIMPP))
	if err != nil {
		return nil, err
	}
	lent := plugins.Lent(protocol.KindIMPP)
	if lent {
		log.Debug("chat session lent by the agent", "jid", a.XMPP.JID)
	} else {
		log.Debug("plugin started", "ms", time.Since(t0).Milliseconds())
	}
	t1 := time.Now()
	cctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	sess, err := plugins.IMPP.Connect(cctx, protocol.ConnectRequest{
		Address: a.XMPP.JID, Password: pw, Server: a.XMPP.Server, DirectTLS: a.XMPP.DirectTLS,
		CAPEM: ca, AllowPlaintext: a.XMPP.AllowPlaintext, Mechanisms: a.XMPP.Mechanisms, MinTLS: a.MinTLS(), Timeout: timeout,
	})
	if err != nil {
		name, _ := BackendNames(a)
		if lent {
			err = leaseTimeout(ctx, cctx, err, a.XMPP.JID, timeout+2*time.Second)
		} else {
			err = NoAnswer(ctx, cctx, err, protocol.KindIMPP, name, "Connect", timeout+2*time.Second)
		}
		plugins.Close()
		return nil, aspectErr(protocol.AspectChat, err)
	}
	if lent {
		log.Debug("agent lease taken", "ms", time.Since(t1).Milliseconds())
	} else {
		log.Debug("xmpp connected", "ms", time.Since(t1).Milliseconds(), "login_ms", sess.Report().Elapsed.Milliseconds())
	}
	return &ChatSession{IMPPSession: sess, Account: a, Plugins: plugins, Info: plugins.Info(protocol.KindIMPP)}, nil
}
