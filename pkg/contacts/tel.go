package contacts

import (
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-vcard"
	"github.com/emiago/sipgo/sip"
)

// Kinds of Tel.
const (
	KindSIP   = "sip"   // a SIP or SIPS URI, not user=phone
	KindPhone = "phone" // a tel: URI, a bare number, or a SIP URI with user=phone
	KindOther = "other" // nothing a call can be made to
)

// maxDigits bounds a phone number: E.164 allows 15 digits, and the rest
// leaves room for extensions written into the number.
const maxDigits = 32

// Tel is one vCard TEL field, normalised for calling.
type Tel struct {
	// URI is the address a call uses: a sip:/sips: URI (lower-case scheme
	// and host, without password or headers), or a tel: URI with the
	// visual separators removed (RFC 3966 §5.1.1). For KindOther it is
	// the vCard value as it was.
	URI string `json:"uri"`
	// Types are the lower-case TYPE values (voice, video, cell, work, …),
	// without "pref", which is Pref.
	Types []string `json:"types"`
	// Kind is KindSIP, KindPhone or KindOther.
	Kind string `json:"kind"`
	// Pref is set by a PREF parameter (RFC 6350 §5.3) or a vCard 3
	// TYPE=pref.
	Pref bool `json:"pref,omitempty"`
}

// Callable reports whether a call can be made to t.
func (t Tel) Callable() bool { return t.Kind == KindSIP || t.Kind == KindPhone }

// Tels returns c's TEL fields, normalised, most preferred first (by PREF
// value, RFC 6350 §5.3; fields without PREF keep their vCard order after
// those with one). A nil card has none.
func Tels(c vcard.Card) []Tel {
	type ranked struct {
		tel  Tel
		rank int // PREF value, 1 (most preferred) to 100; 101 without one
	}
	var rs []ranked
	for _, f := range c[vcard.FieldTelephone] {
		if f == nil {
			continue
		}
		uri, kind := Normalize(f.Value)
		r := ranked{tel: Tel{URI: uri, Kind: kind, Types: []string{}}, rank: 101}
		for _, typ := range f.Params[vcard.ParamType] {
			for v := range strings.SplitSeq(typ, ",") {
				switch v = strings.ToLower(strings.TrimSpace(v)); v {
				case "":
				case "pref": // vCard 3 (RFC 2426 §3.3.1)
					r.tel.Pref = true
					r.rank = min(r.rank, 1)
				default:
					if !slices.Contains(r.tel.Types, v) {
						r.tel.Types = append(r.tel.Types, v)
					}
				}
			}
		}
		if p := strings.TrimSpace(f.Params.Get(vcard.ParamPreferred)); p != "" {
			r.tel.Pref = true
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 100 {
				n = 100
			}
			r.rank = min(r.rank, n)
		}
		rs = append(rs, r)
	}
	slices.SortStableFunc(rs, func(a, b ranked) int { return a.rank - b.rank })
	out := make([]Tel, len(rs))
	for i, r := range rs {
		out[i] = r.tel
	}
	return out
}

// HasType reports whether t has the TYPE value typ (case-insensitive).
func (t Tel) HasType(typ string) bool {
	return slices.ContainsFunc(t.Types, func(s string) bool { return strings.EqualFold(s, typ) })
}

// Preferred returns the TEL a call uses by default: the first SIP URI with
// Pref, else the first SIP URI, else the same among phone numbers. RFC 7081
// §3.1 has the SIP URI in the vCard for calls within the CUSAX service; a
// phone number may cost money (§5). It reports false when nothing is
// callable.
func Preferred(tels []Tel) (Tel, bool) {
	for _, kind := range []string{KindSIP, KindPhone} {
		first := -1
		for i, t := range tels {
			if t.Kind != kind {
				continue
			}
			if t.Pref {
				return t, true
			}
			if first < 0 {
				first = i
			}
		}
		if first >= 0 {
			return tels[first], true
		}
	}
	return Tel{}, false
}

