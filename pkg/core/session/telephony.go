package session

import (
	"context"
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/protocol"
)

// TelephonySession is a prepared Telephony (SIP) aspect for the commands
// that receive calls (whois-caller --listen, answer). Shutdown closes it
// and stops the plugin.
type TelephonySession struct {
	protocol.TelephonySession
	Account config.Account
	Plugins *Plugins
	// Info is the backend's self-description (its capabilities).
	Info protocol.Info
	// Backend is the plugin's name (for messages).
	Backend string
}

// Shutdown closes the session (bounded: it unregisters) and stops the
// plugin processes.
func (t *TelephonySession) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = t.TelephonySession.Close(ctx)
	t.Plugins.Close()
}

// OpenTelephony starts the account's telephony backend and prepares its
// user agent (Connect; Register is the caller's, once it listens). RFC
// 7081 strategy 1: calls go over SIP. Connect is bounded by timeout plus
// the plugin's grace: a plugin that does not answer is a plugin failure
// (NoAnswer). When src lends the aspect (the agent keeps it registered),
// the session is a lease: Register reports the live registration and
// Shutdown ends only the lease.
func OpenTelephony(ctx context.Context, src Source, store secrets.Store, a config.Account, timeout time.Duration) (*TelephonySession, error) {
	if a.SIP == nil {
		return nil, fmt.Errorf("account %s has no SIP aspect to receive calls on: %w", a.Name, protocol.ErrUnsupported)
	}
	// A session the agent lends needs no password: nothing registers.
	var pw string
	if !Lends(ctx, src, protocol.KindTelephony, a.SIP.AOR) {
		var err error
		if pw, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectSIP}, a.SIP.PasswordCommand); err != nil {
			return nil, fmt.Errorf("telephony password: %w", err)
		}
	}
	ca, err := ReadCA(a)
	if err != nil {
		return nil, err
	}
	plugins, err := Open(ctx, src, a, Only(protocol.KindTelephony))
	if err != nil {
		return nil, err
	}
	_, backend := BackendNames(a)
	cctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	sess, err := plugins.Telephony.Connect(cctx, protocol.ConnectRequest{
		Address: a.SIP.AOR, Username: a.SIP.Username, Password: pw, Server: a.SIP.Proxy,
		CAPEM: ca, AllowPlaintext: a.SIP.AllowPlaintext, MinTLS: a.MinTLS(), Timeout: timeout,
	})
	if err != nil {
		if plugins.Lent(protocol.KindTelephony) {
			err = leaseTimeout(ctx, cctx, err, a.SIP.AOR, timeout+2*time.Second)
		} else {
			err = NoAnswer(ctx, cctx, err, protocol.KindTelephony, backend, "Connect", timeout+2*time.Second)
		}
		plugins.Close()
		return nil, fmt.Errorf("telephony: %w", err)
	}
	return &TelephonySession{TelephonySession: sess, Account: a, Plugins: plugins,
		Info: plugins.Info(protocol.KindTelephony), Backend: backend}, nil
}
