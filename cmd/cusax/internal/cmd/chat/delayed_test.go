package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// TestChatListenCountSkipsDelayed: messages the server stored (XEP-0203
// delay) are printed, marked delayed, and do not use up --count unless
// --include-delayed.
func TestChatListenCountSkipsDelayed(t *testing.T) {
	stored := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		args []string
		want []string // body:delayed
	}{
		{"live only", []string{"--listen", "--json", "--count", "1"}, []string{"old1:true", "old2:true", "new:false"}},
		{"include delayed", []string{"--listen", "--json", "--count", "1", "--include-delayed"}, []string{"old1:true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			wait := runAsync(e, tc.args...)
			waitListening(t, e.Service)
			for _, b := range []string{"old1", "old2"} {
				e.Service.Deliver(protocol.Message{From: cmdtest.BobJID + "/phone", To: cmdtest.AliceJID, Body: b, Delay: stored})
			}
			e.Service.Deliver(protocol.Message{From: cmdtest.BobJID + "/phone", To: cmdtest.AliceJID, Body: "new"})
			r := wait()
			mustOK(t, r)
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
				var m struct {
					Body    string     `json:"body"`
					Delayed bool       `json:"delayed"`
					Delay   *time.Time `json:"delayed_at"`
				}
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				d := "false"
				if m.Delayed && m.Delay != nil && m.Delay.Equal(stored) {
					d = "true"
				}
				got = append(got, m.Body+":"+d)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("printed %q, want %q", got, tc.want)
			}
		})
	}
}

// TestChatTimeoutIsDeprecatedAlias: chat's --timeout still sets the
// listening time, with a note on stderr; with --listen-for too it is a
// usage error; --include-delayed goes with --listen.
func TestChatTimeoutIsDeprecatedAlias(t *testing.T) {
	e := newEnv(t)
	var got *Options
	run := func(args ...string) cmdtest.Result {
		got = nil
		return e.Run(func(f *cmdutil.Factory) *cobra.Command {
			return NewCmdChat(f, func(o *Options) error { got = o; return nil })
		}, args...)
	}
	r := run("--listen", "--timeout", "3s")
	if r.Err != nil || got == nil || got.ListenFor != 3*time.Second || !strings.Contains(r.Stderr, "--timeout is deprecated: use --listen-for") {
		t.Errorf("--timeout: %v, options %+v, stderr %q", r.Err, got, r.Stderr)
	}
	r = run("--listen", "--listen-for", "3s")
	if r.Err != nil || got == nil || got.ListenFor != 3*time.Second || r.Stderr != "" {
		t.Errorf("--listen-for: %v, options %+v, stderr %q", r.Err, got, r.Stderr)
	}
	for _, args := range [][]string{{"--listen", "--timeout", "1s", "--listen-for", "2s"}, {"bob", "--include-delayed"}} {
		if r := run(args...); r.Code != cmdutil.ExitUsage {
			t.Errorf("%q: exit %d (%v), want %d", args, r.Code, r.Err, cmdutil.ExitUsage)
		}
	}
}
