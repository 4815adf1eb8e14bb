package auditrun

import (
	"bytes"
	"crypto/x509"
	"slices"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
)

// extEncryptThenMAC is the encrypt_then_mac extension (RFC 7366).
const extEncryptThenMAC = 22

// endpointFacts fills ep from one probe result. A probe error (no TCP
// connection for the baseline handshake, or ctx ended) makes the endpoint
// an Error; a server that refused TLS is NoTLS.
func endpointFacts(ep *audit.EndpointFacts, r tlsprobe.Result, err error) {
	switch {
	case err != nil:
		ep.Error = err.Error()
	case !r.Complete:
		ep.Error = "probe incomplete"
	}
	if r.XMPP != nil && ep.Transport == audit.StartTLS {
		ep.Stream = streamFacts(r.XMPP)
	}
	if r.Negotiated == nil {
		if ep.Error == "" {
			ep.NoTLS = noTLSReason(r)
			ep.SSLOnly = sslOnly(r.Legacy)
			if ep.SSLOnly != "" {
				ep.NoTLS += "; the server accepts " + ep.SSLOnly
			}
		}
		return
	}
	ep.TLS = tlsFacts(r)
	ep.Cert = certFacts(r.Certificate)
	if r.Endpoint.SIPAOR != "" {
		ep.SIP = sipFacts(r.SIP)
	}
}

// sipFacts turns the REGISTER dialog into the audit's SIP facts. A dialog
// that never ran (nil) leaves them unknown.
func sipFacts(d *tlsprobe.SIPDialog) *audit.SIPFacts {
	if d == nil {
		return nil
	}
	s := &audit.SIPFacts{Answers: audit.TriOf(d.Answered), Response: d.StatusLine}
	if !d.Answered {
		s.Response = oneLine(d.Evidence)
	}
	// A 2xx to a REGISTER without credentials means the server asks for
	// none: an empty, non-nil list. Other answers (403, 5xx) say nothing
	// about authentication: nil.
	if d.StatusCode == 401 || d.StatusCode == 407 || d.StatusCode/100 == 2 {
		s.Challenges = []audit.Challenge{}
		for _, c := range d.Challenges {
			s.Challenges = append(s.Challenges, audit.Challenge{Scheme: c.Scheme, Algorithm: c.Algorithm, QOP: c.QOP})
		}
	}
	return s
}

func streamFacts(x *tlsprobe.XMPPStream) *audit.StreamFacts {
	s := &audit.StreamFacts{
		StartTLSOffered:  x.StartTLSAdvertised,
		StartTLSRequired: x.StartTLSRequired,
		PreTLSMechanisms: x.MechanismsBeforeTLS,
	}
	if x.StartTLSResult != "" {
		// <starttls/> was sent whatever the features said (RFC 7590 §3.1).
		s.StartTLSAccepted = audit.TriOf(x.StartTLSWorked)
	}
	if x.FeaturesAfterTLS {
		s.PostTLSMechanisms = x.MechanismsAfterTLS
		if s.PostTLSMechanisms == nil {
			s.PostTLSMechanisms = []string{}
		}
		s.ChannelBindingTypes = x.ChannelBindingsAfterTLS
	}
	return s
}

func noTLSReason(r tlsprobe.Result) string {
	if x := r.XMPP; x != nil {
		switch {
		case x.StartTLSResult != "" && x.StartTLSResult != "proceed":
			return "<starttls/> answered with " + x.StartTLSResult
		case x.EvidenceBeforeTLS != "" && x.StartTLSResult == "":
			return "stream ended before STARTTLS: " + oneLine(x.EvidenceBeforeTLS)
		}
	}
	for _, v := range r.Versions {
		if v.Evidence != "" {
			return "handshake failed: " + oneLine(v.Evidence)
		}
	}
	return "no TLS session could be established"
}

func tlsFacts(r tlsprobe.Result) *audit.TLSFacts {
	n := r.Negotiated
	t := &audit.TLSFacts{NegotiatedVersion: n.VersionID, NegotiatedSuite: n.CipherSuite}
	if len(r.Versions) > 0 {
		t.Versions = make(map[uint16]bool, len(r.Versions))
		for _, v := range r.Versions {
			t.Versions[v.VersionID] = v.Accepted
		}
	}
	if s := r.Suites; s != nil {
		for _, p := range s.Probes {
			if p.Accepted {
				t.Suites = append(t.Suites, audit.Suite{Name: p.Name})
			}
		}
		// A skipped sweep is a full enumeration only when the version
		// probes showed that nothing up to TLS 1.2 is accepted.
		t.SuitesProbed = s.Skipped == "" || noLegacyVersion(r.Versions)
	}
	if n.VersionID >= audit.VersionTLS13 && !slices.ContainsFunc(t.Suites, func(s audit.Suite) bool { return s.Name == n.CipherSuite }) {
		// TLS 1.3 suites cannot be enumerated by crypto/tls; the negotiated
		// one is the one observed.
		t.Suites = append(t.Suites, audit.Suite{Name: n.CipherSuite})
	}
	if h := r.TLS12; h != nil {
		t.ExtendedMasterSecret = audit.TriOf(h.ExtendedMasterSecret)
		t.RenegotiationInfo = audit.TriOf(h.SecureRenegotiation)
		t.EncryptThenMAC = audit.TriOf(slices.Contains(h.Extensions, extEncryptThenMAC))
		t.TicketIssued = audit.TriOf(h.TicketIssued)
		t.TicketLifetimeHint = time.Duration(h.TicketLifetimeHint) * time.Second
		// Compression is not read from here: crypto/tls never offers
		// DEFLATE, so a null method proves nothing (legacyFacts does).
	}
	legacyFacts(t, r.Legacy)
	return t
}

