package xmpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"mellium.im/xmpp/dial"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// Transports as reported in protocol.ConnectionReport.Transport.
const (
	transportStartTLS  = "tcp+starttls"
	transportDirectTLS = "direct-tls"
	transportPlain     = "tcp"
)

// alpnXMPPClient is the ALPN protocol of XEP-0368 §3 for c2s direct TLS.
const alpnXMPPClient = "xmpp-client"

// tlsConfig builds the client TLS configuration for this attempt. The
// identity is always the JID's domain (RFC 6120 §13.7.1.2), also when the
// server was given as an IP address; SNI carries that domain too. Every
// attempt gets its own explicit config (never xmpp.StartTLS(nil), whose
// closure keeps the first domain it sees).
func (a *attempt) tlsConfig(directTLS bool) *tls.Config {
	cfg := certid.XMPPClientConfig(a.p.addr.Domainpart(), a.roots, &a.verification)
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12 // RFC 9325 §3.1.1
	}
	if a.p.minTLS > cfg.MinVersion {
		cfg.MinVersion = a.p.minTLS // --min-tls: parity with the SIP aspect (RFC 7081 §7)
	}
	if directTLS {
		cfg.NextProtos = []string{alpnXMPPClient} // XEP-0368 §3
	}
	if a.b.tlsHook != nil {
		a.b.tlsHook(cfg)
	}
	return cfg
}

// dial opens the connection and sets a.transport. With an explicit server
// it dials exactly that address; otherwise it resolves the domain through
// SRV (mellium.im/xmpp/dial: _xmpps-client first, XEP-0368 §3, then
// _xmpp-client, RFC 6120 §3.2.1; A/AAAA fallback when there are none).
func (a *attempt) dial(ctx context.Context) (net.Conn, error) {
	if a.p.server == "" {
		return a.dialDNS(ctx)
	}
	a.log.Debug("dialing", "server", a.p.server, "direct_tls", a.p.directTLS && !a.plaintext)
	dialFn := a.b.DialContext
	if dialFn == nil {
		var d net.Dialer
		dialFn = d.DialContext
	}
	raw, err := dialFn(ctx, "tcp", a.p.server)
	if err != nil {
		return nil, a.dialError(ctx, a.p.server, err)
	}
	raw = withQuickAck(raw)
	if !a.p.directTLS || a.plaintext {
		a.transport = transportStartTLS
		if a.plaintext {
			a.transport = transportPlain
		}
		return raw, nil
	}
	// XEP-0368: TLS from the first byte.
	a.phase = "tls handshake"
	a.transport = transportDirectTLS
	conn := tls.Client(raw, a.tlsConfig(true))
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, a.handshakeError(ctx, a.p.server, err)
	}
	return conn, nil
}

func (a *attempt) dialDNS(ctx context.Context) (net.Conn, error) {
	d := dial.Dialer{
		// Only the plaintext retry (AllowPlaintext, after the server
		// refused STARTTLS) skips the _xmpps-client records.
		NoTLS:     a.plaintext,
		TLSConfig: a.tlsConfig(true),
	}
	d.Resolver = a.b.Resolver
	domain := a.p.addr.Domainpart()
	a.log.Debug("dialing via DNS SRV", "domain", domain)
	conn, err := d.Dial(ctx, "tcp", a.p.addr)
	if err != nil {
		if a.verification.Err != nil {
			// A direct TLS target failed verification and nothing else
			// answered: the certificate is the real problem.
			return nil, a.verification.Err
		}
		return nil, a.dialError(ctx, domain, err)
	}
	switch {
	case isTLS(conn):
		a.transport = transportDirectTLS
	case a.plaintext:
		a.transport = transportPlain
	default:
		a.transport = transportStartTLS
		// A direct TLS target may have failed verification before a
		// STARTTLS target answered; STARTTLS verifies again.
		a.verification = certid.Verification{}
		conn = withQuickAck(conn)
	}
	return conn, nil
}

func isTLS(c net.Conn) bool {
	_, ok := c.(*tls.Conn)
	return ok
}

// dialError classifies a failure to open the TCP connection.
func (a *attempt) dialError(ctx context.Context, target string, err error) error {
	if cerr := ctxError(ctx, a.p.timeout, "connecting to "+target); cerr != nil {
		return cerr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %w", err, protocol.ErrTimeout)
	}
	// DNS failures, refused, unreachable, reset, no SRV service found; the
	// errors of net and mellium's dial name the target already.
	return fmt.Errorf("%w: %w", err, protocol.ErrUnreachable)
}

// handshakeError classifies a failed direct TLS handshake.
func (a *attempt) handshakeError(ctx context.Context, target string, err error) error {
	if a.verification.Err != nil {
		return a.verification.Err
	}
	if cerr := ctxError(ctx, a.p.timeout, "TLS handshake with "+target); cerr != nil {
		return cerr
	}
	return fmt.Errorf("direct TLS handshake with %s failed: %w: %w", target, err, protocol.ErrInsecure)
}
