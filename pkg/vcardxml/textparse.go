package vcardxml

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-vcard"
)

// ParseText reads the first vCard in s and returns it as a canonical
// vCard 4 card. It reads vCard 4 (RFC 6350), 3.0 (RFC 2426) and 2.1: folded
// lines; groups; quoted parameter values, RFC 6868 ^-escapes and the
// backslash escapes go-vcard's Encoder puts into parameter values; bare
// 2.1 parameters (TEL;WORK;VIDEO:… is TYPE=work,video; a bare encoding name
// is ENCODING); QUOTED-PRINTABLE values with soft line breaks (CHARSET
// UTF-8 or ISO-8859-1); BASE64 PHOTO, LOGO, SOUND and KEY values, which
// become data: URIs; and the value escapes \\ \n \N \, \; (RFC 6350 §3.4).
// Lines it cannot parse are skipped, as RFC 6350 §3.3 suggests for unknown
// content; an embedded vCard (2.1 AGENT) is skipped whole. Input larger than
// MaxSize gives an error wrapping ErrTooLarge; input without BEGIN:VCARD …
// END:VCARD one wrapping ErrMalformed.
func ParseText(s string) (vcard.Card, error) {
	if len(s) > MaxSize {
		return nil, fmt.Errorf("parse vcard text: %d bytes, more than %d: %w", len(s), MaxSize, ErrTooLarge)
	}
	lines := unfold(s)
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) {
		return nil, fmt.Errorf("parse vcard text: %w: empty", ErrMalformed)
	}
	if cl, ok := parseContentLine(lines[i]); !ok || cl.name != "BEGIN" || !strings.EqualFold(cl.value, "VCARD") {
		return nil, fmt.Errorf("parse vcard text: %w: does not start with BEGIN:VCARD", ErrMalformed)
	}
	c := vcard.Card{}
	depth := 0
	for i++; i < len(lines); i++ {
		cl, ok := parseContentLine(lines[i])
		if !ok {
			continue
		}
		switch {
		case cl.name == "BEGIN":
			if strings.EqualFold(cl.value, "VCARD") {
				if depth++; depth > maxDepth {
					return nil, fmt.Errorf("parse vcard text: %w: vcards nested deeper than %d", ErrMalformed, maxDepth)
				}
			}
			continue
		case cl.name == "END":
			if !strings.EqualFold(cl.value, "VCARD") {
				continue
			}
			if depth == 0 {
				canonicalize(c)
				return c, nil
			}
			depth--
			continue
		case depth > 0, cl.name == vcard.FieldVersion:
			continue
		}
		if strings.EqualFold(cl.params.Get("ENCODING"), "QUOTED-PRINTABLE") {
			// vCard 2.1 §2.1.3 (via RFC 2045 §6.7): a line ending in '='
			// continues on the next line, which is not indented.
			v := cl.value
			var b strings.Builder
			for strings.HasSuffix(v, "=") && i+1 < len(lines) {
				b.WriteString(v[:len(v)-1])
				i++
				v = lines[i]
			}
			b.WriteString(v)
			cl.value = b.String()
		}
		c.Add(cl.name, cl.field())
	}
	return nil, fmt.Errorf("parse vcard text: %w: no END:VCARD", ErrMalformed)
}

// unfold splits s into logical lines (RFC 6350 §3.2): CRLF, LF or CR end a
// line, and a line starting with a space or tab continues the previous one
// without that character. A leading byte-order mark is dropped.
func unfold(s string) []string {
	s = strings.TrimPrefix(s, "\uFEFF")
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	var lines []string
	var cur strings.Builder
	open := false
	for l := range strings.SplitSeq(s, "\n") {
		if open && l != "" && (l[0] == ' ' || l[0] == '\t') {
			cur.WriteString(l[1:])
			continue
		}
		if open {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		cur.WriteString(l)
		open = true
	}
	if open {
		lines = append(lines, cur.String())
	}
	return lines
}

type contentLine struct {
	group, name string
	params      vcard.Params
	value       string // raw: still escaped or encoded
}

// parseContentLine parses [group "."] name *(";" param) ":" value (RFC 6350
// §3.3), and reports false for a line it cannot read.
func parseContentLine(l string) (contentLine, bool) {
	var cl contentLine
	i := strings.IndexAny(l, ";:")
	if i <= 0 {
		return cl, false
	}
	name := l[:i]
	if g, n, ok := strings.Cut(name, "."); ok {
		if !validGroup(g) {
			return cl, false
		}
		cl.group, name = g, n
	}
	cl.name = strings.ToUpper(strings.TrimSpace(name))
	if !validName(cl.name) {
		return cl, false
	}
	rest := l[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		k := strings.IndexAny(rest, "=;:")
		if k < 0 {
			return cl, false
		}
		pname := strings.ToUpper(strings.TrimSpace(rest[:k]))
		if rest[k] != '=' {
			cl.addBare(pname)
			rest = rest[k:]
			continue
		}
		rest = rest[k+1:]
		var vals []string
		for {
			var v string
			var ok bool
			if v, rest, ok = paramValue(rest); !ok || rest == "" {
				return cl, false
			}
			vals = append(vals, clean(v))
			if rest[0] != ',' {
				break
			}
			rest = rest[1:]
		}
		if validName(pname) {
			cl.add(pname, vals...)
		}
	}
	cl.value = rest[1:] // rest[0] == ':'
	return cl, true
}

func (cl *contentLine) add(k string, vs ...string) {
	if cl.params == nil {
		cl.params = vcard.Params{}
	}
	cl.params[k] = append(cl.params[k], vs...)
}

// addBare reads a vCard 2.1 parameter without a name (vCard 2.1 §2.1.2,
// TEL;WORK;VOICE:…): an encoding name is ENCODING, anything else a TYPE.
// go-vcard would instead make the value the parameter's name and lose it.
func (cl *contentLine) addBare(v string) {
	switch v {
	case "":
	case "QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT":
		cl.add("ENCODING", v)
	default:
		cl.add(vcard.ParamType, clean(strings.ToLower(v)))
	}
}

// paramValue reads one parameter value up to the ',', ';' or ':' after it.
func paramValue(s string) (v, rest string, ok bool) {
	if s != "" && s[0] == '"' {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", "", false
		}
		rest = s[end+2:]
		if rest != "" && rest[0] != ',' && rest[0] != ';' && rest[0] != ':' {
			return "", "", false
		}
		return caretDecode(s[1 : end+1]), rest, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == ';' || c == ':':
			return caretDecode(b.String()), s[i:], true
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`\nN,`, s[i+1]) >= 0:
			// go-vcard's Encoder escapes parameter values like text values.
			i++
			if s[i] == 'n' || s[i] == 'N' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "", true
}

