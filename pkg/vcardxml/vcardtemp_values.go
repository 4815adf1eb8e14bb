package vcardxml

// Value conversions between vcard-temp elements and vCard 4 values: TEL
// numbers, JIDs and photos.

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// telFromNumber turns a vcard-temp NUMBER into a vCard 4 TEL value: a URI
// with a scheme is kept (sip:, sips:, tel:…, and Prosody's tel:sip:… is
// repaired by canonicalize), a phone number becomes a tel: URI (RFC 3966;
// spaces, which a tel: URI cannot hold, become the visual separator "-",
// §5.1.1), and anything else stays text.
func telFromNumber(num string) string {
	num = strings.TrimSpace(num)
	switch {
	case hasScheme(num):
		return num
	case phoneLike(num):
		return "tel:" + dashSpaces(num)
	default:
		return num
	}
}

// numberFromTel is telFromNumber's inverse for NUMBER: a tel: URI that is a
// plain number loses its scheme, as vcard-temp writers expect; other values
// are written as they are and read back unchanged.
func numberFromTel(v string) string {
	if rest, ok := strings.CutPrefix(v, "tel:"); ok && phoneLike(rest) && !strings.Contains(rest, " ") {
		return rest
	}
	return v
}

// phoneLike reports whether s is a phone number as people write it: an
// optional leading '+', digits and the visual separators space, '-', '.',
// '(' and ')' (RFC 3966 §5.1.1, plus space), with at least one digit.
func phoneLike(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digits > 0
}

// dashSpaces replaces each run of spaces with one '-', or drops it next to
// another visual separator.
func dashSpaces(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	sep := func(c byte) bool { return c == '-' || c == '.' || c == '(' || c == ')' || c == '+' }
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			b.WriteByte(s[i])
			continue
		}
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		prev := b.Len() > 0 && sep(b.String()[b.Len()-1])
		next := j < len(s) && sep(s[j])
		if b.Len() > 0 && j < len(s) && !prev && !next {
			b.WriteByte('-')
		}
		i = j - 1
	}
	return b.String()
}

// escapeJID makes a JID the path of an xmpp: URI: RFC 5122 §2.7.2 requires
// '%', '?' and '#' to be percent-encoded, and a JID may hold the last two.
func escapeJID(jid string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(jid)
}

// jidFromIMPP returns the JID of an IMPP xmpp: URI (RFC 5122), without any
// query or fragment, or "" for another scheme.
func jidFromIMPP(v string) string {
	if len(v) < 5 || !strings.EqualFold(v[:5], "xmpp:") {
		return ""
	}
	v = v[5:]
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		v = v[:i]
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	return strings.TrimSpace(v)
}

// photoURI maps a vcard-temp PHOTO to a vCard 4 PHOTO URI: EXTVAL as it
// is, TYPE and BINVAL as a data: URI (RFC 2397). BINVAL that is not base64
// is dropped; its size is bounded by MaxSize like the rest of the input.
func photoURI(e *node) string {
	if k := child(e, "EXTVAL"); k != nil {
		if v := strings.TrimSpace(k.value()); v != "" {
			return v
		}
	}
	k := child(e, "BINVAL")
	if k == nil {
		return ""
	}
	bin := strings.Join(strings.Fields(k.value()), "")
	if bin == "" || !isBase64(bin) {
		return ""
	}
	mt := ""
	if t := child(e, "TYPE"); t != nil {
		mt = strings.TrimSpace(t.value())
	}
	if !validMediaType(mt) {
		mt = "application/octet-stream"
	}
	return "data:" + mt + ";base64," + bin
}

func isBase64(s string) bool {
	if _, err := base64.StdEncoding.DecodeString(s); err == nil {
		return true
	}
	_, err := base64.RawStdEncoding.DecodeString(s)
	return err == nil
}

// validMediaType accepts a media type that can sit in a data: URI header
// (RFC 2397: no ',' and no white space).
func validMediaType(mt string) bool {
	if !strings.Contains(mt, "/") {
		return false
	}
	for i := 0; i < len(mt); i++ {
		c := mt[i]
		if !isAlpha(c) && !isDigit(c) && !strings.ContainsRune("!#$&^_.+-/=;", rune(c)) {
			return false
		}
	}
	return true
}

// binaryPhoto splits a data: URI that photoURI could have produced into
// its media type and base64 payload. Anything else is written as EXTVAL,
// so that reading it back gives the same value.
func binaryPhoto(v string) (mt, bin string, ok bool) {
	rest, ok := strings.CutPrefix(v, "data:")
	if !ok {
		return "", "", false
	}
	head, bin, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", false
	}
	mt, ok = strings.CutSuffix(head, ";base64")
	if !ok || !validMediaType(mt) || bin == "" || strings.ContainsAny(bin, " \t\n") || !isBase64(bin) {
		return "", "", false
	}
	return mt, bin, true
}
