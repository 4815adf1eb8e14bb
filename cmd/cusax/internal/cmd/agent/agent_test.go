package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/spf13/cobra"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdAgent(f, nil) }

// runtimeDir gives the test a private XDG_RUNTIME_DIR: the agent's socket
// goes to RUNTIME/cusax-agent.
func runtimeDir(t *testing.T) string {
	rt := t.TempDir()
	if err := os.Chmod(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", rt)
	return rt
}

func TestNoAgent(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	runtimeDir(t)
	r := e.Run(newCmd, "status")
	if r.Code != cmdutil.ExitNoAgent || !strings.Contains(r.Err.Error(), "no agent running") || r.Stdout != "" {
		t.Errorf("status without agent: exit %d, %v, stdout %q", r.Code, r.Err, r.Stdout)
	}
	r = e.Run(newCmd, "stop")
	if r.Code != 0 || !strings.Contains(r.Stderr, "cusax: note: no agent is running") {
		t.Errorf("stop without agent: exit %d, %v, stderr %q", r.Code, r.Err, r.Stderr)
	}
	r = e.Run(newCmd, "run", "--account", "nosuch")
	if r.Code != cmdutil.ExitUsage {
		t.Errorf("run --account nosuch: exit %d, %v", r.Code, r.Err)
	}
	// start --foreground is run: the same refusal, no process started.
	r = e.Run(newCmd, "start", "--foreground", "--account", "nosuch")
	if r.Code != cmdutil.ExitUsage || r.Stdout != "" {
		t.Errorf("start --foreground --account nosuch: exit %d, %v", r.Code, r.Err)
	}
}

// A socket directory others can reach, or another user's, is refused at
// start with one line and exit 2; nothing listens.
func TestRunRefusesSharedSocketDir(t *testing.T) {
	cases := []struct {
		name  string
		root  bool
		setup func(dir string) error
		want  string
	}{
		{"mode 0777", false, func(dir string) error { return os.Chmod(dir, 0o777) }, "has mode 0777"},
		{"owned by nobody", true, func(dir string) error { return os.Chown(dir, 65534, 65534) }, "owned by uid 65534"},
		{"a symlink", false, func(dir string) error {
			other := dir + ".real"
			if err := os.Mkdir(other, 0o700); err != nil {
				return err
			}
			if err := os.Remove(dir); err != nil {
				return err
			}
			return os.Symlink(other, dir)
		}, "symbolic link"},
		{"a regular file at the socket", false, func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "agent.sock"), nil, 0o600)
		}, "is not a socket"},
		{"a device node at the socket", true, func(dir string) error {
			return syscall.Mknod(filepath.Join(dir, "agent.sock"), syscall.S_IFCHR|0o600, 1<<8|3)
		}, "is not a socket"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("needs root (chown); CI runs tests as root")
				}
				t.Skip("needs root (chown)")
			}
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
			dir := filepath.Join(runtimeDir(t), "cusax-agent")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			r := e.Run(newCmd, "run")
			if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), c.want) || strings.Contains(r.Err.Error(), "\n") {
				t.Fatalf("run: exit %d, %q; want exit 2 and one line with %q", r.Code, r.Err, c.want)
			}
			if fi, err := os.Lstat(filepath.Join(dir, "agent.sock")); err == nil && fi.Mode().Type() == os.ModeSocket {
				t.Fatal("a socket was made where it was refused")
			}
			if len(e.Source.Started()) != 0 {
				t.Fatalf("refused, yet started %v", e.Source.Started())
			}
		})
	}
}