// caretDecode undoes RFC 6868 §3: ^^ is '^', ^n (or ^N) a newline, ^' a
// '"'; any other '^' stands for itself.
func caretDecode(s string) string {
	if !strings.Contains(s, "^") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			switch s[i+1] {
			case '^':
				b.WriteByte('^')
				i++
				continue
			case 'n', 'N':
				b.WriteByte('\n')
				i++
				continue
			case '\'':
				b.WriteByte('"')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// binaryProps hold inline binary data in vCard 2.1 and 3.0 (ENCODING=b),
// and a URI in vCard 4 (RFC 6350 §6.2.4, §6.6.3, §6.7.5, §6.8.1), with the
// top-level media type each implies.
var binaryProps = map[string]string{"PHOTO": "image", "LOGO": "image", "SOUND": "audio", "KEY": "application"}

// field decodes the value and turns the line into a field.
func (cl *contentLine) field() *vcard.Field {
	p := cl.params
	v := cl.value
	switch strings.ToUpper(p.Get("ENCODING")) {
	case "QUOTED-PRINTABLE":
		v = unescapeText(decodeQP(v, p.Get("CHARSET")))
	case "B", "BASE64":
		bin := strings.Join(strings.Fields(v), "")
		if top, ok := binaryProps[cl.name]; ok {
			v = "data:" + cl.mediaType(top) + ";base64," + bin
		} else if raw, err := base64.StdEncoding.DecodeString(bin); err == nil {
			v = string(raw)
		}
	default:
		v = unescapeText(v)
	}
	// vCard 4 has neither (RFC 6350 Appendix A.2): the value is UTF-8 text
	// now.
	delete(p, "ENCODING")
	delete(p, "CHARSET")
	return &vcard.Field{Value: clean(v), Params: p, Group: cl.group}
}

// mediaType finds the media type of an inline binary value: a TYPE that is
// a media type or a bare subtype (vCard 3: PHOTO;ENCODING=b;TYPE=JPEG),
// which is then removed from TYPE, else MEDIATYPE.
func (cl *contentLine) mediaType(top string) string {
	types := cl.params[vcard.ParamType]
	for i, t := range types {
		mt := strings.ToLower(t)
		if !strings.Contains(mt, "/") {
			if len(types) != 1 {
				continue
			}
			mt = top + "/" + mt
		}
		if validMediaType(mt) {
			cl.params[vcard.ParamType] = append(types[:i:i], types[i+1:]...)
			return mt
		}
	}
	if mt := cl.params.Get(vcard.ParamMediaType); validMediaType(mt) {
		return mt
	}
	return "application/octet-stream"
}

// decodeQP decodes a QUOTED-PRINTABLE value; one that does not decode is
// kept as it is. ISO-8859-1 is converted; other charsets are taken as
// UTF-8, and clean replaces what is not.
func decodeQP(v, charset string) string {
	raw, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(v)))
	if err != nil {
		return v
	}
	switch strings.ToUpper(charset) {
	case "ISO-8859-1", "LATIN1", "WINDOWS-1252":
		r := make([]rune, len(raw))
		for i, c := range raw {
			r[i] = rune(c)
		}
		return string(r)
	}
	return string(raw)
}

// unescapeText undoes RFC 6350 §3.4 escapes; an unknown escape keeps its
// backslash.
func unescapeText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '\\', ',', ';':
				b.WriteByte(v[i+1])
				i++
				continue
			case 'n', 'N':
				b.WriteByte('\n')
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
