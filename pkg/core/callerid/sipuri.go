package callerid

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cusax/cusax/pkg/address"
)

// maxURI bounds a URI this package reads; a longer one is refused (a
// header line is at most maxHeaderLine anyway).
const maxURI = 2048

// sipURI is a SIP or SIPS URI split for comparison (RFC 3261 §19.1.1).
// Every escaped part is in canonical form (see unescape).
type sipURI struct {
	scheme   string // "sip" or "sips"
	user     string // case kept (RFC 3261 §19.1.4: userinfo is case-sensitive)
	password string
	hasPass  bool
	host     string // lower-case; IPv6 references in canonical form
	port     int    // -1 when absent
	params   []kv   // names lower-case, in order
	headers  []kv   // names lower-case, in order
}

type kv struct{ k, v string }

// asciiHost rewrites the host of a SIP IRI into IDNA A-labels: vCards carry
// hosts in Unicode (sip:bob@bücher.example), while SIP puts them on the
// wire as A-labels (RFC 3261 §19.1.1 hostname is ASCII), and both name the
// same host. The rest stays as it is for parseSIPURI's strict reading.
func asciiHost(s string) string {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || strings.Count(rest, "@") > 1 {
		return s
	}
	user := ""
	if u, h, found := strings.Cut(rest, "@"); found {
		user, rest = u+"@", h
	}
	end := strings.IndexAny(rest, ":;?")
	if end < 0 {
		end = len(rest)
	}
	d, err := address.DomainOf(rest[:end])
	if err != nil || strings.HasPrefix(d, "[") {
		return s
	}
	return scheme + ":" + user + d + rest[end:]
}

// parseSIPURI splits a sip:/sips: URI by RFC 3261 §25.1. It is strict where
// a loose reading would let two different addresses compare equal: at most
// one unescaped '@', a valid host, a numeric port, no repeated parameter.
func parseSIPURI(s string) (sipURI, bool) {
	var u sipURI
	if strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) {
		s = asciiHost(s)
	}
	if len(s) > maxURI || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '"' || r == '<' || r == '>' || r == '\\' }) {
		return u, false
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return u, false
	}
	u.scheme = strings.ToLower(scheme)
	if u.scheme != "sip" && u.scheme != "sips" {
		return u, false
	}
	if strings.Count(rest, "@") > 1 {
		return u, false
	}
	if userinfo, hostpart, found := strings.Cut(rest, "@"); found {
		user, pass, hasPass := strings.Cut(userinfo, ":")
		if user == "" {
			return u, false
		}
		if u.user, ok = unescape(user); !ok {
			return u, false
		}
		if u.password, ok = unescape(pass); !ok {
			return u, false
		}
		u.hasPass = hasPass
		rest = hostpart
	}
	hostport, tail := rest, ""
	if i := strings.IndexAny(rest, ";?"); i >= 0 {
		hostport, tail = rest[:i], rest[i:]
	}
	var host string
	host, u.port, ok = splitHostPort(hostport)
	if !ok {
		return u, false
	}
	u.host = host
	params, headers, hasHeaders := strings.Cut(tail, "?")
	if params != "" {
		for p := range strings.SplitSeq(params[1:], ";") {
			k, v, _ := strings.Cut(p, "=")
			k, okK := unescape(k)
			v, okV := unescape(v)
			k = strings.ToLower(k)
			if !okK || !okV || k == "" || slices.ContainsFunc(u.params, func(e kv) bool { return e.k == k }) {
				return u, false
			}
			u.params = append(u.params, kv{k, v})
		}
	}
	if hasHeaders {
		if headers == "" {
			return u, false
		}
		for h := range strings.SplitSeq(headers, "&") {
			k, v, found := strings.Cut(h, "=")
			k, okK := unescape(k)
			v, okV := unescape(v)
			if !found || !okK || !okV || k == "" {
				return u, false
			}
			u.headers = append(u.headers, kv{strings.ToLower(k), v})
		}
	}
	return u, true
}

