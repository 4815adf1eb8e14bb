package chat

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
)

// TestShortRoomNameIsUsage: `chat --room ux` is bad input (exit 2, with
// the full form as a hint), found before any login; it exited 1 with the
// server's refusal.
func TestShortRoomNameIsUsage(t *testing.T) {
	for _, room := range []string{"ux", "ux@", "@conference.example.com", "ux/nick", "u x@conference.example.com"} {
		e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
		r := e.Run(newCmd, "--room", room, "hello")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "--room") {
			t.Errorf("--room %q: exit %d (%v), want %d", room, r.Code, r.Err, cmdutil.ExitUsage)
		}
		if got := cmdutil.Hints(r.Err); len(got) != 1 || !strings.Contains(got[0], "@conference.example.com") {
			t.Errorf("--room %q: hints %q", room, got)
		}
		if n := len(e.Source.Started()); n != 0 {
			t.Errorf("--room %q: %d backend(s) started", room, n)
		}
	}
	for _, room := range []string{"ux@conference.example.com", "ux@conference.example.com/al"} {
		if !isRoomJID(room) {
			t.Errorf("isRoomJID(%q) = false", room)
		}
	}
}
