package dialtarget

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/protocol"
)

// Kind says what a Target is.
type Kind string

// Kinds of Target.
const (
	// KindContact: a roster name, a JID or an xmpp: URI, as typed; the
	// caller resolves it (contacts.Resolve) or recognises a MUC room.
	KindContact Kind = "contact"
	// KindSIP: a sip: or sips: URI (user=phone included).
	KindSIP Kind = "sip"
	// KindTel: a tel: URI (RFC 3966).
	KindTel Kind = "tel"
	// KindNumber: a bare phone number.
	KindNumber Kind = "number"
	// KindRoom: a MUC room (XEP-0045). Parse never returns it: an xmpp:
	// URI or a JID is KindContact until the caller finds it is a room.
	KindRoom Kind = "room"
)

// MaxLen bounds the input Parse accepts and the length of a cost_allow
// pattern, in bytes. RFC 3261 sets no limit, but no address anyone types
// comes near it.
const MaxLen = 1024

// Target is a parsed call target.
type Target struct {
	// Input is the argument as given.
	Input string `json:"input"`
	// Kind says what the input is.
	Kind Kind `json:"kind"`
	// URI is set for KindSIP, KindTel and KindNumber: the address in the
	// form contacts.Normalize gives. A sip:/sips: URI has a lower-case
	// scheme and host. A tel: URI has its visual separators removed (RFC
	// 3966 §5.1.1) and keeps its parameters. A bare number starting with
	// '+' or "00" (the international prefix most of the world dials)
	// becomes a global number, tel:+…, with a "(0)" trunk prefix dropped
	// ("+44 (0)20 7946 0000" is tel:+442079460000); any other number
	// becomes a local one, tel:0301234, without the phone-context RFC 3966
	// §5.1.5 asks for: its context is the SIP service of the account
	// that dials it, known only when SIPURI is called, and that service's
	// dial plan reads it the way a desk phone on that service would.
	URI string `json:"uri,omitempty"`
	// Name is set for KindContact: the roster name, JID or xmpp: URI as
	// typed, without surrounding white space.
	Name string `json:"name,omitempty"`
}

// invalidError is every error of this package: one line, wrapping
// protocol.ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return protocol.ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Parse reads a call target. In order:
//
//  1. Any control character (C0, DEL, C1) or invalid UTF-8 anywhere is an
//     error naming the character and its position (1-based, in
//     characters): sipgo writes URIs into requests as they are, and CR or
//     LF would start a header line of the input's choosing.
//  2. Input longer than MaxLen bytes, or empty after trimming white
//     space, is an error.
//  3. A sip:/sips: URI (any case) is KindSIP. URI headers ("?…", RFC 3261
//     §19.1.5: they become request headers), a password
//     (sip:user:pw@host), "//" after the scheme, user-part characters
//     outside RFC 3261 §25.1, or anything contacts.Normalize does not
//     accept are errors.
//  4. A tel: URI is KindTel; '?', parameters outside RFC 3966 §3 syntax,
//     or a number that is not digits with an optional leading '+' and
//     visual separators are errors.
//  5. An xmpp: URI is KindContact, for contacts.Resolve. Any other scheme
//     (a letter, then letters, digits, '+', '-', '.', then ':') is an
//     error.
//  6. Digits with an optional leading '+' and the visual separators
//     space - . ( ) are KindNumber (see Target.URI). A roster name made
//     of digits is read as a number.
//  7. Anything else is KindContact.
//
// Errors are one line, do not repeat the input, and wrap
// protocol.ErrInvalid.
func Parse(s string) (Target, error) {
	if err := checkChars(s); err != nil {
		return Target{}, invalidf("call target: %v", err)
	}
	if len(s) > MaxLen {
		return Target{}, invalidf("call target: longer than %d bytes", MaxLen)
	}
	v := strings.TrimSpace(s)
	if v == "" {
		return Target{}, invalidf("call target: empty")
	}
	if scheme, ok := cutScheme(v); ok {
		switch strings.ToLower(scheme) {
		case "sip", "sips":
			uri, err := parseSIP(v)
			if err != nil {
				return Target{}, err
			}
			return Target{Input: s, Kind: KindSIP, URI: uri}, nil
		case "tel":
			uri, err := parseTel(v)
			if err != nil {
				return Target{}, err
			}
			return Target{Input: s, Kind: KindTel, URI: uri}, nil
		case "xmpp":
			return Target{Input: s, Kind: KindContact, Name: v}, nil
		}
		if len(scheme) > 16 {
			return Target{}, invalidf("call target: unknown URI scheme (want sip:, sips:, tel: or xmpp:, a phone number or a contact)")
		}
		return Target{}, invalidf("call target: unknown URI scheme %q (want sip:, sips:, tel: or xmpp:, a phone number or a contact)", strings.ToLower(scheme)+":")
	}
	if uri, ok := number(v); ok {
		return Target{Input: s, Kind: KindNumber, URI: uri}, nil
	}
	return Target{Input: s, Kind: KindContact, Name: v}, nil
}

