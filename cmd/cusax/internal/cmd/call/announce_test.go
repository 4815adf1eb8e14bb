package call

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
)

// TestCallAnnouncesOnTerminal: on a terminal, "calling … via …" is the
// first line on stderr, before any provisional response; not with --json
// and not when stderr is not a terminal.
func TestCallAnnouncesOnTerminal(t *testing.T) {
	const line = "cusax: calling bob (" + cmdtest.BobAOR + ") via home…\n"
	for _, tc := range []struct {
		name      string
		stderrTTY bool
		args      []string
		want      bool
	}{
		{"terminal", true, []string{"bob"}, true},
		{"terminal --json", true, []string{"bob", "--json"}, false},
		{"pipe", false, []string{"bob"}, false},
		{"terminal --dry-run", true, []string{"bob", "--dry-run"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.IO.SetTTY(false, false, tc.stderrTTY)
			e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
			r := e.Run(newCmd, tc.args...)
			if r.Code != cmdutil.ExitOK {
				t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
			}
			if got := strings.HasPrefix(r.Stderr, line); got != tc.want {
				t.Errorf("stderr %q: starts with %q = %v, want %v", r.Stderr, line, got, tc.want)
			}
			if !tc.want && strings.Contains(r.Stderr, "calling") {
				t.Errorf("stderr %q", r.Stderr)
			}
		})
	}
}

// TestCallWarnsNothingRecorded: --record with no audio received says so on
// stderr (also with --json, where "recorded" is absent) and keeps what the
// backend wrote; a call with audio gets no warning.
func TestCallWarnsNothingRecorded(t *testing.T) {
	silent := ended
	heard := ended
	heard.RecordedSamples = 8000
	busy := final(486, "Busy Here")
	for _, tc := range []struct {
		name   string
		final  protocol.CallEvent
		header bool // a 44-byte WAV is at the path after the call
		want   string
	}{
		{"answered, silent", silent, true, "nothing was recorded, no audio came from the callee: %s holds no audio (44 bytes: a WAV header only); it is kept"},
		{"not answered", busy, false, "nothing was recorded, the call was not answered: no file was written"},
		{"audio", heard, false, ""},
	} {
		for _, asJSON := range []bool{false, true} {
			e := newEnv(t, nil)
			path := filepath.Join(t.TempDir(), "heard.wav")
			if tc.header {
				// As the backend leaves it: a WAV header and no samples.
				if err := os.WriteFile(path, make([]byte, 44), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			events := []protocol.CallEvent{ringing, tc.final}
			if tc.final.Answered {
				events = []protocol.CallEvent{ringing, answered, tc.final}
			}
			e.Service.OnDial(cmdtest.BobAOR, events...)
			args := []string{"bob", "--record", path}
			if asJSON {
				args = append(args, "--json")
			}
			r := e.Run(newCmd, args...)
			warned := strings.Contains(r.Stderr, "cusax: warning: --record: ")
			switch {
			case tc.want == "" && warned:
				t.Errorf("%s json=%v: stderr %q", tc.name, asJSON, r.Stderr)
			case tc.want != "" && !strings.Contains(r.Stderr, "cusax: warning: --record: "+strings.ReplaceAll(tc.want, "%s", path)+"\n"):
				t.Errorf("%s json=%v: stderr %q, want the warning %q", tc.name, asJSON, r.Stderr, tc.want)
			}
			if _, err := os.Stat(path); tc.header && err != nil {
				t.Errorf("%s: the file is gone: %v", tc.name, err)
			}
		}
	}
}
