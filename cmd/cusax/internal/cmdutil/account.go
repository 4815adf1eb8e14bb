package cmdutil

import (
	"context"
	"errors"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// Account loads the config and picks an account by name ("" = default, or
// the only one). A missing or unknown account is a usage error with a hint.
func (f *Factory) Account(name string) (config.Account, error) {
	cfg, _, err := f.Config()
	if err != nil {
		return config.Account{}, err
	}
	a, err := cfg.Account(name)
	if err != nil {
		return config.Account{}, WithHint(Usagef("%v", err), "set one up with 'cusax login', or pick one with --account")
	}
	if err := a.Validate(); err != nil {
		return config.Account{}, Usagef("%w", err)
	}
	return *a, nil
}

// OpenChat logs into the account's Chat aspect.
func (f *Factory) OpenChat(a config.Account, timeout time.Duration) (*session.ChatSession, error) {
	src, err := f.Backends()
	if err != nil {
		return nil, err
	}
	// A session the agent lends needs no password: the secret store is
	// not even opened (its keyring probe is a D-Bus round trip).
	var store secrets.Store
	if a.XMPP == nil || !session.Lends(f.Context, src, protocol.KindIMPP, a.XMPP.JID) {
		if store, _, err = f.Secrets(); err != nil {
			return nil, err
		}
	}
	if a.XMPP != nil {
		// This invocation decides, whatever built a (see applyPlaintext).
		x := *a.XMPP
		x.AllowPlaintext = f.allowPlaintext()
		a.XMPP = &x
	}
	start := time.Now()
	sess, err := session.OpenChat(f.Context, src, store, a, timeout, f.Logger())
	if err != nil {
		if errors.Is(err, protocol.ErrInsecure) {
			return nil, f.plaintextHint(err)
		}
		return nil, err
	}
	f.Logger().Debug("chat session open", "ms", time.Since(start).Milliseconds())
	f.WarnPlaintext("chat", sess.Report())
	return sess, nil
}

// OpenIM logs into the account's instant-messaging backend: XMPP, or SIP
// MESSAGE when IM goes over SIP (session.Serve; RFC 7081 §2). `chat` uses
// it.
func (f *Factory) OpenIM(a config.Account, timeout time.Duration) (*session.ChatSession, error) {
	if sv := session.Serve(a); sv.Chat != "" && !sv.ChatOverSIP {
		return f.OpenChat(a, timeout)
	}
	store, _, err := f.Secrets()
	if err != nil {
		return nil, err
	}
	src, err := f.Backends()
	if err != nil {
		return nil, err
	}
	// This invocation decides, whatever built a (see applyPlaintext).
	if a.SIP != nil {
		s := *a.SIP
		s.AllowPlaintext = f.allowPlaintext()
		a.SIP = &s
	}
	sess, err := session.OpenIM(f.Context, src, store, a, timeout, f.Logger())
	if err != nil {
		if errors.Is(err, protocol.ErrInsecure) {
			return nil, f.plaintextHint(err)
		}
		return nil, err
	}
	f.WarnPlaintext("chat", sess.Report())
	return sess, nil
}

// chatViaAgent bounds a one-liner's message through the agent as a lease
// is bounded: the login timeout and 2 s (session.OpenChat).
const chatViaAgent = 17 * time.Second

// SendChatViaAgent sends one message to contact through the agent's live
// session of account a in one round trip (session.AgentSource.SendChat).
// ok is false when that path does not apply — no agent, --no-agent, IM
// over SIP, --allow-plaintext on this command (whose warning the usual
// path gives) — and the caller logs in as usual.
func (f *Factory) SendChatViaAgent(a config.Account, contact, body string) (session.SentChat, bool, error) {
	if a.XMPP == nil || session.Serve(a).ChatOverSIP || f.allowPlaintext() || f.Backends == nil {
		return session.SentChat{}, false, nil
	}
	src, err := f.Backends()
	if err != nil {
		return session.SentChat{}, false, nil // the usual path reports it
	}
	ag, isAgent := src.(interface {
		SendChat(ctx context.Context, address, contact, body string) (session.SentChat, bool, error)
	})
	if !isAgent {
		return session.SentChat{}, false, nil
	}
	ctx, cancel := context.WithTimeout(f.Context, chatViaAgent)
	defer cancel()
	return ag.SendChat(ctx, a.XMPP.JID, contact, body)
}
