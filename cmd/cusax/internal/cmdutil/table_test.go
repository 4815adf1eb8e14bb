package cmdutil

import (
	"bytes"
	"testing"
)

// TestTableTSVHeader: piped, a table has no header unless TSVHeader names
// the columns; a terminal shows its own header either way.
func TestTableTSVHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tty    bool
		header bool
		want   string
	}{
		{"piped", false, false, "a\tb c\n"},
		{"piped --header", false, true, "first\tsecond\na\tb c\n"},
		{"terminal", true, false, "FIRST  SECOND\na      b c\n"},
		{"terminal --header", true, true, "FIRST  SECOND\na      b c\n"},
	} {
		var out bytes.Buffer
		tb := NewTable(&out, tc.tty, "FIRST", "SECOND")
		if tc.header {
			tb.TSVHeader("first", "second")
		}
		tb.Row("a", "b\tc")
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, out.String(), tc.want)
		}
	}
}
