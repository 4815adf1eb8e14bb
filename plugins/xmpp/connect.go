package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp"
	"mellium.im/xmpp/stream"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// noteAllowPlaintext is the report note of a login made without TLS.
const noteAllowPlaintext = "authenticated without TLS: --allow-plaintext"

// Connect logs in (RFC 6120 §4–§7) and returns a session whose stanzas are
// served in the background until Close. See the package documentation for
// the security it enforces and the errors it returns. The password is
// never logged and never appears in an error.
//
// With req.Server set, exactly that host:port is dialled, with TCP and
// STARTTLS or, with req.DirectTLS, TLS from the first byte (XEP-0368).
// Without it the domain's SRV records decide (mellium.im/xmpp/dial):
// _xmpps-client targets are tried first, then _xmpp-client; DirectTLS has
// no further effect there, and the report says which transport was used.
//
// req.AllowPlaintext permits exactly one downgrade: when the server refuses
// STARTTLS (<failure/>, a stream error, or closing the stream), Connect
// logs in again on a new connection without TLS and notes it in the
// report. It never falls back after a certificate failure, a failed TLS
// handshake the server had agreed to, or a failed direct TLS connection:
// those are what an active attacker would cause.
func (b *Backend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	start := time.Now()
	log := b.logger()
	p, err := parseRequest(req)
	if err != nil {
		return nil, fmt.Errorf("xmpp login: %w", err)
	}
	prefix := "xmpp login " + p.addr.String()
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		// A parent deadline may be shorter than the request's timeout;
		// timeout errors should name the one that applied.
		p.timeout = time.Until(dl).Round(time.Millisecond)
	}
	roots, err := certid.Roots(p.caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	log = log.With("jid", p.addr.String())

	a := b.newAttempt(p, roots, log, false)
	s, err := a.run(ctx)
	var refused *tlsRefusedError
	if err != nil && errors.As(err, &refused) && p.allowPlain {
		// RFC 7590 §3.1 allows falling back only by local policy; the user
		// asked for it explicitly. The first stream may be unusable after
		// the failed STARTTLS, so start over on a new connection.
		log.Warn("server refused TLS; retrying without TLS because plaintext is allowed", "cause", refused.cause)
		first := a
		a = b.newAttempt(p, roots, log, true)
		a.startTLSAdvertised = first.startTLSAdvertised
		a.startTLSAttempted = first.startTLSAttempted
		a.notes = append(a.notes, "TLS not negotiated: "+refused.cause.Error())
		s, err = a.run(ctx)
		if err == nil {
			a.notes = append(a.notes, noteAllowPlaintext)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	if !a.smEnabled {
		a.notes = append(a.notes, noteNoSM)
	}
	rep := a.report(s, time.Since(start))
	log.Debug("session ready", "address", rep.Address, "server", rep.Server, "transport", rep.Transport,
		"encrypted", rep.Encrypted, "mechanism", rep.AuthMechanism, "elapsed", rep.Elapsed)
	return newSession(s, a.conn, rep, log, b.extraHandlers, newSMAcks(a.smEnabled)), nil
}

// attempt is one connection attempt: dial, negotiate, authenticate, bind.
// It records what the report needs while mellium negotiates.
type attempt struct {
	b         *Backend
	p         params
	log       hclog.Logger
	roots     *certid.Trust
	plaintext bool // no TLS at all (AllowPlaintext retry)

	phase     string // for error messages
	conn      net.Conn
	transport string

	verification       certid.Verification
	startTLSAdvertised bool
	startTLSAttempted  bool
	startTLSErr        error
	offered            []string
	cbTypes            []string // XEP-0440; nil = not advertised
	mechanism          string
	notes              []string
	smEnabled          bool // XEP-0198 enabled after bind
}

func (b *Backend) newAttempt(p params, roots *certid.Trust, log hclog.Logger, plaintext bool) *attempt {
	return &attempt{b: b, p: p, log: log, roots: roots, plaintext: plaintext}
}

// run dials and negotiates the stream. On error the connection is closed.
func (a *attempt) run(ctx context.Context) (*xmpp.Session, error) {
	a.phase = "dial"
	conn, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	a.conn = conn
	a.log.Debug("connected", "remote", conn.RemoteAddr().String(), "transport", a.transport)
	if tc, ok := conn.(tlsStater); ok {
		a.logTLS(tc)
	}

	// Bound every read and write of the negotiation, and close the
	// connection when ctx ends: mellium's own ctx handling resets the
	// deadline right after firing it, which can miss a read that starts
	// late (a server that accepts TCP and says nothing must not hang us).
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })

	var features []xmpp.StreamFeature
	if a.transport == transportStartTLS {
		features = append(features, a.startTLSFeature())
	}
	features = append(features, a.saslFeature(), a.channelBindingFeature(), a.bindFeature())

	a.phase = "stream negotiation"
	a.log.Debug("opening stream", "to", a.p.addr.Domainpart())
	// The stream's 'from' is the bare JID (RFC 6120 §4.7.1); the requested
	// resource goes only into resource binding (bind.go). mellium sends
	// 'from' already in the clear, before TLS.
	s, err := xmpp.NewSession(ctx, a.p.addr.Domain(), a.p.addr, conn, 0,
		restartFix(xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Lang: "en", Features: features}
		})))
	if err == nil {
		err = a.checkNegotiated(s)
	}
	if !stop() && err == nil {
		// The deadline closed the connection just as negotiation ended.
		err = net.ErrClosed
	}
	if err != nil {
		_ = conn.Close()
		return nil, a.classify(ctx, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

// restartFix works around a mellium v0.22.0 bug in its RFC 7590 §3.1 path.
// When the server did not advertise STARTTLS (stripped by an attacker) and
// the rest of its first feature list is empty or optional, mellium's
// negotiateFeatures returns the new TLS connection (a stream restart is
// due) together with the Ready bit, so NewSession returns a "ready"
// session that never restarted the stream, never authenticated and never
// bound a resource. A pending restart (rw != nil) can never be ready:
// clear the bit so that negotiation goes on over TLS.
func restartFix(next xmpp.Negotiator) xmpp.Negotiator {
	return func(ctx context.Context, in, out *stream.Info, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, any, error) {
		mask, rw, cache, err := next(ctx, in, out, s, data)
		if rw != nil {
			mask &^= xmpp.Ready
		}
		return mask, rw, cache, err
	}
}

// checkNegotiated refuses a session that mellium calls ready but that is
// not what we asked for: mellium also ends negotiation early when a server
// sends an empty feature list, which must not pass for a login.
func (a *attempt) checkNegotiated(s *xmpp.Session) error {
	st := s.State()
	switch {
	case !a.plaintext && (st&xmpp.Secure == 0 || s.ConnectionState().Version == 0):
		return fmt.Errorf("stream negotiation ended without TLS: %w", protocol.ErrInsecure)
	case st&xmpp.Authn == 0:
		return fmt.Errorf("stream negotiation ended without authentication (server offered no SASL): %w", protocol.ErrProtocol)
	case s.LocalAddr().Resourcepart() == "":
		return fmt.Errorf("stream negotiation ended without resource binding: %w", protocol.ErrProtocol)
	}
	return nil
}

// startTLSFeature is mellium's STARTTLS (RFC 6120 §5) with an explicit
// config, wrapped to record whether the server advertised it and that it
// was attempted. mellium attempts STARTTLS on the first feature list even
// when it is not advertised (RFC 7590 §3.1: the offer may have been
// stripped by an attacker, RFC 7457 §2.1).
func (a *attempt) startTLSFeature() xmpp.StreamFeature {
	f := xmpp.StartTLS(a.tlsConfig(false))
	parse, negotiate := f.Parse, f.Negotiate
	f.Parse = func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
		a.startTLSAdvertised = true
		return parse(ctx, d, start)
	}
	f.Negotiate = func(ctx context.Context, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, error) {
		a.startTLSAttempted = true
		a.phase = "starttls"
		a.log.Debug("starttls", "advertised", a.startTLSAdvertised)
		mask, rw, err := negotiate(ctx, s, data)
		if err != nil {
			// The server answered <failure/>, an error, or closed: TLS
			// cannot be negotiated. Nothing secret has been sent.
			a.startTLSErr = err
			return mask, rw, err
		}
		// The handshake itself runs on the first write of the restarted
		// stream; certid verifies there and aborts it on failure.
		a.phase = "tls handshake"
		return mask, rw, nil
	}
	return f
}
