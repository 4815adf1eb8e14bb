package cmdutil

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TermSafe makes text that came from someone else safe to print on a
// terminal: C0 and C1 control characters (but not a tab), DEL, and the
// Unicode bidirectional controls are shown escaped (\r, \x1b, \u202e)
// instead of acting on the terminal. Otherwise another user could send
// "\r" or an escape sequence to overwrite what is shown, or a right-to-left
// override to make text read differently, and fake a line such as
// "carol: …" (the "Trojan Source" bidi class, CVE-2021-42574). A
// backslash is shown as "\\" so that an escape cannot be faked either.
// Invalid UTF-8 bytes are shown as \xNN.
func TermSafe(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case (r >= 0x80 && r <= 0x9f) || isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\\' || (r < 0x20 && r != '\t') || (r >= 0x7f && r <= 0x9f) || isBidiControl(r) {
			return true
		}
		i += size
	}
	return false
}

// isBidiControl reports the Unicode bidirectional formatting characters
// (Unicode 15 UAX #9 §2): embeddings and overrides U+202A–U+202E,
// isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C.
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}
