package certid

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Verification is the outcome of checking one server certificate.
type Verification struct {
	// Verified is true when both the chain and the identity checked out.
	Verified bool
	// Method says how the server was authenticated (RFC 7590 §3.6), e.g.
	// "pkix dns-id example.com" or "pkix sip-uri sip:example.com".
	Method string
	// Chain is the presented chain, leaf first.
	Chain []protocol.CertInfo
	// Err is why verification failed; it wraps protocol.ErrCertificate.
	Err error
}

// Prewarm loads the system roots in the background. Parsing the system
// store takes tens of milliseconds; a backend calls Prewarm when it starts
// so that the cost overlaps the plugin handshake instead of delaying the
// first connection (crypto/x509 caches the pool once loaded).
func Prewarm() { go func() { _, _ = x509.SystemCertPool() }() }

// Trust is what a connection trusts: the account's own CAs (--ca-file)
// and the system roots. The system store is parsed only when the account's
// CAs do not vouch for a chain: parsing it costs ~40 ms, paid by every
// plugin process otherwise.
type Trust struct {
	extra *x509.CertPool
	// system loads the system roots; tests replace it.
	system func() (*x509.CertPool, error)
}

// Roots returns the system roots plus the certificates in extraPEM.
func Roots(extraPEM []byte) (*Trust, error) {
	t := &Trust{system: x509.SystemCertPool}
	if len(extraPEM) > 0 {
		t.extra = x509.NewCertPool()
		if !t.extra.AppendCertsFromPEM(extraPEM) {
			return nil, fmt.Errorf("ca file: no PEM certificate found: %w", protocol.ErrInvalid)
		}
	}
	return t, nil
}

// PoolTrust trusts exactly pool (no system roots): for tests and callers
// that manage their own pool.
func PoolTrust(pool *x509.CertPool) *Trust {
	return &Trust{extra: pool, system: func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }}
}

// verify checks leaf against the account's CAs, then the system roots.
func (t *Trust) verify(leaf *x509.Certificate, opts x509.VerifyOptions) error {
	if t.extra != nil {
		opts.Roots = t.extra
		_, err := leaf.Verify(opts)
		var ua x509.UnknownAuthorityError
		if err == nil || !errors.As(err, &ua) {
			return err
		}
	}
	sys, err := t.system()
	if err != nil || sys == nil {
		sys = x509.NewCertPool()
	}
	opts.Roots = sys
	_, err = leaf.Verify(opts)
	return err
}

// Service is what a certificate is checked for.
type Service int

// The services.
const (
	XMPPClient Service = iota // RFC 6120 §13.7.1.2
	SIP                       // RFC 5922 §7
)

