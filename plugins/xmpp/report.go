package xmpp

import (
	"crypto/tls"
	"slices"
	"time"

	"mellium.im/xmpp"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// tlsStater is a *tls.Conn or an *xmpp.Session.
type tlsStater interface {
	ConnectionState() tls.ConnectionState
}

// logTLS logs the negotiated TLS parameters and how the server was
// authenticated.
func (a *attempt) logTLS(c tlsStater) {
	cs := c.ConnectionState()
	a.log.Debug("tls established", "version", tls.VersionName(cs.Version),
		"cipher", tls.CipherSuiteName(cs.CipherSuite), "alpn", cs.NegotiatedProtocol,
		"verified", a.verification.Verified, "server_auth", a.verification.Method)
}

// report builds the connection report: what RFC 7590 §3.6 wants a user to
// be able to see (encrypted?, TLS version, cipher suite, how the server was
// authenticated, its certificate) plus the RFC 7590 §3.1 STARTTLS facts.
func (a *attempt) report(s *xmpp.Session, elapsed time.Duration) protocol.ConnectionReport {
	r := protocol.ConnectionReport{
		Aspect:             protocol.AspectChat,
		Backend:            "xmpp",
		State:              "connected",
		Address:            s.LocalAddr().String(),
		Transport:          a.transport,
		AuthMechanism:      a.mechanism,
		AuthOffered:        slices.Clone(a.offered),
		StartTLSAdvertised: a.startTLSAdvertised,
		StartTLSAttempted:  a.startTLSAttempted,
		Elapsed:            elapsed,
		Notes:              slices.Clone(a.notes),
	}
	if ra := a.conn.RemoteAddr(); ra != nil {
		r.Server = ra.String()
	}
	cs := s.ConnectionState()
	if cs.Version == 0 {
		return r
	}
	r.Encrypted = true
	info := &protocol.TLSInfo{
		Version:     tls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ServerName:  cs.ServerName,
		ALPN:        cs.NegotiatedProtocol,
		Verified:    a.verification.Verified,
		ServerAuth:  a.verification.Method,
		Chain:       a.verification.Chain,
	}
	if info.ServerName == "" {
		info.ServerName = a.p.addr.Domainpart()
	}
	if len(info.Chain) == 0 {
		info.Chain = certid.DescribeChain(cs.PeerCertificates)
	}
	r.TLS = info
	return r
}
