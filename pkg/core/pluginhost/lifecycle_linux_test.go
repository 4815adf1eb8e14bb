package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// TestMain lets the test binary double as a probe run as another user
// (uid 65534): CUSAX_TEST_PROBE=SOCKET tries to list the socket's
// directory and to connect to it.
func TestMain(m *testing.M) {
	if p := os.Getenv("CUSAX_TEST_PROBE"); p != "" {
		os.Exit(probe(p))
	}
	os.Exit(m.Run())
}

// probe prints what another user managed to do; exit 0 means nothing.
func probe(sock string) int {
	code := 0
	if _, err := os.ReadDir(filepath.Dir(sock)); err == nil {
		fmt.Println("listed the socket directory")
		code = 1
	}
	if _, err := os.Stat(sock); err == nil {
		fmt.Println("reached the socket file")
		code = 1
	}
	if c, err := net.DialTimeout("unix", sock, 2*time.Second); err == nil {
		c.Close()
		fmt.Println("connected to the plugin socket")
		code = 1
	} else {
		fmt.Println("dial:", err)
	}
	return code
}

// needRoot skips without root, except in CI where the tests run as root
// and a skip would hide a broken promise.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test must run as root in CI (it acts as another user, uid 65534)")
		}
		t.Skip("needs root to act as another user")
	}
}

// buildBadIMPP builds internal/testplugins/badimpp in mode as
// cusax-plugin-impp-xmpp in a fresh directory and discovers it.
func buildBadIMPP(t *testing.T, mode string) Candidate {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "cusax-plugin-impp-xmpp")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.mode="+mode, "-o", out, "github.com/cusax/cusax/internal/testplugins/badimpp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build badimpp: %v\n%s", err, b)
	}
	cands, _, err := Discover("", nil, []string{dir})
	if err != nil || len(cands) != 1 {
		t.Fatalf("discover: %v %v", cands, err)
	}
	return cands[0]
}

