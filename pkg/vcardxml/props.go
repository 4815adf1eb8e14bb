package vcardxml

import (
	"strings"
	"unicode/utf8"
)

// prop describes what the converters need to know about a vCard 4
// property.
type prop struct {
	// valueType is the default value type (RFC 6350 §6, "Value type:").
	valueType string
	// components are the xCard element names of a structured value's
	// components, in order (RFC 6351 §3.3 and its schema).
	components []string
	// listSep separates the values of a multi-valued text property in the
	// card's Value: "," for NICKNAME and CATEGORIES, ";" for ORG, whose
	// components xCard writes as one <text> each.
	listSep string
	// commaLists: commas separate values inside the components (N, ADR)
	// or the value (NICKNAME, CATEGORIES), so text escaping must keep them
	// (RFC 6350 §3.4).
	commaLists bool
}

const (
	typeText       = "text"
	typeURI        = "uri"
	typeDateOrTime = "date-and-or-time"
	typeUnknown    = "unknown" // RFC 6351 §5: extension properties
)

// props lists the RFC 6350 properties. Properties not listed (X- and
// other extensions) default to "unknown".
var props = map[string]prop{
	"SOURCE":       {valueType: typeURI},
	"KIND":         {valueType: typeText},
	"XML":          {valueType: typeText},
	"FN":           {valueType: typeText},
	"N":            {valueType: typeText, components: []string{"surname", "given", "additional", "prefix", "suffix"}, commaLists: true},
	"NICKNAME":     {valueType: typeText, listSep: ",", commaLists: true},
	"PHOTO":        {valueType: typeURI},
	"BDAY":         {valueType: typeDateOrTime},
	"ANNIVERSARY":  {valueType: typeDateOrTime},
	"GENDER":       {valueType: typeText, components: []string{"sex", "identity"}},
	"ADR":          {valueType: typeText, components: []string{"pobox", "ext", "street", "locality", "region", "code", "country"}, commaLists: true},
	"TEL":          {valueType: typeText},
	"EMAIL":        {valueType: typeText},
	"IMPP":         {valueType: typeURI},
	"LANG":         {valueType: "language-tag"},
	"TZ":           {valueType: typeText},
	"GEO":          {valueType: typeURI},
	"TITLE":        {valueType: typeText},
	"ROLE":         {valueType: typeText},
	"LOGO":         {valueType: typeURI},
	"ORG":          {valueType: typeText, listSep: ";"},
	"MEMBER":       {valueType: typeURI},
	"RELATED":      {valueType: typeURI},
	"CATEGORIES":   {valueType: typeText, listSep: ",", commaLists: true},
	"NOTE":         {valueType: typeText},
	"PRODID":       {valueType: typeText},
	"REV":          {valueType: "timestamp"},
	"SOUND":        {valueType: typeURI},
	"UID":          {valueType: typeURI},
	"CLIENTPIDMAP": {valueType: typeText, components: []string{"sourceid", "uri"}},
	"URL":          {valueType: typeURI},
	"KEY":          {valueType: typeURI},
	"FBURL":        {valueType: typeURI},
	"CALADRURI":    {valueType: typeURI},
	"CALURI":       {valueType: typeURI},
}

func propInfo(name string) prop {
	if p, ok := props[name]; ok {
		return p
	}
	return prop{valueType: typeUnknown}
}

// sameValueType reports whether a value of type got needs no VALUE
// parameter on a property whose default is def. date-and-or-time covers
// date, time and date-time (RFC 6350 §4.3.4), and xCard writes it as one of
// those three (RFC 6351 §3.3).
func sameValueType(got, def string) bool {
	if got == def {
		return true
	}
	if def == typeDateOrTime {
		switch got {
		case "date", "time", "date-time":
			return true
		}
	}
	return false
}

// dateOrTimeElement picks the xCard element for a date-and-or-time value
// (RFC 6350 §4.3: a time starts with "T", a date-time contains one).
func dateOrTimeElement(v string) string {
	switch {
	case strings.HasPrefix(v, "T"):
		return "time"
	case strings.Contains(v, "T"):
		return "date-time"
	default:
		return "date"
	}
}

// validName reports whether s can be a property or parameter name both in
// text (RFC 6350 §3.3: 1*(ALPHA / DIGIT / "-")) and as an xCard element
// name (which cannot start with a digit or "-").
func validName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

// validGroup reports whether s is an RFC 6350 §3.3 group name.
func validGroup(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

// validValueType reports whether a VALUE parameter can name an xCard value
// element: a lower-case RFC 6350 iana-token or x-name.
func validValueType(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && !isDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// hasScheme reports whether v starts with an RFC 3986 §3.1 scheme and ':'.
func hasScheme(v string) bool {
	i := strings.IndexByte(v, ':')
	if i <= 0 || !isAlpha(v[0]) {
		return false
	}
	for j := 1; j < i; j++ {
		if c := v[j]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// clean makes s valid UTF-8 that both XML and vCard text can carry:
// invalid bytes become U+FFFD, "\r\n" and "\r" become "\n" (XML parsers
// normalise line ends the same way, XML 1.0 §2.11), and characters outside
// the XML 1.0 Char production (§2.2: C0 controls other than tab and line
// feed, U+FFFE, U+FFFF) become U+FFFD, as encoding/xml's escaper does.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' && c != '\n' || c >= 0x80 {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\r':
			b.WriteByte('\n')
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
