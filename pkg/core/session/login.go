// Package session is the host's session runtime: every command gets an
// account's backends and policies from it (Open, OpenChat, Passwords,
// ReadCA), and login and status prove an account live with it (Prove): log
// into both aspects of a CUSAX service, report what each connection
// established, compare their protection, and log out again.
//
// Order (RFC 7081 §2, strategy 11): SIP is registered first and XMPP is
// logged into only after that, so that the user never appears online to
// contacts while calls to them would fail. Parallel does both at once.
package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/parity"
	"github.com/cusax/cusax/pkg/protocol"
)

// Backends are the plugins of the account's aspects (nil for an aspect the
// account does not have).
type Backends struct {
	IMPP      protocol.IMPP
	Telephony protocol.Telephony
}

// Request is one login.
type Request struct {
	Account      config.Account
	XMPPPassword string
	SIPPassword  string
	CAPEM        []byte
	// Parallel logs into both aspects at once instead of SIP first.
	Parallel bool
	// MinTLS is "1.2" or "1.3" for both aspects.
	MinTLS string
	// Timeout bounds each aspect's login (default 15 s).
	Timeout time.Duration
	// PublishReach publishes these XEP-0152 reachability addresses from the
	// XMPP session (RFC 7081 §3.3, strategy 12), e.g. the related SIP AOR.
	PublishReach []protocol.ReachAddress
	// TelephonyInfo is the telephony backend's self-description, for the
	// media parity finding (does it declare protocol.CapSRTP?); nil when
	// not known, and then only the account's media_encryption is judged.
	TelephonyInfo *protocol.Info
}

// AspectResult is what happened to one aspect.
type AspectResult struct {
	Aspect protocol.Aspect `json:"aspect"`
	// Configured is false when the account has no such aspect.
	Configured bool                       `json:"configured"`
	Report     *protocol.ConnectionReport `json:"report,omitempty"`
	Err        error                      `json:"-"`
	// Skipped says why the aspect was not tried.
	Skipped string `json:"skipped,omitempty"`
	// LogoutErr is a failure to log out cleanly (not fatal).
	LogoutErr error `json:"-"`
	// ReachPublished lists what was published (--publish-reach); ReachErr
	// says why it was not.
	ReachPublished []protocol.ReachAddress `json:"reach_published,omitempty"`
	ReachErr       error                   `json:"-"`
	// Started and Finished bracket the login (not the logout).
	Started  time.Time `json:"started_at"`
	Finished time.Time `json:"finished_at"`
}

// OK reports whether the aspect is unconfigured or logged in.
func (a AspectResult) OK() bool { return !a.Configured || (a.Report != nil && a.Err == nil) }

// Result is a whole login.
type Result struct {
	Account   string                   `json:"account"`
	Telephony AspectResult             `json:"telephony"`
	Chat      AspectResult             `json:"chat"`
	Findings  []protocol.ParityFinding `json:"parity"`
	Elapsed   time.Duration            `json:"-"` // printed as elapsed_ms (cmd/login)
}

// OK reports whether every configured aspect logged in.
func (r Result) OK() bool { return r.Telephony.OK() && r.Chat.OK() }

// Err returns the first aspect error, telephony first (it ran first).
func (r Result) Err() error {
	if r.Telephony.Err != nil {
		return r.Telephony.Err
	}
	return r.Chat.Err
}