// sslOnly describes the SSL versions accepted by a server without TLS
// ("SSL 3.0 (ServerHello SSL 3.0 …)"), or "".
func sslOnly(l *tlsprobe.Legacy) string {
	if l == nil {
		return ""
	}
	var acc []string
	for _, p := range []tlsprobe.LegacyProbe{l.SSL3, l.SSL2} {
		if p.Decided() && p.Accepted {
			acc = append(acc, p.Offered+" ("+oneLine(p.Evidence)+")")
		}
	}
	return strings.Join(acc, "; ")
}

// legacyFacts adds the hand-built SSL 2.0, SSL 3.0 and DEFLATE probes. A
// probe that learnt nothing (connection failed, timeout) leaves its fact
// unknown, so the check is skipped rather than passed.
func legacyFacts(t *audit.TLSFacts, l *tlsprobe.Legacy) {
	if l == nil {
		return
	}
	for _, p := range []struct {
		v     uint16
		probe tlsprobe.LegacyProbe
	}{{audit.VersionSSL20, l.SSL2}, {audit.VersionSSL30, l.SSL3}} {
		if !p.probe.Decided() {
			continue
		}
		if t.Versions == nil {
			t.Versions = map[uint16]bool{}
		}
		t.Versions[p.v] = p.probe.Accepted
		if t.LegacyEvidence == nil {
			t.LegacyEvidence = map[uint16]string{}
		}
		t.LegacyEvidence[p.v] = oneLine(p.probe.Evidence)
	}
	if c := l.Compression; c.Decided() {
		t.Compression = audit.TriOf(c.Accepted)
		t.CompressionEvidence = oneLine(c.Evidence)
	}
}

// noLegacyVersion: TLS 1.0–1.2 were each probed and refused.
func noLegacyVersion(vs []tlsprobe.VersionProbe) bool {
	seen := 0
	for _, v := range vs {
		if v.VersionID >= audit.VersionTLS10 && v.VersionID <= audit.VersionTLS12 {
			if v.Accepted {
				return false
			}
			seen++
		}
	}
	return seen == 3
}

func certFacts(c *tlsprobe.Certificate) *audit.CertFacts {
	if c == nil || len(c.Chain) == 0 {
		return nil
	}
	f := &audit.CertFacts{
		LeafSHA256:      c.LeafSHA256,
		SPKISHA256:      c.LeafSPKISHA256,
		Subject:         c.Chain[0].Subject,
		Issuer:          c.Chain[0].Issuer,
		NotBefore:       c.NotBefore,
		NotAfter:        c.NotAfter,
		KeyAlgorithm:    c.KeyType,
		KeyBits:         c.KeyBits,
		Trusted:         audit.TriOf(c.ChainVerified),
		TrustError:      c.ChainError,
		IdentityMatched: audit.TriOf(c.IdentityMatched),
		IdentityError:   c.IdentityError,
	}
	if c.Verified {
		f.AuthenticatedBy = "PKIX"
	}
	f.IdentityBy = identityBy(c.IdentityMethod)
	for _, ci := range c.Chain {
		if ci.Subject == ci.Issuer && ci.IsCA && len(c.Chain) > 1 {
			continue // a self-signed root's own signature proves nothing
		}
		f.SignatureAlgorithms = append(f.SignatureAlgorithms, ci.SignatureAlg)
	}
	if c.ChainVerified {
		// crypto/x509 never fetches intermediates (no AIA chasing), so a
		// chain it verified from the served certificates is complete.
		f.ChainComplete = audit.Yes
	}
	f.ChainOrdered = chainOrdered(c.ChainDER)
	return f
}

// identityBy turns certid's "pkix srv-id _xmpp-client.example.com" into the
// identifier type names of RFC 6125 ("SRV-ID").
func identityBy(method string) string {
	fields := strings.Fields(method)
	if len(fields) < 2 {
		return ""
	}
	switch fields[1] {
	case "dns-id":
		return "DNS-ID"
	case "srv-id":
		return "SRV-ID"
	case "xmppaddr":
		return "XmppAddr"
	case "sip-uri":
		return "URI-ID"
	}
	return fields[1]
}

// chainOrdered: each certificate is followed by its issuer (RFC 8446
// §4.4.2, RFC 5246 §7.4.2). Unknown when the chain cannot be parsed.
func chainOrdered(der [][]byte) audit.Tri {
	certs := make([]*x509.Certificate, 0, len(der))
	for _, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return audit.Unknown
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return audit.Unknown
	}
	for i := 0; i+1 < len(certs); i++ {
		if !bytes.Equal(certs[i].RawIssuer, certs[i+1].RawSubject) {
			return audit.No
		}
	}
	return audit.Yes
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
