// Package impptemplate is a minimal IMPP backend for cusax, written the way
// a third party writes one: it imports the SDK (pkg/protocol/...) and
// third-party libraries (mellium.im/xmpp), never pkg/core. Copy the
// directory, rename it, and grow it one capability at a time;
// docs/plugin-protocol.md explains the rules.
//
// It declares one capability, login: Connect logs in with SASL SCRAM over
// TLS, STARTTLS (RFC 6120 §5) or direct TLS (XEP-0368), and checks the
// server's certificate for the JID's domain (RFC 6120 §13.7.1.2) with
// pkg/protocol/certid. Everything else answers protocol.ErrUnsupported
// through the embedded protocol.UnsupportedIMPPSession.
//
// Deliberately left out, for brevity: a login without TLS (it never
// authenticates in the clear, with or without AllowPlaintext; RFC 7590
// §3.1 lets a client refuse), ConnectRequest.Username, Resource and
// Mechanisms, and channel binding (the -PLUS mechanisms).
package impptemplate

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp"
	"mellium.im/xmpp/dial"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// Name is the plugin's name: its executable is cusax-plugin-impp-template
// and an account selects it with backend = "template".
const (
	Name    = "template"
	Version = "0.1.0"
)

// defaultTimeout bounds a Connect whose request sets no Timeout.
const defaultTimeout = 15 * time.Second

// Backend implements protocol.IMPP.
type Backend struct{ log hclog.Logger }

var _ protocol.IMPP = (*Backend)(nil)

// New returns the backend; log gets debug lines, never a secret.
func New(log hclog.Logger) *Backend {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Backend{log: log}
}

// Info declares exactly what the backend implements (no network IO).
func (b *Backend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindIMPP, Name: Name, Version: Version, APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapLogin},
		Description:  "template IMPP backend: XMPP login only (mellium.im/xmpp)",
	}, nil
}

// Connect dials, negotiates TLS, authenticates and binds a resource.
// Errors wrap ErrInvalid (bad address), ErrCertificate, ErrInsecure,
// ErrAuth, ErrUnreachable, ErrTimeout or ErrProtocol. The password never
// appears in a log line or an error.
func (b *Backend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	start := time.Now()
	addr, err := jid.Parse(req.Address)
	if err != nil || addr.Localpart() == "" || addr.Resourcepart() != "" {
		return nil, fmt.Errorf("xmpp login %q: want a bare JID user@domain: %w", req.Address, protocol.ErrInvalid)
	}
	minTLS, ok := protocol.TLSVersion(req.MinTLS)
	if !ok {
		return nil, fmt.Errorf("xmpp login: min TLS %q: want 1.2 or 1.3: %w", req.MinTLS, protocol.ErrInvalid)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	roots, err := certid.Roots(req.CAPEM) // the account's CA plus the system roots
	if err != nil {
		return nil, fmt.Errorf("xmpp login %s: %w", addr, err)
	}
	// certid checks chain and identity inside the handshake: a bad
	// certificate aborts it before anything is sent (RFC 6120 §13.7.1.2).
	n := &negotiation{log: b.log.With("jid", addr.String())}
	cfg := certid.XMPPClientConfig(addr.Domainpart(), roots, &n.verif)
	cfg.MinVersion = minTLS

	conn, err := n.dial(ctx, addr, req, cfg)
	if err != nil {
		return nil, fmt.Errorf("xmpp login %s: %w", addr, n.classify(ctx, err))
	}
	// Bound every read of the negotiation: a server that accepts TCP and
	// then says nothing must not hang us.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	var features []xmpp.StreamFeature
	if n.transport == "tcp+starttls" {
		features = append(features, n.startTLS(cfg))
	}
	features = append(features, n.sasl(req.Password), xmpp.BindResource())
	s, err := xmpp.NewSession(ctx, addr.Domain(), addr, conn, 0, restartFix(xmpp.NewNegotiator(
		func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: features}
		})))
	if err == nil {
		err = n.check(s)
	}
	if !stop() && err == nil {
		err = net.ErrClosed // the deadline closed the connection just now
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("xmpp login %s: %w", addr, n.classify(ctx, err))
	}
	sess := &session{s: s, conn: conn, served: make(chan struct{})}
	sess.rep = n.report(s, conn, time.Since(start))
	// Serve reads the stream until it ends: it answers IQs nobody handles
	// with service-unavailable (RFC 6120 §8.4) and sees the server's close.
	go func() { _ = s.Serve(nil); close(sess.served) }()
	n.log.Debug("logged in", "address", sess.rep.Address, "transport", sess.rep.Transport, "mechanism", sess.rep.AuthMechanism)
	return sess, nil
}

// negotiation records what the report needs while mellium negotiates.
type negotiation struct {
	log                hclog.Logger
	verif              certid.Verification
	transport          string // "tcp+starttls" or "direct-tls"
	startTLSAdvertised bool
	startTLSAttempted  bool
	startTLSErr        error
	offered            []string
	mechanism          string
}

// dial connects to req.Server, or to what the domain's SRV records name
// (RFC 6120 §3.2.1, XEP-0368) when it is empty.
func (n *negotiation) dial(ctx context.Context, addr jid.JID, req protocol.ConnectRequest, cfg *tls.Config) (net.Conn, error) {
	var conn net.Conn
	var err error
	switch {
	case req.Server == "":
		d := dial.Dialer{NoTLS: !req.DirectTLS, TLSConfig: cfg}
		conn, err = d.Dial(ctx, "tcp", addr)
	case req.DirectTLS:
		d := tls.Dialer{Config: cfg}
		conn, err = d.DialContext(ctx, "tcp", req.Server)
	default:
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", req.Server)
	}
	if err != nil {
		return nil, err
	}
	n.transport = "tcp+starttls"
	if _, ok := conn.(*tls.Conn); ok {
		n.transport = "direct-tls"
	}
	return conn, nil
}