// splitHostPort reads host [":" port]; the host is lower-cased, an IPv6
// reference canonicalised (RFC 5118 §4: compare addresses, not text).
func splitHostPort(s string) (host string, port int, ok bool) {
	port = -1
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", 0, false
		}
		host, s = "["+a.String()+"]", s[end+1:]
		if s != "" && s[0] != ':' {
			return "", 0, false
		}
	} else {
		h, _, _ := strings.Cut(s, ":")
		host, s = strings.ToLower(h), s[len(h):]
		// A host with the root's dot is the host without it: compare in
		// the one form pkg/address gives every command.
		if d, err := address.DomainOf(host); err == nil && !strings.HasPrefix(d, "[") {
			host = d
		}
		if !validHostname(host) {
			return "", 0, false
		}
	}
	if s != "" {
		p := s[1:]
		if p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
			return "", 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			return "", 0, false
		}
		port = n
	}
	return host, port, true
}

// validHostname checks RFC 3261 §25.1 hostname / IPv4address: dot-separated
// labels of letters, digits and '-' ('_' too, seen in the wild), one
// optional trailing dot kept as written (sip:a.example. is not sip:a.example
// textually, and §19.1.4 has no rule making them equal).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// reserved is RFC 3261 §25.1 "reserved": an escaped reserved character is
// not the same as the character itself (§19.1.4), so it stays escaped.
const reserved = ";/?:@&=+$,"

// unescape puts s in canonical form: %XX escapes of unreserved characters
// are decoded (RFC 3261 §19.1.4: "sip:%61lice@…" is "sip:alice@…"),
// escapes of reserved or non-printable characters are kept with upper-case
// hex. A malformed escape fails.
func unescape(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		d := unhex(s[i+1])<<4 | unhex(s[i+2])
		if d > ' ' && d < 0x7f && strings.IndexByte(reserved, d) < 0 && d != '%' {
			b.WriteByte(d)
		} else {
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(s[i+1 : i+3]))
		}
		i += 2
	}
	return b.String(), true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// significantParams are the URI parameters that RFC 3261 §19.1.4 never
// ignores: present in one URI only, they make the URIs differ.
var significantParams = []string{"maddr", "method", "transport", "ttl", "user"}

// SameSIPURI reports whether a and b are equal SIP or SIPS URIs by the
// rules of RFC 3261 §19.1.4:
//
//   - a SIP and a SIPS URI are never equal;
//   - user and password compare case-sensitively, everything else
//     case-insensitively; escapes of unreserved characters equal the
//     characters;
//   - a port, or a user, ttl, method, maddr or transport parameter, present
//     in only one URI makes them differ, even when it holds the default
//     value (sip:bob@biloxi.com is not sip:bob@biloxi.com:5060);
//   - any other parameter present in both must match, and is ignored when
//     present in only one;
//   - URI headers must be present in both and match, in any order;
//   - a host name never equals an IP address it resolves to.
//
// Either string failing to parse as a SIP or SIPS URI makes the answer
// false. Nothing is matched by substring or suffix.
func SameSIPURI(a, b string) bool {
	ua, ok := parseSIPURI(a)
	if !ok {
		return false
	}
	ub, ok := parseSIPURI(b)
	if !ok {
		return false
	}
	if ua.scheme != ub.scheme || ua.user != ub.user || ua.hasPass != ub.hasPass || ua.password != ub.password ||
		ua.host != ub.host || ua.port != ub.port {
		return false
	}
	for _, p := range ua.params {
		v, found := lookupKV(ub.params, p.k)
		if found && !strings.EqualFold(v, p.v) {
			return false
		}
		if !found && slices.Contains(significantParams, p.k) {
			return false
		}
	}
	for _, p := range ub.params {
		if _, found := lookupKV(ua.params, p.k); !found && slices.Contains(significantParams, p.k) {
			return false
		}
	}
	return sameHeaders(ua.headers, ub.headers)
}

// sameHeaders compares URI headers as sets (RFC 3261 §19.1.4: order is not
// significant), names and values case-insensitively.
func sameHeaders(a, b []kv) bool {
	if len(a) != len(b) {
		return false
	}
	norm := func(h []kv) []kv {
		out := make([]kv, len(h))
		for i, e := range h {
			out[i] = kv{e.k, strings.ToLower(e.v)}
		}
		slices.SortFunc(out, func(x, y kv) int {
			if c := strings.Compare(x.k, y.k); c != 0 {
				return c
			}
			return strings.Compare(x.v, y.v)
		})
		return out
	}
	return slices.Equal(norm(a), norm(b))
}

func lookupKV(list []kv, k string) (string, bool) {
	for _, e := range list {
		if e.k == k {
			return e.v, true
		}
	}
	return "", false
}