func waitGone(t *testing.T, what string, pid int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !testbed.ProcessGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still runs after %s", what, pid, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 13: a plugin that fails the handshake but leaves a child holding
// its stdout made go-plugin's Kill wait forever. Launch must fail within a
// bound, and the child must be gone.
func TestLaunchPluginLeavingChildIsBounded(t *testing.T) {
	c := buildBadIMPP(t, "forkhold")
	t.Setenv("XDG_RUNTIME_DIR", "")
	type result struct {
		err error
		d   time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		_, err := (&Launcher{StartTimeout: 5 * time.Second}).Launch(context.Background(), c)
		done <- result{err, time.Since(start)}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Launch of a plugin that leaves a child holding stdout did not return within 60 s")
	}
	if !errors.Is(r.err, ErrIncompatible) || strings.Contains(r.err.Error(), "\n") {
		t.Fatalf("want one-line ErrIncompatible, got %v", r.err)
	}
	t.Logf("Launch failed after %s: %v", r.d.Round(time.Millisecond), r.err)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(c.Path), "child.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	waitGone(t, "the plugin's child", pid, 10*time.Second)
}

// Issue 13 item 10: with umask 0, another local user (uid 65534) can
// neither list the plugin's socket directory nor connect to its socket.
func TestPluginSocketPrivateFromOtherUsers(t *testing.T) {
	needRoot(t)
	c := buildBadIMPP(t, "hangconnect")
	t.Setenv("XDG_RUNTIME_DIR", "")
	old := syscall.Umask(0)
	inst, err := (&Launcher{}).Launch(context.Background(), c)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	rc := inst.client.ReattachConfig()
	if rc == nil || rc.Addr.Network() != "unix" {
		t.Fatalf("plugin address %v", rc)
	}
	sock := rc.Addr.String()
	dir := filepath.Dir(sock)
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if err := checkPrivate(p); err != nil {
			t.Errorf("socket directory %s %v", p, err)
		}
	}
	// Copy the test binary where uid 65534 may run it.
	exeDir, err := os.MkdirTemp("", "cusax-probe-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(exeDir)
	if err := os.Chmod(exeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	probeExe := filepath.Join(exeDir, "probe")
	copyFile(t, probeExe)
	cmd := exec.Command(probeExe)
	cmd.Env = []string{"CUSAX_TEST_PROBE=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as uid 65534: %s", out)
	if err != nil {
		t.Fatalf("another user reached the plugin (socket %s): %v\n%s", sock, err, out)
	}
	inst.Close()
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket directory %s left after Close: %v", dir, err)
	}
}

func copyFile(t *testing.T, dst string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// A base directory that another user could have prepared is refused with
// one line naming it and why: a symlink (to a directory the attacker can
// read), one owned by another user, one with group/other bits.
func TestSocketBaseRefused(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	tests := []struct {
		name  string
		setup func(t *testing.T, base string)
		want  string
	}{
		{"symlink", func(t *testing.T, base string) {
			target := t.TempDir()
			if err := os.Symlink(target, base); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"other owner", func(t *testing.T, base string) {
			needRoot(t)
			if err := os.Mkdir(base, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(base, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534"},
		{"group and others may enter", func(t *testing.T, base string) {
			if err := os.Mkdir(base, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(base, 0o711); err != nil {
				t.Fatal(err)
			}
		}, "mode 0711"},
		{"a file", func(t *testing.T, base string) {
			if err := os.WriteFile(base, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			base := filepath.Join(tmp, "cusax-"+strconv.Itoa(os.Geteuid()))
			tt.setup(t, base)
			if got := socketBase(); got != base {
				t.Fatalf("socketBase %s, want %s", got, base)
			}
			_, err := (&Launcher{}).Launch(context.Background(), Candidate{Kind: "impp", Name: "x", Path: "/bin/false", BuiltIn: true})
			if err == nil || !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want one line naming %s and %q, got %v", base, tt.want, err)
			}
		})
	}
}

// The socket directories a kill -9'd host left are removed when the next
// host starts a plugin; a live host's are kept.
func TestStaleSocketDirsRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	base := socketBase()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(base, strconv.Itoa(dead.Process.Pid)+"-123")
	live := filepath.Join(base, strconv.Itoa(os.Getppid())+"-456")
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "plugin123"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	dir, err := newSocketDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale %s kept: %v", stale, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live host's %s removed: %v", live, err)
	}
	if !strings.HasPrefix(filepath.Base(dir), strconv.Itoa(os.Getpid())+"-") {
		t.Errorf("new dir %s does not carry the pid", dir)
	}
}

// $XDG_RUNTIME_DIR is used only when it is a private directory of ours;
// otherwise the sockets go under $TMPDIR/cusax-UID.
func TestSocketBaseChoice(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	fallback := filepath.Join(tmp, "cusax-"+strconv.Itoa(os.Geteuid()))
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ runtime, want string }{
		{private, filepath.Join(private, "cusax")},
		{open, fallback},
		{link, fallback},
		{"relative/dir", fallback},
		{"", fallback},
	} {
		t.Setenv("XDG_RUNTIME_DIR", tt.runtime)
		if got := socketBase(); got != tt.want {
			t.Errorf("XDG_RUNTIME_DIR=%q: base %s, want %s", tt.runtime, got, tt.want)
		}
	}
}

// The parent-death signal fires when the forking OS thread ends
// (golang/go#27505). A Launch from a goroutine that exits locked to its
// thread (ending it) must not take the plugin down with that thread.
func TestPluginSurvivesEndOfLaunchingThread(t *testing.T) {
	c := buildBadIMPP(t, "hangconnect") // serves normally until Connect
	t.Setenv("XDG_RUNTIME_DIR", "")
	type result struct {
		inst *Instance
		err  error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		inst, err := (&Launcher{}).Launch(context.Background(), c)
		res <- result{inst, err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.inst.Close()
	pid := r.inst.cmd.Process.Pid
	// Watch for a while: a SIGTERM from the ended thread would end the
	// plugin at once (it has no session to close).
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if testbed.ProcessGone(pid) {
			t.Fatal("the plugin died with the thread that launched it, while its host runs")
		}
	}
	impp, err := r.inst.IMPP()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impp.Info(context.Background()); err != nil {
		t.Fatalf("plugin no longer answers: %v", err)
	}
}
