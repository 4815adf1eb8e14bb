package cmdutil

import "testing"

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