// Normalize classifies a TEL value (or any address a call could be made
// to) and returns it in the form Tel.URI documents:
//
//   - sip:/sips: URIs parse with sipgo and have a host; the scheme and host
//     are lower-cased, a password and URI headers are dropped (a vCard is
//     someone else's data, and RFC 3261 §19.1.5 turns URI headers into
//     request headers). user=phone makes it KindPhone (RFC 3261 §19.1.6).
//   - Prosody's tel:sip:… (a vcard-temp SIP URI mangled by vcard_legacy)
//     is read as the SIP URI.
//   - tel: URIs and bare numbers of digits, a leading '+' and the visual
//     separators space - . ( ) become tel: URIs without the separators;
//     tel: URI parameters (;ext=…) are kept.
//   - Anything else, or anything with a control character (CR, LF, NUL
//     could inject SIP header lines), is KindOther and returned trimmed.
func Normalize(v string) (uri, kind string) {
	v = strings.TrimSpace(v)
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return v, KindOther
	}
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok {
		if n, ok := PhoneDigits(v); ok {
			return "tel:" + n, KindPhone
		}
		return v, KindOther
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		if u, phone, ok := normalizeSIP(v); ok {
			if phone {
				return u, KindPhone
			}
			return u, KindSIP
		}
	case "tel":
		low := strings.ToLower(rest)
		if strings.HasPrefix(low, "sip:") || strings.HasPrefix(low, "sips:") {
			return Normalize(rest)
		}
		num, params, _ := strings.Cut(rest, ";")
		if n, ok := PhoneDigits(num); ok && !strings.ContainsAny(params, " \t") {
			if params != "" {
				return "tel:" + n + ";" + params, KindPhone
			}
			return "tel:" + n, KindPhone
		}
	}
	return v, KindOther
}

// normalizeSIP checks a sip:/sips: URI with sipgo's parser and rebuilds it
// from the parts: sipgo's own String() is not stable (it re-quotes and
// repeats some parameters). URI parameters are copied from v after a
// character check (RFC 3261 §25.1 uri-parameters).
func normalizeSIP(v string) (uri string, phone, ok bool) {
	if strings.ContainsAny(v, " \t\"<>\\") {
		return "", false, false
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil || u.Wildcard || u.Port < 0 || u.Port > 65535 {
		return "", false, false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Host, "."))
	// RFC 3261 §25.1: neither '@' nor ':' may appear unescaped in the user
	// part; sipgo would split such a user differently on every parse.
	if !validHost(host) || strings.ContainsAny(u.User, "@:") {
		return "", false, false
	}
	_, rest, _ := strings.Cut(v, ":")
	if _, afterAt, found := strings.Cut(rest, "@"); found {
		rest = afterAt
	}
	var params string
	if i := strings.IndexAny(rest, ";?"); i >= 0 && rest[i] == ';' {
		params, _, _ = strings.Cut(rest[i:], "?")
	}
	for i := 0; i < len(params); i++ {
		c := params[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()[]/:&+$%=;", c) >= 0) {
			return "", false, false
		}
	}
	for p := range strings.SplitSeq(params, ";") {
		k, val, _ := strings.Cut(p, "=")
		phone = phone || strings.EqualFold(k, "user") && strings.EqualFold(val, "phone")
	}
	var b strings.Builder
	b.WriteString(strings.ToLower(u.Scheme))
	b.WriteByte(':')
	if u.User != "" {
		b.WriteString(u.User)
		b.WriteByte('@')
	}
	b.WriteString(host)
	if u.Port > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(u.Port))
	}
	b.WriteString(params)
	return b.String(), phone, true
}

// validHost checks RFC 3261 §25.1 host syntax: a host name of letters,
// digits, '-' (and '_', seen in the wild) in dot-separated labels, an IPv4
// address, or an IPv6 reference in brackets. sipgo's parser takes whatever
// follows the first '@' as the host, so "sip:a@b@c" needs this check.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if h[0] == '[' {
		return len(h) > 2 && h[len(h)-1] == ']' && strings.Trim(h[1:len(h)-1], "0123456789abcdefABCDEF:.") == ""
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// PhoneDigits returns s without visual separators (RFC 3966 §5.1.1) when it
// is a phone number: an optional leading '+', digits, and space - . ( ).
func PhoneDigits(s string) (string, bool) {
	var b strings.Builder
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
			b.WriteByte(c)
		case c == '+' && i == 0:
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if digits == 0 || digits > maxDigits {
		return "", false
	}
	return b.String(), true
}