// startTLS is mellium's STARTTLS feature, wrapped to record whether the
// server advertised it. mellium attempts STARTTLS even when the offer is
// missing (RFC 7590 §3.1: an attacker may have stripped it).
func (n *negotiation) startTLS(cfg *tls.Config) xmpp.StreamFeature {
	f := xmpp.StartTLS(cfg)
	parse, negotiate := f.Parse, f.Negotiate
	f.Parse = func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
		n.startTLSAdvertised = true
		return parse(ctx, d, start)
	}
	f.Negotiate = func(ctx context.Context, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, error) {
		n.startTLSAttempted = true
		mask, rw, err := negotiate(ctx, s, data)
		if err != nil {
			n.startTLSErr = err // <failure/> or a closed stream: nothing secret sent
		}
		return mask, rw, err
	}
	return f
}

// restartFix works around a mellium v0.22.0 bug: when the STARTTLS offer
// was stripped and nothing else in the first feature list is required,
// mellium reports the session ready right after <proceed/>, without the
// TLS handshake, SASL or bind (check would then refuse the login). A
// pending stream restart (rw != nil) is never ready: clear the bit so that
// negotiation goes on over TLS.
func restartFix(next xmpp.Negotiator) xmpp.Negotiator {
	return func(ctx context.Context, in, out *stream.Info, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, any, error) {
		mask, rw, cache, err := next(ctx, in, out, s, data)
		if rw != nil {
			mask &^= xmpp.Ready
		}
		return mask, rw, cache, err
	}
}

// check refuses a session mellium calls ready without what a login needs.
func (n *negotiation) check(s *xmpp.Session) error {
	switch st := s.State(); {
	case st&xmpp.Secure == 0 || s.ConnectionState().Version == 0:
		return fmt.Errorf("stream negotiated without TLS: %w", protocol.ErrInsecure)
	case st&xmpp.Authn == 0:
		return fmt.Errorf("stream negotiated without authentication: %w", protocol.ErrProtocol)
	case s.LocalAddr().Resourcepart() == "":
		return fmt.Errorf("stream negotiated without a bound resource: %w", protocol.ErrProtocol)
	}
	return nil
}

// classify maps a failure to the SDK's sentinels. A failed certificate
// comes first: whatever followed the aborted handshake is its consequence.
func (n *negotiation) classify(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case n.verif.Err != nil:
		return n.verif.Err // wraps protocol.ErrCertificate
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer in time: %w", protocol.ErrTimeout)
	case n.startTLSErr != nil:
		return fmt.Errorf("server refused STARTTLS (%v), no credentials sent: %w", n.startTLSErr, protocol.ErrInsecure)
	case protocol.SentinelName(err) != "":
		return err
	case n.transport == "":
		return fmt.Errorf("connect: %v: %w", err, protocol.ErrUnreachable)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		return fmt.Errorf("server closed the connection: %w", protocol.ErrUnreachable)
	}
	return fmt.Errorf("%v: %w", err, protocol.ErrProtocol)
}

// report is what RFC 7590 §3.6 wants a user to see: encrypted or not, the
// TLS version and cipher, how the server was authenticated, its
// certificate; plus the STARTTLS facts of RFC 7590 §3.1.
func (n *negotiation) report(s *xmpp.Session, conn net.Conn, elapsed time.Duration) protocol.ConnectionReport {
	cs := s.ConnectionState()
	return protocol.ConnectionReport{
		Aspect: protocol.AspectChat, Backend: Name, State: "connected",
		Address: s.LocalAddr().String(), Server: conn.RemoteAddr().String(),
		Transport: n.transport, Encrypted: true,
		TLS: &protocol.TLSInfo{
			Version:     tls.VersionName(cs.Version),
			CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
			ServerName:  s.LocalAddr().Domainpart(),
			ALPN:        cs.NegotiatedProtocol,
			Verified:    n.verif.Verified,
			ServerAuth:  n.verif.Method,
			Chain:       n.verif.Chain,
		},
		AuthMechanism: n.mechanism, AuthOffered: n.offered,
		StartTLSAdvertised: n.startTLSAdvertised, StartTLSAttempted: n.startTLSAttempted,
		Elapsed: elapsed,
	}
}

// session is one logged-in connection. The embedded stub answers
// ErrUnsupported to every optional operation; override one when you add
// its capability to Info.
type session struct {
	protocol.UnsupportedIMPPSession
	s      *xmpp.Session
	conn   net.Conn
	rep    protocol.ConnectionReport
	served chan struct{} // closed when Serve returned
	once   sync.Once
}

func (x *session) Report() protocol.ConnectionReport { return x.rep }

// Close ends the stream (RFC 6120 §4.4): it sends </stream:stream>, waits a
// bounded time for the server's, then closes the connection. Safe to call
// more than once.
func (x *session) Close(ctx context.Context) error {
	x.once.Do(func() {
		_ = x.s.Close()
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		select {
		case <-x.served:
		case <-ctx.Done():
		case <-t.C:
		}
		_ = x.conn.Close()
	})
	return nil
}