// In process with fake backends: run serves, status --json shows both
// aspects connected, a second run refuses (16), and the first ends 0 when
// its context ends (SIGTERM in the binary).
func TestRunStatusSecondRun(t *testing.T) {
	runner := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	other := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	runtimeDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	runner.Factory.Context = ctx
	done := make(chan cmdtest.Result, 1)
	go func() { done <- runner.Run(newCmd, "run") }()
	var st StatusJSON
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := other.Run(newCmd, "status", "--json")
		if r.Code == 0 {
			if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Accounts) == 1 && st.Accounts[0].Chat.State == "connected" && st.Accounts[0].Telephony.State == "connected" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not up: %+v %v", st, r.Err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.PID != os.Getpid() || st.Accounts[0].Name != "home" || st.Accounts[0].Chat.Address != cmdtest.AliceJID {
		t.Errorf("status %+v", st)
	}
	jsoncheck.Validate(t, other.Run(newCmd, "status", "--json").Stdout)
	// start finds it running: its --json says so, in its own schema.
	if r := other.Run(newCmd, "start", "--json"); r.Code != 0 {
		t.Errorf("start with an agent running: exit %d, %v", r.Code, r.Err)
	} else if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.agent-start/v1" {
		t.Errorf("start --json: %v", names)
	}
	r := other.Run(newCmd, "run")
	if r.Code != cmdutil.ExitAgentRunning || !strings.Contains(r.Err.Error(), "already running") {
		t.Errorf("second run: exit %d, %v", r.Code, r.Err)
	}
	r = other.Run(newCmd, "status")
	if r.Code != 0 || !strings.Contains(r.Stdout, "home\ttelephony\t"+cmdtest.AliceAOR+"\tconnected") {
		t.Errorf("status: %d %q", r.Code, r.Stdout)
	}
	cancel()
	select {
	case r := <-done:
		if r.Code != 0 {
			t.Fatalf("run ended %d: %v\n%s", r.Code, r.Err, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "cusax agent: home: telephony: unregistered") || !strings.Contains(r.Stderr, "cusax agent: stopped") {
			t.Errorf("stderr:\n%s", r.Stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not end after its context")
	}
}

func TestExitCodesDocumented(t *testing.T) {
	for _, want := range []string{"\n  15   agent: no agent is running", "\n  16   agent: another agent already runs"} {
		if !strings.Contains(cmdutil.ExitCodesHelp, want) {
			t.Errorf("help exit-codes lacks %q", want)
		}
	}
}

// start hands the global flags given to the agent it runs (not --config,
// which travels as CUSAX_CONFIG).
func TestStartForwardsGlobalFlags(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	var got *Options
	root := &cobra.Command{Use: "cusax", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().String("config", "", "")
	root.PersistentFlags().StringArray("plugin-dir", nil, "")
	root.PersistentFlags().Bool("debug", false, "")
	root.AddCommand(NewCmdAgent(e.Factory, func(o *Options) error { got = o; return nil }))
	root.SetArgs([]string{"--config", "/x.toml", "--plugin-dir", "/a", "--plugin-dir", "/b c", "--debug", "agent", "start"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := []string{"--debug=true", "--plugin-dir=/a", "--plugin-dir=/b c"}
	if strings.Join(got.Globals, "|") != strings.Join(want, "|") {
		t.Fatalf("globals %q, want %q", got.Globals, want)
	}
}

// The agent's log must be the user's own regular file: a FIFO, a device
// node, a symlink or another user's file at its path is refused with one
// line, and a FIFO does not hang start.
func TestOpenLogRefusesHostilePaths(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"fifo": fifo, "device": os.DevNull, "symlink": link}
	if os.Geteuid() == 0 {
		theirs := filepath.Join(dir, "theirs.log")
		if err := os.WriteFile(theirs, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cases["another user's"] = theirs
	} else if os.Getenv("CI") == "true" {
		t.Fatal("needs root for another user's file (CI runs as root)")
	}
	for name, p := range cases {
		f, err := openLog(p)
		if err == nil {
			f.Close()
			t.Errorf("%s: opened %s", name, p)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "agent log: ") {
			t.Errorf("%s: %q, want one line", name, err)
		}
	}
	old := filepath.Join(dir, "old.log")
	if err := os.WriteFile(old, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openLog(old)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(old); fi.Mode().Perm() != 0o600 {
		t.Errorf("an older log kept mode %v, want 0600", fi.Mode().Perm())
	}
}
