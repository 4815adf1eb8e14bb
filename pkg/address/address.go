// Package address answers two questions every command asks of an address:
// what is its domain, and is that the same domain as another's. It is a
// leaf package (no pkg/core import), so backends and policies may use it
// too.
//
// Before it existed, six copies normalised differently (IDNA, lower case
// only, nothing), so one call's RFC 7081 §5 inter-domain verdict could
// treat bob@EXAMPLE.com or bob@bücher.example as another provider while
// the roster called the same contact local.
package address

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

var (
	// ErrNoDomain: the address names no domain at all: empty, or a tel:
	// URI (RFC 3966 numbers are global or carry a phone-context, not a
	// host).
	ErrNoDomain = errors.New("address has no domain")
	// ErrInvalid: the address has a domain part, but it is not a valid
	// host (bad IDNA, empty label, label over 63 octets, a bad port …).
	ErrInvalid = errors.New("address has no valid domain")
)

// profile maps like a DNS lookup (RFC 5891 §5: case folding, width and
// NFC mapping, Bidi rule) and checks label and name lengths. STD3 rules
// are off so that '_' (seen in SIP hosts) passes; DomainOf checks the
// ASCII result itself.
var profile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(false),
)

// DomainOf returns the domain an address is in, in the one form used for
// comparing: IDNA A-labels (punycode), lower case, no trailing dot, no
// port. An IPv4 literal comes back in dotted form, an IPv6 literal in
// brackets ("[2001:db8::1]"), both canonical (RFC 5952).
//
// It reads:
//   - sip: and sips: URIs, with user parameters, ports, URI parameters
//     (user=phone included: the host is still the domain the number is
//     dialled through, RFC 3261 §19.1.6) and headers;
//   - xmpp: URIs (RFC 5122), with or without an authority, percent-encoded
//     or not, with query and fragment;
//   - JIDs (RFC 7622), bare or with a resource, and domain-only JIDs;
//   - user@host and host, with an optional :port;
//   - any of these inside <…>.
//
// An empty address or a tel: URI returns ErrNoDomain; a malformed domain
// returns ErrInvalid. DomainOf never returns "" with a nil error.
func DomainOf(addr string) (string, error) {
	s := strings.TrimSpace(addr)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" {
		return "", ErrNoDomain
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", ErrInvalid
	}
	scheme, rest, hasScheme := strings.Cut(s, ":")
	switch scheme = strings.ToLower(scheme); {
	case hasScheme && scheme == "tel":
		return "", ErrNoDomain
	case hasScheme && (scheme == "sip" || scheme == "sips"):
		// RFC 3261 §19.1.1: sip:user;params:password@hostport;uri-params?headers.
		// '@' cannot occur unescaped in params or headers' names, so the
		// last '@' before '?' ends the userinfo.
		rest, _, _ = strings.Cut(rest, "?")
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			rest = rest[i+1:]
		}
		rest, _, _ = strings.Cut(rest, ";")
		return host(rest)
	case hasScheme && scheme == "xmpp":
		// RFC 5122 §2.3: xmpp:[//authority/]jid[?query][#fragment].
		if strings.HasPrefix(rest, "//") {
			_, after, ok := strings.Cut(rest[2:], "/")
			if !ok {
				return "", ErrInvalid
			}
			rest = after
		}
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest = rest[:i]
		}
		u, err := url.PathUnescape(rest)
		if err != nil {
			return "", ErrInvalid
		}
		return jidDomain(u)
	}
	return jidDomain(s)
}

// jidDomain reads the domainpart of a JID (RFC 7622 §3.1: localpart@
// domainpart/resourcepart; the first '/' starts the resource, which may
// hold '@'), or the host of user@host[:port].
func jidDomain(s string) (string, error) {
	if s == "" {
		return "", ErrNoDomain
	}
	s, _, _ = strings.Cut(s, "/")
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return host(s)
}

// host normalises a host with an optional port.
func host(s string) (string, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !port(s[end+1:]) {
			return "", ErrInvalid
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", ErrInvalid
		}
		return "[" + a.String() + "]", nil
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if !port(s[i:]) {
			return "", ErrInvalid
		}
		s = s[:i]
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return a.String(), nil
	}
	// A fully qualified name's root label (RFC 1034 §3.1), in any of the
	// dots IDNA maps to '.'.
	d, err := profile.ToASCII(s)
	if err != nil {
		return "", ErrInvalid
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || strings.ContainsFunc(d, func(r rune) bool { return !ldh(r) }) {
		return "", ErrInvalid
	}
	// The A-labels must read back as themselves, so that the form is a
	// fixed point (comparing DomainOf results is then enough).
	if again, err := profile.ToASCII(d); err != nil || again != d {
		return "", ErrInvalid
	}
	return d, nil
}

// port reports whether s is empty or ":" and 1–5 digits.
func port(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) < 2 || len(s) > 6 {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ldh: letters (already lower case), digits, hyphen, dot, and '_' (seen
// in SIP hosts in the wild, RFC 3261 §25.1 notwithstanding).
func ldh(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
}

// SameDomain reports whether a and b (anything DomainOf reads) are in the
// same domain for RFC 7081 purposes. It is symmetric: the domains are
// equal after DomainOf, or one is a subdomain of the other at a label
// boundary (sip.example.com and example.com), as long as the shorter one
// has at least two labels and neither is an IP literal.
//
// Why subdomains count, both ways: RFC 7081 §3.4 has one provider run its
// services under sip.example.com and xmpp.example.com with "two aspects of
// the same service", and a contact's JID is commonly on the bare domain
// while the AOR is on sip.<domain> (or the other way round); a one-way
// rule flagged the provider's own users as inter-domain depending on
// which side was the account. Why siblings do not: RFC 7081 §5's
// example treats atlanta.example.com and biloxi.example.com as two
// domains with their own policies. Why a single label is not a parent:
// "com" would make every .com contact local.
//
// An address without a readable domain (tel:, malformed) is in no
// domain: SameDomain is false, so the §5 cost gate asks rather than lets
// the call through.
func SameDomain(a, b string) bool {
	da, err := DomainOf(a)
	if err != nil {
		return false
	}
	db, err := DomainOf(b)
	if err != nil {
		return false
	}
	if da == db {
		return true
	}
	if literal(da) || literal(db) {
		return false
	}
	return under(da, db) || under(db, da)
}

// under reports whether d is a proper subdomain of parent, a name of two
// labels or more.
func under(d, parent string) bool {
	return strings.Contains(parent, ".") && strings.HasSuffix(d, "."+parent)
}

func literal(d string) bool {
	if strings.HasPrefix(d, "[") {
		return true
	}
	_, err := netip.ParseAddr(d)
	return err == nil
}

// BareKey is a key for comparing bare JIDs (RFC 7622 §3): the resource
// dropped, the localpart lower-cased (as the UsernameCaseMapped profile
// does for the common cases) and the domain as DomainOf gives it, so a
// Call-Info hint naming xmpp:bob@BÜCHER.example finds the roster's
// bob@xn--bcher-kva.example. What has no readable domain is only
// lower-cased.
func BareKey(jid string) string {
	s := strings.TrimSpace(jid)
	if low := strings.ToLower(s); strings.HasPrefix(low, "xmpp:") {
		s = s[len("xmpp:"):]
	}
	bare, _, _ := strings.Cut(s, "/")
	d, err := DomainOf(bare)
	if err != nil {
		return strings.ToLower(bare)
	}
	if i := strings.LastIndexByte(bare, '@'); i >= 0 {
		return strings.ToLower(bare[:i]) + "@" + d
	}
	return d
}
