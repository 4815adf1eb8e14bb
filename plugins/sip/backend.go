package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// Version is the backend's version, sent as User-Agent: cusax/<Version>.
// The build sets it with -ldflags "-X github.com/cusax/cusax/plugins/sip.Version=…".
var Version = "dev"

// Option keys this backend reads from protocol.ConnectRequest.Options.
const (
	// OptionDNSServer is a DNS server "host:port" for RFC 3263 lookups
	// instead of the nameservers of /etc/resolv.conf.
	OptionDNSServer = "dns-server"
	// OptionDisplayName is the display name put in From.
	OptionDisplayName = "display-name"
)

const (
	defaultTimeout = 10 * time.Second
	defaultExpires = 3600 * time.Second
	// closeTimeout bounds the unregistration Close does.
	closeTimeout = 3 * time.Second
)

// Backend is the built-in SIP telephony backend, on github.com/emiago/sipgo.
// It is safe for concurrent use; each Connect returns an independent
// session.
type Backend struct {
	log hclog.Logger
	// Resolver does RFC 3263 lookups when ConnectRequest.Server is empty.
	// nil: a Resolver using /etc/resolv.conf (or Options["dns-server"]).
	Resolver *Resolver
}

var _ protocol.Telephony = (*Backend)(nil)

// New returns the backend. logger may be nil (no logging).
func New(logger hclog.Logger) *Backend {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Backend{log: logger}
}

// Info describes the backend. It does no IO.
func (b *Backend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind:         protocol.KindTelephony,
		Name:         "sip",
		Version:      Version,
		APIVersion:   protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapRegister, protocol.CapDial, protocol.CapIncomingCalls, protocol.CapMedia, protocol.CapDTMF, protocol.CapAnswer, protocol.CapSRTP, protocol.CapRespondAny, protocol.CapOptions},
		Description:  "SIP (RFC 3261) registration and calls over UDP, TCP and TLS with RFC 8760 digest; G.711 RTP media, SDES-SRTP (RFC 4568, keys over TLS only) on placed calls, and RFC 4733 DTMF; incoming INVITEs streamed and refused or left ringing (no answering)",
	}, nil
}