// VerifyChain checks chain (leaf first) against roots at time now, and the
// leaf's identity for domain. altHost is an extra acceptable DNS name (a SIP
// proxy dialled by host name may present that name, RFC 5922 §4); ignored
// when empty or an IP address.
func VerifyChain(svc Service, chain []*x509.Certificate, domain, altHost string, roots *Trust, now time.Time) Verification {
	v := Verification{Chain: DescribeChain(chain)}
	if len(chain) == 0 {
		v.Err = fmt.Errorf("server sent no certificate: %w", protocol.ErrCertificate)
		return v
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	err := roots.verify(leaf, x509.VerifyOptions{
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		v.Err = fmt.Errorf("%s: %w", describeChainError(err, leaf, now), protocol.ErrCertificate)
		return v
	}
	var method string
	switch svc {
	case XMPPClient:
		method, err = matchXMPP(leaf, domain)
	case SIP:
		method, err = matchSIP(leaf, domain, altHost)
	default:
		err = fmt.Errorf("unknown service")
	}
	if err != nil {
		v.Err = fmt.Errorf("%v: %w", err, protocol.ErrCertificate)
		return v
	}
	v.Verified, v.Method = true, method
	return v
}

func describeChainError(err error, leaf *x509.Certificate, now time.Time) string {
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return fmt.Sprintf("certificate signed by unknown authority (issuer %q)", leaf.Issuer.String())
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		if now.After(leaf.NotAfter) {
			return fmt.Sprintf("certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		if now.Before(leaf.NotBefore) {
			return fmt.Sprintf("certificate not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		return "a certificate in the chain has expired"
	case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
		return "certificate is not valid for TLS server authentication"
	}
	return "certificate chain invalid: " + err.Error()
}

// matchXMPP implements RFC 6120 §13.7.1.2 / RFC 6125 §6 for a client
// connecting to domain: DNS-ID (wildcards per RFC 6125 §6.4.3), SRV-ID for
// _xmpp-client or _xmpps-client (RFC 6125 §6.5.1, XEP-0368), XmppAddr.
func matchXMPP(leaf *x509.Certificate, domain string) (string, error) {
	domain = normDomain(domain)
	if net.ParseIP(domain) == nil && hasDNSName(leaf, domain) {
		// VerifyHostname applies RFC 6125 wildcard rules to DNS-IDs.
		if err := leaf.VerifyHostname(domain); err == nil {
			return "pkix dns-id " + domain, nil
		}
	}
	names, err := otherNames(leaf)
	if err != nil {
		return "", fmt.Errorf("certificate has a malformed subjectAltName: %v", err)
	}
	for _, srv := range names.srvNames {
		s := normDomain(srv)
		for _, svc := range []string{"_xmpp-client.", "_xmpps-client."} {
			if s == svc+domain {
				return "pkix srv-id " + s, nil
			}
		}
	}
	for _, a := range names.xmppAddrs {
		if normDomain(a) == domain {
			return "pkix xmppaddr " + domain, nil
		}
	}
	return "", fmt.Errorf("certificate is not valid for XMPP domain %s (it names %s)", domain, namesOf(leaf))
}

// hasDNSName reports whether a DNS-ID could match (exact or wildcard).
func hasDNSName(leaf *x509.Certificate, domain string) bool {
	for _, n := range leaf.DNSNames {
		n = normDomain(n)
		if n == domain {
			return true
		}
		if strings.HasPrefix(n, "*.") {
			if i := strings.IndexByte(domain, '.'); i > 0 && domain[i+1:] == n[2:] {
				return true
			}
		}
	}
	return false
}

// matchSIP implements RFC 5922 §7.1: sip: URI SANs without a user part are
// SIP domain identities; dNSName SANs count only when no URI identity
// matched; wildcards are never matched (§7.2).
func matchSIP(leaf *x509.Certificate, domain, altHost string) (string, error) {
	want := []string{normDomain(domain)}
	if h := normDomain(altHost); h != "" && net.ParseIP(h) == nil && h != want[0] {
		want = append(want, h)
	}
	for _, u := range leaf.URIs {
		if h, ok := sipDomainIdentity(u); ok {
			for _, w := range want {
				if h == w {
					return "pkix sip-uri sip:" + h, nil
				}
			}
		}
	}
	for _, n := range leaf.DNSNames {
		n = normDomain(n)
		for _, w := range want {
			if n == w {
				return "pkix dns-id " + n, nil
			}
		}
	}
	return "", fmt.Errorf("certificate is not valid for SIP domain %s (it names %s)", strings.Join(want, " or "), namesOf(leaf))
}

// sipDomainIdentity returns the host of a sip: URI SAN with no user part.
func sipDomainIdentity(u *url.URL) (string, bool) {
	if !strings.EqualFold(u.Scheme, "sip") {
		return "", false
	}
	// sip:example.com parses as an opaque URL.
	rest := u.Opaque
	if rest == "" {
		return "", false
	}
	if strings.Contains(rest, "@") {
		return "", false
	}
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		rest = rest[:i]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		rest = h
	}
	return normDomain(rest), rest != ""
}

func normDomain(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

func namesOf(c *x509.Certificate) string {
	var parts []string
	for _, u := range c.URIs {
		parts = append(parts, "URI:"+u.String())
	}
	for _, d := range c.DNSNames {
		parts = append(parts, "DNS:"+d)
	}
	if n, err := otherNames(c); err == nil {
		for _, s := range n.srvNames {
			parts = append(parts, "SRV:"+s)
		}
		for _, x := range n.xmppAddrs {
			parts = append(parts, "XmppAddr:"+x)
		}
	}
	for _, ip := range c.IPAddresses {
		parts = append(parts, "IP:"+ip.String())
	}
	if len(parts) == 0 {
		return "no subjectAltName, CN " + c.Subject.CommonName
	}
	const max = 6
	if len(parts) > max {
		parts = append(parts[:max], fmt.Sprintf("… %d more", len(parts)-max))
	}
	return strings.Join(parts, ", ")
}
