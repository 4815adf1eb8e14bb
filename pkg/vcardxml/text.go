package vcardxml

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
)

// Text returns c as vCard 4 text (RFC 6350): VERSION:4.0 whatever c says,
// properties sorted by name, CRLF line ends and lines folded at 75 octets
// (§3.2) without splitting a UTF-8 sequence. It works around what
// go-vcard's Encoder gets wrong: parameter values containing ':', ';', ','
// or '\' are DQUOTE-quoted (§3.3), '^', newline and '"' in them use RFC 6868
// escapes, several values of one parameter are joined with ','; a TEL
// whose value is a URI gets VALUE=uri (§6.4.1); in text values '\', newline
// and ',' are escaped (§3.4), except the commas that separate values in N,
// ADR, NICKNAME and CATEGORIES and in non-text values (a data: URI). The
// result reads back with ParseText, and with go-vcard's Decoder, except
// that go-vcard splits a quoted parameter value at its commas, leaves ^
// escapes in it alone and takes a backslash in it for a Go escape. Errors
// wrap ErrMalformed (a name that cannot be written) or ErrTooLarge (more
// than MaxSize bytes).
func Text(c vcard.Card) (string, error) {
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:4.0\r\n")
	var line strings.Builder
	for _, key := range propNames(c) {
		name := strings.ToUpper(key)
		if !validName(name) {
			return "", fmt.Errorf("text: property name %q: %w", key, ErrMalformed)
		}
		info := propInfo(name)
		for _, f := range c[key] {
			line.Reset()
			if f.Group != "" {
				if !validGroup(f.Group) {
					return "", fmt.Errorf("text: group name %q: %w", f.Group, ErrMalformed)
				}
				line.WriteString(f.Group)
				line.WriteByte('.')
			}
			line.WriteString(name)
			value := clean(f.Value)
			if err := writeTextParams(&line, name, f.Params, value); err != nil {
				return "", fmt.Errorf("text: property %s: %w", name, err)
			}
			line.WriteByte(':')
			line.WriteString(escapeValue(value, info, textTyped(info, f.Params)))
			fold(&b, line.String())
		}
	}
	b.WriteString("END:VCARD\r\n")
	if b.Len() > MaxSize {
		return "", fmt.Errorf("text: %d bytes, more than %d: %w", b.Len(), MaxSize, ErrTooLarge)
	}
	return b.String(), nil
}

func writeTextParams(line *strings.Builder, name string, p vcard.Params, value string) error {
	keys := make([]string, 0, len(p)+1)
	for k, vs := range p {
		if len(vs) == 0 {
			continue
		}
		if !validName(k) {
			return fmt.Errorf("parameter name %q: %w", k, ErrMalformed)
		}
		keys = append(keys, k)
	}
	addURI := name == vcard.FieldTelephone && p.Get(vcard.ParamValue) == "" && hasScheme(value)
	if addURI {
		keys = append(keys, vcard.ParamValue)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := p[k]
		if addURI && k == vcard.ParamValue {
			vs = []string{typeURI}
		}
		line.WriteByte(';')
		line.WriteString(strings.ToUpper(k))
		line.WriteByte('=')
		for i, v := range vs {
			if i > 0 {
				line.WriteByte(',')
			}
			writeParamValue(line, clean(v))
		}
	}
	return nil
}

// writeParamValue writes one parameter value: RFC 6868 escapes for '^',
// newline and '"', and DQUOTEs around values with characters that would
// end or split an unquoted one (RFC 6350 §3.3 param-value), or a '\' that
// go-vcard-style readers would take for an escape.
func writeParamValue(line *strings.Builder, v string) {
	quote := strings.ContainsAny(v, ":;,\\")
	if quote {
		line.WriteByte('"')
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '^':
			line.WriteString("^^")
		case '\n':
			line.WriteString("^n")
		case '"':
			line.WriteString("^'")
		default:
			line.WriteByte(c)
		}
	}
	if quote {
		line.WriteByte('"')
	}
}

// textTyped reports whether a value is of type text (or an extension's
// unknown type), where RFC 6350 §3.4 escaping of ',' applies.
func textTyped(info prop, p vcard.Params) bool {
	t := strings.ToLower(p.Get(vcard.ParamValue))
	if t == "" {
		t = info.valueType
	}
	return t == typeText || t == typeUnknown
}

// escapeValue applies RFC 6350 §3.4: '\' and newline always; ',' in text
// values except where commas separate values (N, ADR, NICKNAME,
// CATEGORIES). ';' is left alone: it separates components in structured
// values and "MAY" be escaped elsewhere, which go-vcard's decoder would not
// undo.
func escapeValue(v string, info prop, text bool) string {
	comma := text && !info.commaLists
	if !strings.ContainsAny(v, "\\\n,") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 8)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == ',' && comma:
			b.WriteString(`\,`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fold writes line to b folded at 75 octets (RFC 6350 §3.2: continuation
// lines start with one space), never inside a UTF-8 sequence.
func fold(b *strings.Builder, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 1 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
