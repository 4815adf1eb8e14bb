package presence

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/ownpresence"
	"github.com/cusax/cusax/pkg/protocol"
)

func newCmd(f *cmdutil.Factory) *cobra.Command {
	c := NewCmdPresence(f, nil)
	c.SetFlagErrorFunc(cmdutil.FlagError)
	return c
}

func ok(t *testing.T, r cmdtest.Result) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
}

func TestSetAndShow(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	r := e.Run(newCmd)
	ok(t, r)
	if r.Stdout != "unknown\n" {
		t.Errorf("nothing set: %q", r.Stdout)
	}
	r = e.Run(newCmd, "dnd", "--status", "writing")
	ok(t, r)
	if r.Stdout != "dnd\twriting\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	// Without an agent the presence ends with the command: said on stderr.
	if !strings.Contains(r.Stderr, "the presence ends with this command") || !strings.Contains(r.Stderr, "cusax: hint: cusax agent start") {
		t.Errorf("stderr %q", r.Stderr)
	}
	ps := e.Service.Presences()
	// Its own session: priority -1 (RFC 6121 §8.5.2.1.1).
	if len(ps) != 1 || ps[0].Show != "dnd" || ps[0].Status != "writing" || ps[0].Priority != -1 || ps[0].Type != "" {
		t.Errorf("presences %+v", ps)
	}
	if e.Service.Open() != 0 {
		t.Errorf("%d sessions open", e.Service.Open())
	}
	r = e.Run(newCmd, "--json")
	jsoncheck.Validate(t, r.Stdout)
	ok(t, r)
	var got Result
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Account != "home" || got.State != "dnd" || got.Status != "writing" || !got.Known || got.Set == nil {
		t.Errorf("shown %+v", got)
	}
	r = e.Run(newCmd, "available", "--json")
	jsoncheck.Validate(t, r.Stdout)
	ok(t, r)
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.State != "available" || got.Lasts != "command" {
		t.Errorf("set %+v", got)
	}
	r = e.Run(newCmd, "unavailable")
	ok(t, r)
	if ps := e.Service.Presences(); ps[len(ps)-1].Type != "unavailable" || strings.Contains(r.Stderr, "note") {
		t.Errorf("unavailable: %+v, stderr %q", ps[len(ps)-1], r.Stderr)
	}
}

// --hold keeps the session (and the presence) until Ctrl-C, then logs out.
func TestHold(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Factory.Context = ctx
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for len(e.Service.Presences()) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if e.Service.Open() != 1 {
			t.Errorf("held: %d sessions open, want 1", e.Service.Open())
		}
		cancel()
	}()
	r := e.Run(newCmd, "away", "--hold")
	if r.Code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d (%v), want 130", r.Code, r.Err)
	}
	if !strings.Contains(r.Stderr, "presence held") || r.Stdout != "away\n" {
		t.Errorf("stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	if e.Service.Open() != 0 {
		t.Errorf("%d sessions open after Ctrl-C", e.Service.Open())
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown state", []string{"busy"}, "want one of available, away, dnd, xa, unavailable"},
		{"two states", []string{"away", "dnd"}, "at most one state"},
		{"status alone", []string{"--status", "x"}, "go with a state"},
		{"hold alone", []string{"--hold"}, "go with a state"},
		{"hold unavailable", []string{"unavailable", "--hold"}, "needs no session"},
		{"control character", []string{"away", "--status", "a\x1b[2Jb"}, "control characters"},
		{"newline", []string{"away", "--status", "a\nb"}, "control characters"},
		{"too long", []string{"away", "--status", strings.Repeat("x", 1025)}, "at most 1024"},
		{"bad flag", []string{"--nope"}, "unknown flag"},
		{"unknown account", []string{"away", "--account", "nope"}, "nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
			r := e.Run(newCmd, c.args...)
			if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), c.msg) || strings.Contains(r.Err.Error(), "\n") {
				t.Fatalf("exit %d (%v), want 2 with %q on one line", r.Code, r.Err, c.msg)
			}
			if len(e.Service.Presences()) != 0 || r.Stdout != "" {
				t.Errorf("presences %+v stdout %q", e.Service.Presences(), r.Stdout)
			}
		})
	}
}

func TestUnsupportedBackend(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	e.Source.IMPP["xmpp"] = e.Service.IMPP(protocol.CapLogin, protocol.CapRoster)
	r := e.Run(newCmd, "away")
	if r.Code != cmdutil.ExitFailure || !strings.Contains(r.Err.Error(), "cannot set presence") {
		t.Fatalf("exit %d (%v)", r.Code, r.Err)
	}
}

// A presence state file others can write is refused, never shown nor used
// to restore a presence after a call.
func TestStateWritableByOthersRefused(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	ok(t, e.Run(newCmd, "xa"))
	path, err := ownpresence.Path("home")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o646); err != nil {
		t.Fatal(err)
	}
	r := e.Run(newCmd)
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "refused") {
		t.Fatalf("exit %d (%v), want 2 refused", r.Code, r.Err)
	}
}