// checkChars refuses control characters and invalid UTF-8, naming the
// first one and where it is.
func checkChars(s string) error {
	pos := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		pos++
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i+1)
		}
		if isControl(r) {
			return fmt.Errorf("control character %s at character %d", controlName(r), pos)
		}
		i += size
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

func controlName(r rune) string {
	name := map[rune]string{0: "NUL", '\t': "TAB", '\n': "LF", '\v': "VT", '\f': "FF", '\r': "CR", 0x1b: "ESC", 0x7f: "DEL", 0x85: "NEL"}[r]
	if name == "" {
		return fmt.Sprintf("U+%04X", r)
	}
	return fmt.Sprintf("%s (U+%04X)", name, r)
}

// cutScheme returns the scheme of v when v starts with one (RFC 3986 §3.1:
// a letter, then letters, digits, '+', '-', '.'; then ':').
func cutScheme(v string) (string, bool) {
	i := strings.IndexByte(v, ':')
	if i <= 0 || !isAlpha(v[0]) {
		return "", false
	}
	for j := 1; j < i; j++ {
		if c := v[j]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return "", false
		}
	}
	return v[:i], true
}

func parseSIP(v string) (string, error) {
	if strings.ContainsRune(v, '?') {
		return "", invalidf("call target: SIP URI headers ('?…') are refused: they would become request headers (RFC 3261 §19.1.5)")
	}
	_, rest, _ := strings.Cut(v, ":")
	if strings.HasPrefix(rest, "//") {
		return "", invalidf("call target: not a valid SIP URI: no // after sip:")
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil {
		return "", invalidf("call target: not a valid SIP URI")
	}
	// sipgo splits user:password at the last ':' before '@'; an empty
	// password ("sip:alice:@host") leaves Password empty, hence the text
	// check too.
	userinfo, _, hasAt := strings.Cut(rest, "@")
	if u.Password != "" || hasAt && !strings.ContainsAny(userinfo, "[;") && strings.Contains(userinfo, ":") {
		return "", invalidf("call target: SIP URI carries a password: remove it (sip:user@host)")
	}
	if !sipUser(u.User) {
		return "", invalidf("call target: not a valid SIP URI: bad character in the user part (RFC 3261 §25.1)")
	}
	uri, kind := contacts.Normalize(v)
	if kind == contacts.KindOther {
		return "", invalidf("call target: not a valid SIP URI")
	}
	return uri, nil
}

// sipUser checks RFC 3261 §25.1 user: unreserved, escaped and
// user-unreserved characters, except '?', which Parse refuses.
func sipUser(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c) || isDigit(c) || strings.IndexByte("-_.!~*'()&=+$,;/", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func parseTel(v string) (string, error) {
	if strings.ContainsRune(v, '?') {
		return "", invalidf("call target: '?' is not allowed in a tel: URI")
	}
	_, rest, _ := strings.Cut(v, ":")
	if _, params, ok := strings.Cut(rest, ";"); ok && !telParams(params) {
		return "", invalidf("call target: not a valid tel: URI: bad parameter (RFC 3966 §3)")
	}
	uri, kind := contacts.Normalize(v)
	if kind != contacts.KindPhone || !strings.HasPrefix(uri, "tel:") {
		return "", invalidf("call target: not a valid tel: URI (want tel:+<digits>, or the digits of a local number)")
	}
	return uri, nil
}

// telParams checks RFC 3966 §3 par: ";"-separated name[=value], name
// 1*(alphanum / "-"), value 1*paramchar.
func telParams(params string) bool {
	if params == "" {
		return true // "tel:+1;" drops the empty list
	}
	for p := range strings.SplitSeq(params, ";") {
		name, val, hasVal := strings.Cut(p, "=")
		if name == "" || hasVal && val == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
				return false
			}
		}
		for i := 0; i < len(val); i++ {
			switch c := val[i]; {
			case isAlpha(c) || isDigit(c) || strings.IndexByte("[]/:&+$-_.!~*'()", c) >= 0:
			case c == '%' && i+2 < len(val) && isHex(val[i+1]) && isHex(val[i+2]):
				i += 2
			default:
				return false
			}
		}
	}
	return true
}

// number reads a bare phone number (see Target.URI).
func number(v string) (string, bool) {
	international := strings.HasPrefix(v, "+") || strings.HasPrefix(v, "00")
	if international {
		// "+44 (0)20 …": the (0) is the trunk prefix dialled only from
		// inside the country.
		v = strings.ReplaceAll(v, "(0)", "")
	}
	uri, kind := contacts.Normalize(v)
	if kind != contacts.KindPhone || !strings.HasPrefix(uri, "tel:") {
		return "", false
	}
	// 00 is the international prefix ITU-T recommends and most of the
	// world dials; a country code never starts with 0.
	if n := uri[len("tel:"):]; strings.HasPrefix(n, "00") && len(n) > 2 && n[2] != '0' {
		uri = "tel:+" + n[2:]
	}
	return uri, true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
