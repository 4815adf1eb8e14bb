package callerid

import (
	"bytes"
	"strings"
)

// field is one header field of the message as written: lower-case name
// (compact forms expanded), value trimmed with folded lines joined.
type field struct{ name, value string }

// compact maps the RFC 3261 §7.3.3 compact forms this package reads.
var compact = map[string]string{"f": "from", "i": "call-id"}

// scanHeaders reads the header fields of a message sipgo has already
// parsed (so lines end in CRLF). sipgo's own header types re-serialise
// values, and a caller's address is compared as written.
func scanHeaders(msg []byte) []field {
	var out []field
	_, msg, _ = bytes.Cut(msg, []byte("\r\n")) // start line
	for len(msg) > 0 {
		line, rest, _ := bytes.Cut(msg, []byte("\r\n"))
		msg = rest
		if len(line) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			last := &out[len(out)-1]
			last.value = strings.TrimSpace(last.value + " " + string(bytes.TrimSpace(line)))
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		n := strings.ToLower(string(bytes.TrimSpace(name)))
		if long, ok := compact[n]; ok {
			n = long
		}
		out = append(out, field{n, string(bytes.TrimSpace(value))})
	}
	return out
}

// splitList splits a header value at the commas that separate values
// (RFC 3261 §7.3.1), not those inside a quoted string or <…>.
func splitList(s string) []string {
	var out []string
	quoted, escaped, angle := false, false, false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted:
			switch c {
			case '\\':
				escaped = true
			case '"':
				quoted = false
			}
		case angle:
			angle = c != '>'
		case c == '"':
			quoted = true
		case c == '<':
			angle = true
		case c == ',':
			if v := strings.TrimSpace(s[start:i]); v != "" {
				out = append(out, v)
			}
			start = i + 1
		}
	}
	if v := strings.TrimSpace(s[start:]); v != "" {
		out = append(out, v)
	}
	return out
}

// nameAddr reads one name-addr or addr-spec (RFC 3261 §20.10, §25.1):
// an optional display name (token words or a quoted string), then the URI
// in <…>; or the URI alone, which then ends at the first ';' (§20.10: its
// parameters are header parameters). params is what follows the URI,
// starting with ';' or empty.
func nameAddr(v string) (display, uri, params string, ok bool) {
	v = strings.TrimSpace(v)
	quoted, escaped := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false
			continue
		case quoted:
			switch c {
			case '\\':
				escaped = true
			case '"':
				quoted = false
			}
			continue
		case c == '"':
			quoted = true
			continue
		case c != '<':
			continue
		}
		end := strings.IndexByte(v[i:], '>')
		if end < 0 {
			return "", "", "", false
		}
		display, ok = displayName(strings.TrimSpace(v[:i]))
		uri = strings.TrimSpace(v[i+1 : i+end])
		params = strings.TrimSpace(v[i+end+1:])
		if !ok || uri == "" || strings.ContainsAny(uri, " \t<\"") || params != "" && params[0] != ';' {
			return "", "", "", false
		}
		return display, uri, params, true
	}
	if quoted || strings.ContainsAny(v, "\">") {
		return "", "", "", false
	}
	uri, params, _ = strings.Cut(v, ";")
	uri = strings.TrimSpace(uri)
	if params != "" {
		params = ";" + params
	}
	if uri == "" || strings.ContainsAny(uri, " \t") {
		return "", "", "", false
	}
	return "", uri, params, true
}

// displayName reads a display name: a quoted string (unquoted here) or
// token words as written.
func displayName(s string) (string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return s, !strings.Contains(s, `"`)
	}
	if len(s) < 2 || !strings.HasSuffix(s, `"`) {
		return "", false
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case c == '\\' && i+1 < len(in):
			i++
			b.WriteByte(in[i])
		case c == '\\' || c == '"':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// headerParams splits ";name=value;…" into lower-case names and values
// with quotes removed. A quoted value may hold ';'.
func headerParams(s string) []kv {
	var out []kv
	for len(s) > 0 {
		s = strings.TrimLeft(s, "; \t")
		if s == "" {
			break
		}
		end := len(s)
		quoted, escaped := false, false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if escaped {
				escaped = false
				continue
			}
			if quoted {
				escaped = c == '\\'
				quoted = c != '"'
				continue
			}
			if c == '"' {
				quoted = true
			} else if c == ';' {
				end = i
				break
			}
		}
		k, v, _ := strings.Cut(s[:end], "=")
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v, _ = displayName(v)
		}
		out = append(out, kv{strings.ToLower(strings.TrimSpace(k)), v})
		s = s[end:]
	}
	return out
}