// Prove logs into the account's aspects and out again.
func Prove(ctx context.Context, b Backends, req Request) Result {
	start := time.Now()
	acct := req.Account
	res := Result{
		Account:   acct.Name,
		Telephony: AspectResult{Aspect: protocol.AspectTelephony, Configured: acct.SIP != nil},
		Chat:      AspectResult{Aspect: protocol.AspectChat, Configured: acct.XMPP != nil},
	}
	sip := func() { res.Telephony = proveSIP(ctx, b.Telephony, req) }
	xmpp := func() { res.Chat = proveXMPP(ctx, b.IMPP, req) }
	// Both logins return right after login; logout runs in the deferred
	// part, so Finished marks a completed login.
	switch {
	case req.Parallel:
		var wg sync.WaitGroup
		if acct.SIP != nil {
			wg.Add(1)
			go func() { defer wg.Done(); sip() }()
		}
		if acct.XMPP != nil {
			wg.Add(1)
			go func() { defer wg.Done(); xmpp() }()
		}
		wg.Wait()
	default:
		if acct.SIP != nil {
			sip()
		}
		if acct.XMPP != nil {
			if res.Telephony.Configured && !res.Telephony.OK() {
				// RFC 7081 §2: XMPP waits for a SIP registration.
				res.Chat.Skipped = "not tried: Telephony did not register (RFC 7081 §2: Chat waits for Telephony; --parallel tries both)"
			} else {
				xmpp()
			}
		}
	}
	if res.Chat.Report != nil && res.Telephony.Report != nil {
		var proxy, domain string
		if acct.SIP != nil {
			proxy, domain = acct.SIP.Proxy, domainOf(acct.SIP.AOR)
		}
		res.Findings = parity.Compare(*res.Chat.Report, *res.Telephony.Report, parity.Fixes{Account: acct.Name, SIPProxy: proxy, SIPDomain: domain})
		if f, ok := parity.CompareMedia(mediaOf(req, *res.Telephony.Report)); ok {
			res.Findings = append(res.Findings, f)
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

// mediaOf is what decides the protection of the account's call media: its
// setting, the registration's transport and the backend's capability.
func mediaOf(req Request, tel protocol.ConnectionReport) parity.Media {
	_, backend := BackendNames(req.Account)
	m := parity.Media{Account: req.Account.Name, Backend: backend, SignallingTLS: tel.Encrypted}
	if s := req.Account.SIP; s != nil {
		m.Setting = s.MediaEncryption
	}
	if i := req.TelephonyInfo; i != nil {
		has := i.Has(protocol.CapSRTP)
		m.BackendSRTP = &has
	}
	return m
}

func (r Request) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 15 * time.Second
}

// hostTimeout gives the backend a moment past its own deadline, so that its
// precise error ("no answer from 127.0.0.1:5222 within 2s") arrives rather
// than the host's bare deadline.
func (r Request) hostTimeout() time.Duration { return r.timeout() + 2*time.Second }

// minTLS is the higher of two floors: the request's (--min-tls) and the
// one the account's provider asks for in its provisioning document.
func (r Request) minTLS() string {
	if p := r.Account.MinTLS(); p > r.MinTLS { // "", "1.2", "1.3" order as strings
		return p
	}
	return r.MinTLS
}

func proveSIP(ctx context.Context, tel protocol.Telephony, req Request) AspectResult {
	out := AspectResult{Aspect: protocol.AspectTelephony, Configured: true, Started: time.Now()}
	defer func() {
		if out.Finished.IsZero() {
			out.Finished = time.Now()
		}
	}()
	if tel == nil {
		out.Err = fmt.Errorf("telephony: no backend: %w", protocol.ErrUnsupported)
		return out
	}
	a := req.Account.SIP
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, req.hostTimeout())
	defer cancel()
	sess, err := tel.Connect(ctx, protocol.ConnectRequest{
		Address: a.AOR, Username: a.Username, Password: req.SIPPassword, Server: a.Proxy,
		CAPEM: req.CAPEM, AllowPlaintext: a.AllowPlaintext, MinTLS: req.minTLS(), Timeout: req.timeout(),
	})
	if err != nil {
		_, name := BackendNames(req.Account)
		err = NoAnswer(parent, ctx, err, protocol.KindTelephony, name, "Connect", req.hostTimeout())
		out.Err = aspectErr(protocol.AspectTelephony, err)
		return out
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer ccancel()
		if err := sess.Close(cctx); err != nil && out.LogoutErr == nil {
			out.LogoutErr = err
		}
	}()
	rep, err := sess.Register(ctx, protocol.RegisterRequest{})
	out.Finished = time.Now()
	if err != nil {
		out.Err = aspectErr(protocol.AspectTelephony, err)
		return out
	}
	out.Report = &rep
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ucancel()
	out.LogoutErr = sess.Unregister(uctx)
	return out
}

func proveXMPP(ctx context.Context, impp protocol.IMPP, req Request) AspectResult {
	out := AspectResult{Aspect: protocol.AspectChat, Configured: true, Started: time.Now()}
	defer func() {
		if out.Finished.IsZero() {
			out.Finished = time.Now()
		}
	}()
	if impp == nil {
		out.Err = fmt.Errorf("chat: no backend: %w", protocol.ErrUnsupported)
		return out
	}
	a := req.Account.XMPP
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, req.hostTimeout())
	defer cancel()
	sess, err := impp.Connect(ctx, protocol.ConnectRequest{
		Address: a.JID, Password: req.XMPPPassword, Server: a.Server, DirectTLS: a.DirectTLS,
		CAPEM: req.CAPEM, AllowPlaintext: a.AllowPlaintext, Mechanisms: a.Mechanisms, MinTLS: req.minTLS(), Timeout: req.timeout(),
	})
	out.Finished = time.Now()
	if err != nil {
		name, _ := BackendNames(req.Account)
		err = NoAnswer(parent, ctx, err, protocol.KindIMPP, name, "Connect", req.hostTimeout())
		out.Err = aspectErr(protocol.AspectChat, err)
		return out
	}
	rep := sess.Report()
	out.Report = &rep
	if len(req.PublishReach) > 0 {
		if err := sess.PublishReach(ctx, req.PublishReach); err != nil {
			out.ReachErr = fmt.Errorf("publish reachability addresses: %w", err)
		} else {
			out.ReachPublished = req.PublishReach
		}
	}
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ccancel()
	out.LogoutErr = sess.Close(cctx)
	return out
}

// AspectError names the aspect an error belongs to ("Telephony: …").
type AspectError struct {
	Aspect protocol.Aspect
	Err    error
}

func (e *AspectError) Error() string { return e.Aspect.Label() + ": " + e.Err.Error() }
func (e *AspectError) Unwrap() error { return e.Err }

func aspectErr(a protocol.Aspect, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, protocol.ErrTimeout) {
		err = fmt.Errorf("%v: %w", err, protocol.ErrTimeout)
	}
	return &AspectError{Aspect: a, Err: err}
}

// domainOf is the AOR's domain for the parity fix texts, in pkg/address's
// one form (the old copy kept case, port-less IPv6 cut at the first ':'
// and Unicode IDNs); "" when the AOR has none.
func domainOf(aor string) string {
	d, _ := address.DomainOf(aor)
	return d
}
