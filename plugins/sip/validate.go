package sip

import (
	"fmt"
	"net/netip"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// checkText rejects CR, LF and NUL in a user-supplied string. sipgo writes
// header values verbatim, so one of these would let the caller inject
// headers or end the message early (RFC 3261 §7.3.1: a header field ends at
// CRLF).
func checkText(field, s string) error {
	if i := strings.IndexAny(s, "\r\n\x00"); i >= 0 {
		return fmt.Errorf("%s contains a control character (%q at offset %d): %w", field, s[i], i, protocol.ErrInvalid)
	}
	return nil
}

// checkToken rejects, on top of checkText, characters that would escape
// the quoted-string or token a value is written into (the digest username
// in Authorization, RFC 3261 §25.1 quoted-string).
func checkQuoted(field, s string) error {
	if err := checkText(field, s); err != nil {
		return err
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("%s contains %q, which cannot be sent: %w", field, c, protocol.ErrInvalid)
		}
	}
	return nil
}

// quoteDisplayName escapes a display name for the quoted-string sipgo
// writes it into (RFC 3261 §25.1 quoted-pair); sipgo adds the quotes but
// escapes nothing.
func quoteDisplayName(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return r.Replace(s)
}

// userChars are the characters RFC 3261 §25.1 allows unescaped in the user
// part: unreserved, user-unreserved and '%' for escapes.
const userChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/%"

// validHost reports whether h is an IP literal or a DNS name (RFC 3261
// §25.1 hostname); anything else could smuggle syntax into a header.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// parseSIPURI parses a sip: or sips: URI strictly enough that every part can
// be written back into a header without changing its meaning.
func parseSIPURI(field, s string) (gosip.Uri, error) {
	var u gosip.Uri
	if err := checkText(field, s); err != nil {
		return u, err
	}
	if strings.ContainsAny(s, " \t<>\"") {
		return u, fmt.Errorf("%s %q: spaces, quotes and angle brackets are not allowed: %w", field, s, protocol.ErrInvalid)
	}
	scheme, _, ok := strings.Cut(s, ":")
	switch strings.ToLower(scheme) {
	case "sip", "sips":
	default:
		if !ok {
			return u, fmt.Errorf("%s %q: not a sip: or sips: URI: %w", field, s, protocol.ErrInvalid)
		}
		return u, fmt.Errorf("%s %q: scheme %q is not sip or sips: %w", field, s, scheme, protocol.ErrInvalid)
	}
	// sipgo's parser matches the scheme case-sensitively.
	s = strings.ToLower(scheme) + s[len(scheme):]
	if err := gosip.ParseUri(s, &u); err != nil {
		return u, fmt.Errorf("%s %q: %v: %w", field, s, err, protocol.ErrInvalid)
	}
	u.Host = strings.Trim(u.Host, "[]")
	if !validHost(u.Host) {
		return u, fmt.Errorf("%s %q: invalid host %q: %w", field, s, u.Host, protocol.ErrInvalid)
	}
	if u.Port < 0 || u.Port > 65535 {
		return u, fmt.Errorf("%s %q: invalid port %d: %w", field, s, u.Port, protocol.ErrInvalid)
	}
	if u.Password != "" {
		return u, fmt.Errorf("%s: a password in the URI is not allowed (RFC 3261 §19.1.1): %w", field, protocol.ErrInvalid)
	}
	if u.Headers.Length() > 0 {
		return u, fmt.Errorf("%s %q: URI headers are not allowed: %w", field, s, protocol.ErrInvalid)
	}
	for i := 0; i < len(u.User); i++ {
		if !strings.ContainsRune(userChars, rune(u.User[i])) {
			return u, fmt.Errorf("%s %q: invalid character %q in the user part: %w", field, s, u.User[i], protocol.ErrInvalid)
		}
	}
	return u, nil
}

// parseAOR parses the account's address of record: a sip: or sips: URI with
// a user and a host, no parameters (RFC 3261 §10.2: To carries the AOR).
func parseAOR(s string) (gosip.Uri, error) {
	u, err := parseSIPURI("address", s)
	if err != nil {
		return u, err
	}
	if u.User == "" {
		return u, fmt.Errorf("address %q has no user part (want sip:user@domain): %w", s, protocol.ErrInvalid)
	}
	if u.UriParams.Length() > 0 {
		return u, fmt.Errorf("address %q: URI parameters are not allowed in an address of record: %w", s, protocol.ErrInvalid)
	}
	u.Host = strings.ToLower(strings.TrimSuffix(u.Host, "."))
	return u, nil
}

// proxySpec is an explicit outbound proxy (ConnectRequest.Server).
type proxySpec struct {
	Host      string // host name or IP, no brackets
	Port      int    // 0: not given
	Transport string // "udp", "tcp", "tls" or "" (not given)
	Secure    bool   // sips: URI
}

// IsIP reports whether the proxy was given as an IP address.
func (p proxySpec) IsIP() bool {
	_, err := netip.ParseAddr(p.Host)
	return err == nil
}

// parseProxy parses the outbound proxy URI: sip:host[:port][;transport=udp|tcp|tls]
// or sips:host[:port]. A bare host[:port] is read as sip:host[:port].
func parseProxy(s string) (proxySpec, error) {
	var p proxySpec
	if err := checkText("server", s); err != nil {
		return p, err
	}
	l := strings.ToLower(s)
	if !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
		if strings.Contains(s, "://") {
			return p, fmt.Errorf("server %q: want a SIP URI such as sip:proxy.example.com:5061;transport=tls: %w", s, protocol.ErrInvalid)
		}
		s = "sip:" + s
	}
	u, err := parseSIPURI("server", s)
	if err != nil {
		return p, err
	}
	if u.User != "" {
		return p, fmt.Errorf("server %q: an outbound proxy URI has no user part: %w", s, protocol.ErrInvalid)
	}
	p = proxySpec{Host: strings.TrimSuffix(u.Host, "."), Port: u.Port, Secure: u.IsEncrypted()}
	if t, ok := u.UriParams.Get("transport"); ok {
		switch strings.ToLower(t) {
		case "udp":
			p.Transport = "udp"
		case "tcp":
			p.Transport = "tcp"
		case "tls":
			p.Transport = "tls"
		default:
			return p, fmt.Errorf("server %q: transport %q is not supported (udp, tcp, tls): %w", s, t, protocol.ErrInvalid)
		}
	}
	if p.Secure {
		switch p.Transport {
		case "udp":
			// RFC 3261 §26.2.2: SIPS means TLS on every hop.
			return p, fmt.Errorf("server %q: a sips: URI cannot use transport=udp: %w", s, protocol.ErrInvalid)
		case "", "tcp":
			// RFC 5630 §3.1: sips with TCP is TLS.
			p.Transport = "tls"
		}
	}
	return p, nil
}