// Connect validates the request, resolves the server (RFC 3263 unless
// req.Server names one) and prepares a user agent. It sends nothing; the
// session's Register does. Errors: ErrInvalid (bad address, server URI or
// a CR, LF or NUL in any field), ErrUnreachable (DNS found no server),
// ErrTimeout.
func (b *Backend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	aor, err := parseAOR(req.Address)
	if err != nil {
		return nil, err
	}
	authUser := req.Username
	if authUser == "" {
		authUser = aor.User
	}
	if err := checkQuoted("username", authUser); err != nil {
		return nil, err
	}
	for k, v := range req.Options {
		if err := checkText("option "+k, k+v); err != nil {
			return nil, err
		}
	}
	display := req.Options[OptionDisplayName]
	if err := checkText("display name", display); err != nil {
		return nil, err
	}
	minTLS, ok := protocol.TLSVersion(req.MinTLS)
	if !ok {
		return nil, fmt.Errorf("min TLS version %q: want 1.2 or 1.3: %w", req.MinTLS, protocol.ErrInvalid)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	resolver := b.Resolver
	if resolver == nil {
		resolver = &Resolver{}
	}
	if srv := req.Options[OptionDNSServer]; srv != "" {
		r := *resolver
		r.Server = srv
		resolver = &r
	}

	// The proxy, or the AOR's domain (RFC 3263 §4: the URI to resolve is
	// the outbound proxy's when there is one, else the Request-URI's).
	var (
		targets   []Target
		proxyHost string
		how       string
	)
	if req.Server != "" {
		p, err := parseProxy(req.Server)
		if err != nil {
			return nil, err
		}
		if aor.IsEncrypted() && p.Transport != "" && p.Transport != "tls" {
			// RFC 3261 §26.2.2: a SIPS AOR is reached over TLS only.
			return nil, fmt.Errorf("server %q: a sips: address needs a TLS proxy: %w", req.Server, protocol.ErrInvalid)
		}
		if !p.IsIP() {
			proxyHost = p.Host
		}
		targets, err = resolver.Resolve(ctx, p.Host, p.Port, p.Transport, p.Secure || aor.IsEncrypted())
		if err != nil {
			return nil, resolveError(ctx, "server "+req.Server, err)
		}
		how = "outbound proxy " + req.Server
	} else {
		targets, err = resolver.Resolve(ctx, aor.Host, aor.Port, "", aor.IsEncrypted())
		if err != nil {
			return nil, resolveError(ctx, "domain "+aor.Host, err)
		}
		how = "RFC 3263 lookup of " + aor.Host
	}

	if len(req.CAPEM) == 0 && hasTLS(targets) {
		// Overlap parsing the system roots with the TCP connect. Not at
		// start-up: most calls and registrations never need them (UDP,
		// or an account CA), and on a small machine the parse competes
		// with the call for CPU (docs/benchmarks.md).
		certid.Prewarm()
	}
	pool, err := certid.Roots(req.CAPEM)
	if err != nil {
		return nil, err
	}

	s := &session{
		log:       b.log.With("aor", aor.Addr()),
		aor:       aor,
		authUser:  authUser,
		password:  req.Password,
		display:   display,
		timeout:   timeout,
		targets:   targets,
		proxyHost: proxyHost,
		callID:    randomToken(16) + "@cusax",
		fromTag:   randomToken(8),
		cseq:      1,
	}
	s.tlsConfig = certid.SIPClientConfig(aor.Host, proxyHost, pool, &s.verif)
	if minTLS > s.tlsConfig.MinVersion {
		s.tlsConfig.MinVersion = minTLS // --min-tls: parity with the XMPP aspect (RFC 7081 §7)
	}
	slogger := newSlogLogger(s.log)
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("cusax/"+Version),
		sipgo.WithUserAgentHostname(aor.Host),
		sipgo.WithUserAgenTLSConfig(s.tlsConfig),
		sipgo.WithUserAgentTransportLayerOptions(
			gosip.WithTransportLayerLogger(slogger),
			// Keeps incoming INVITEs as received over TCP and TLS (IncomingCall.Raw).
			gosip.WithTransportLayerReadFilter(s.in.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(slogger),
			// A TCP/TLS server that hangs up fails the REGISTER at once
			// instead of leaving it to the timeout.
			gosip.WithTransactionLayerTerminateOnConnClose(),
			// Responses that match no transaction (late retransmissions)
			// are expected after a timeout; keep them out of the log.
			gosip.WithTransactionLayerUnhandledResponseHandler(func(r *gosip.Response) {
				s.log.Trace("unmatched response", "status", r.StatusCode)
			}),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	// Requests from the proxy inside our calls (BYE, re-INVITE) and
	// OPTIONS pings; other methods get 405 from sipgo.
	srv, err := sipgo.NewServer(s.ua, sipgo.WithServerLogger(slogger))
	if err != nil {
		_ = s.ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	srv.OnBye(s.handleBye)
	srv.OnInvite(s.handleInvite)
	srv.OnOptions(s.handleOptions)
	srv.OnAck(s.handleAck)
	srv.OnInfo(s.handleInfo)
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.String()
	}
	s.log.Debug("targets resolved", "how", how, "targets", strings.Join(names, ", "))
	return s, nil
}

func resolveError(ctx context.Context, what string, err error) error {
	if errors.Is(err, protocol.ErrInvalid) {
		return err
	}
	if ctx.Err() != nil {
		return newError(protocol.ErrTimeout, err, "sip resolve %s: %v", what, err)
	}
	return newError(protocol.ErrUnreachable, err, "sip resolve %s: %v", what, err)
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func hasTLS(ts []Target) bool {
	for _, t := range ts {
		if t.Transport == "tls" {
			return true
		}
	}
	return false
}
