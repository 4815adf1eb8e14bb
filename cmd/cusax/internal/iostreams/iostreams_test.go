package iostreams

import (
	"os"
	"testing"
)

// TestColorWanted: no-color.org says NO_COLOR turns colour off only when
// it is set and not empty; NO_COLOR= (empty) must leave it on.
func TestColorWanted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string // "" value: set empty; absent: unset
		tty   bool
		color bool
	}{
		{"terminal", nil, true, true},
		{"pipe", nil, false, false},
		{"NO_COLOR=1", map[string]string{"NO_COLOR": "1"}, true, false},
		{"NO_COLOR empty", map[string]string{"NO_COLOR": ""}, true, true},
		{"NO_COLOR wins over force", map[string]string{"NO_COLOR": "x", "CLICOLOR_FORCE": "1"}, false, false},
		{"CLICOLOR_FORCE on a pipe", map[string]string{"CLICOLOR_FORCE": "1"}, false, true},
		{"CLICOLOR_FORCE=0", map[string]string{"CLICOLOR_FORCE": "0"}, false, false},
		{"TERM=dumb", map[string]string{"TERM": "dumb"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"NO_COLOR", "CLICOLOR_FORCE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			t.Setenv("TERM", "xterm")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := colorWanted(tc.tty); got != tc.color {
				t.Errorf("colorWanted(tty=%v) = %v, want %v", tc.tty, got, tc.color)
			}
		})
	}
}
