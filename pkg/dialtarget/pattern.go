package dialtarget

import (
	"strings"
	"unicode"

	"github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/contacts"
)

// ValidatePattern checks a calls.cost_allow pattern: a sip:, sips: or tel:
// URI (scheme in any case) in which '*' stands for any run of characters,
// such as "tel:+4930*" or "sip:*@partner.example". It refuses control
// characters, an empty pattern, one longer than MaxLen bytes, another or
// no scheme, '?' (URIs cusax dials never hold one, so the pattern could
// never match), and white space in a sip: pattern. A tel: pattern may keep
// its visual separators ("tel:+49 30 *"): they are dropped as from the
// numbers it is matched against. Errors do not repeat the pattern and
// wrap protocol.ErrInvalid.
func ValidatePattern(p string) error {
	if err := checkChars(p); err != nil {
		return invalidf("%v", err)
	}
	switch {
	case p == "":
		return invalidf("must not be empty")
	case len(p) > MaxLen:
		return invalidf("longer than %d bytes", MaxLen)
	case strings.ContainsRune(p, '?'):
		return invalidf("must not contain '?' (only * is a wildcard; dialled URIs never carry '?')")
	}
	scheme, ok := cutScheme(p)
	switch low := strings.ToLower(scheme); {
	case !ok || low != "sip" && low != "sips" && low != "tel":
		return invalidf(`must start with sip:, sips: or tel: (e.g. "tel:+4930*" or "sip:*@partner.example")`)
	case low != "tel" && strings.ContainsFunc(p, unicode.IsSpace):
		return invalidf("must not contain white space")
	}
	return nil
}

// MatchPattern reports whether the dialled uri matches the
// calls.cost_allow pattern: '*' matches any run of characters (none
// included), everything else itself, over the whole URI.
//
// Both sides are compared in their contacts.Normalize form and ignoring
// case: what a call costs depends on where it goes, the host, which is
// case-insensitive (RFC 3261 §19.1.4), and a case-sensitive user part
// would only make the list harder to write. A pattern without ';' ignores
// the URI's parameters, so "sip:*@partner.example" matches
// sip:bob@partner.example;transport=tls, and "tel:+4930123" the same
// number with ;ext=5.
//
// A tel: pattern is about the number, however it is dialled: it matches a
// tel: URI, and a sip:/sips: URI with user=phone by its user part (RFC
// 3261 §19.1.6), so "tel:+4930*" matches the SIPURI form
// sip:+49301234@example.com;user=phone whatever the host. A sip: or sips:
// pattern matches only URIs of its own scheme, and a phone number only
// when the pattern is about numbers (its user part starts with a digit or
// '+', or it says user=phone): what a number costs does not depend on the
// SIP domain that carries it (RFC 7081 §5), so "sip:*@example.com" (the
// users of example.com) does not allow sip:+49900123@example.com;user=phone,
// while "sip:+44*@example.com*" and "sip:*@gw.example;user=phone" do. An invalid pattern, or a
// uri Normalize does not accept, matches nothing.
func MatchPattern(pattern, uri string) bool {
	if ValidatePattern(pattern) != nil {
		return false
	}
	n, kind := contacts.Normalize(uri)
	if kind == contacts.KindOther {
		return false
	}
	p := strings.ToLower(pattern)
	if !strings.HasPrefix(p, "tel:") && kind == contacts.KindPhone && !aboutNumbers(p) {
		return false
	}
	if strings.HasPrefix(p, "tel:") {
		if !strings.HasPrefix(n, "tel:") {
			if n = telOfSIP(n); n == "" {
				return false
			}
		}
		num, params, hasParams := strings.Cut(p, ";")
		num = strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || strings.ContainsRune("-.()", r) {
				return -1 // RFC 3966 §5.1.1 visual separators
			}
			return r
		}, num)
		p = num
		if hasParams {
			p += ";" + params
		}
	}
	n = strings.ToLower(n)
	if !strings.Contains(p, ";") {
		n = withoutParams(n)
	}
	return glob(p, n)
}

// aboutNumbers reports whether a sip:/sips: pattern names phone numbers:
// a user part that starts with '+' or a digit, or user=phone.
func aboutNumbers(p string) bool {
	if strings.Contains(p, "user=phone") {
		return true
	}
	_, rest, _ := strings.Cut(p, ":")
	return rest != "" && (rest[0] == '+' || rest[0] >= '0' && rest[0] <= '9')
}

// telOfSIP returns the tel: URI a normalised sip:…;user=phone URI
// carries in its user part (RFC 3261 §19.1.6), or "".
func telOfSIP(uri string) string {
	if _, kind := contacts.Normalize(uri); kind != contacts.KindPhone {
		return "" // no user=phone: a SIP user, not a number
	}
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.User == "" {
		return ""
	}
	tel, kind := contacts.Normalize("tel:" + u.User)
	if kind != contacts.KindPhone || !strings.HasPrefix(tel, "tel:") {
		return ""
	}
	return tel
}

// withoutParams cuts a normalised URI's parameters: in a tel: URI they
// start at the first ';', in a sip: URI at the first ';' after the host.
func withoutParams(uri string) string {
	start := 0
	if !strings.HasPrefix(uri, "tel:") {
		// The user part may hold ';' (sip:+1;ext=2@host;user=phone).
		start = strings.LastIndexByte(uri, '@') + 1
	}
	if i := strings.IndexByte(uri[start:], ';'); i >= 0 {
		return uri[:start+i]
	}
	return uri
}

// glob matches s against p, where '*' matches any run of bytes. It
// backtracks only to the last star, so it runs in O(len(p)·len(s)) at
// worst.
func glob(p, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; {
			case c == '*':
				starPx, starSx = px, sx+1
				px++
				continue
			case sx < len(s) && s[sx] == c:
				px++
				sx++
				continue
			}
		}
		if starPx >= 0 && starSx <= len(s) {
			px, sx = starPx, starSx
			continue
		}
		return false
	}
	return true
}
