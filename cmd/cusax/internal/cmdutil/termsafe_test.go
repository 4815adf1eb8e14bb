package cmdutil

import (
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "hello, wörld ☺", "hello, wörld ☺"},
		{"tab kept", "a\tb", "a\tb"},
		{"carriage return fakes a line", "hi\rcarol: pay bob", `hi\rcarol: pay bob`},
		{"newline", "a\nb", `a\nb`},
		{"escape sequence", "\x1b[2K\x1b[1Gcarol: hi", `\x1b[2K\x1b[1Gcarol: hi`},
		{"bell and del", "\a\x7f", `\x07\x7f`},
		{"C1 CSI", "a\u009b2Kb", `a\u009b2Kb`},
		{"RLO", "carol\u202e:olleh", `carol\u202e:olleh`},
		{"isolates and marks", "\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
		{"backslash cannot fake an escape", `\u202e`, `\\u202e`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := TermSafe(c.in); got != c.want {
				t.Errorf("TermSafe(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// A roster name with an escape sequence or a bidi override cannot redraw
// the table on a terminal; piped output keeps the text (TSV is data).
func TestTableEscapesOnTerminal(t *testing.T) {
	var tty strings.Builder
	tb := NewTable(&tty, true, "NAME", "JID")
	tb.Row("\x1b[2Kcarol\u202e", "mallory@example.test")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(tty.String(), "\x1b\u202e") || !strings.Contains(tty.String(), `\x1b[2Kcarol\u202e`) {
		t.Errorf("terminal table %q", tty.String())
	}
	var piped strings.Builder
	tb = NewTable(&piped, false)
	tb.Row("carol\u202e", "mallory@example.test")
	_ = tb.Flush()
	if piped.String() != "carol\u202e\tmallory@example.test\n" {
		t.Errorf("piped table %q", piped.String())
	}
}
