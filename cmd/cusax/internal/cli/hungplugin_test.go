//go:build linux

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// badIMPP builds internal/testplugins/badimpp in mode as the xmpp backend
// in a fresh plugin directory, and writes a config whose one account uses
// it (the server is never reached).
func badIMPP(t *testing.T, mode string) (home, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	dir = t.TempDir()
	build := exec.Command("go", "build", "-ldflags", "-X main.mode="+mode, "-o", filepath.Join(dir, "cusax-plugin-impp-xmpp"),
		"github.com/cusax/cusax/internal/testplugins/badimpp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build badimpp: %v\n%s", err, b)
	}
	home = t.TempDir()
	if err := os.MkdirAll(home+"/cusax", 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "version = 1\ndefault_account = \"r\"\n[[account]]\nname = \"r\"\n[account.xmpp]\njid = \"r@example.test\"\nserver = \"127.0.0.1:1\"\npassword_command = \"echo pw\"\n"
	if err := os.WriteFile(home+"/cusax/config.toml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return home, dir
}

// runBounded is runCLI that fails the test instead of hanging.
func runBounded(t *testing.T, d time.Duration, home string, args ...string) cliResult {
	t.Helper()
	done := make(chan cliResult, 1)
	go func() { done <- runCLI(t, home, "", args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		t.Fatalf("cusax %s did not end within %s", strings.Join(args, " "), d)
	}
	return cliResult{}
}

// Issue 13 item 14: a plugin that never answers Connect is a plugin
// failure (exit 6) with one line that says so, not a network one (7).
func TestHungPluginConnect(t *testing.T) {
	home, dir := badIMPP(t, "hangconnect")
	r := runBounded(t, 60*time.Second, home, "--plugin-dir", dir, "roster")
	want := "cusax: error: Chat: plugin impp/xmpp did not answer Connect within 17s: plugin failed\n"
	if r.code != 6 || r.stderr != want {
		t.Fatalf("exit %d, stderr %q\nwant exit 6, %q", r.code, r.stderr, want)
	}
}

// Issue 13: an incompatible plugin that leaves a child holding its stdout
// hung `cusax roster` past 90 s. It ends with exit 6, and the child is gone.
func TestPluginLeavingChildDoesNotHangRoster(t *testing.T) {
	home, dir := badIMPP(t, "forkhold")
	start := time.Now()
	r := runBounded(t, 60*time.Second, home, "--plugin-dir", dir, "roster")
	if r.code != 6 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "is not a cusax plugin") {
		t.Fatalf("exit %d, stderr %q; want exit 6 and one line", r.code, r.stderr)
	}
	t.Logf("roster failed after %s", time.Since(start).Round(time.Millisecond))
	b, err := os.ReadFile(filepath.Join(dir, "child.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	waitGone(t, "the plugin's child", pid, 10*time.Second)
}

// Issue 13 item 13: every wait on a plugin is bounded, not only Connect
// and Kill. A plugin that connects and then never answers Roster fails
// `cusax roster` after [plugins] call_timeout with exit 6 and one line
// that names the call. (Before: roster waited forever.)
func TestHungPluginCallIsBounded(t *testing.T) {
	home, dir := badIMPP(t, "hangroster")
	cfg, err := os.ReadFile(home + "/cusax/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "default_account = \"r\"\n", "default_account = \"r\"\n[plugins]\ncall_timeout = \"2s\"\n", 1))
	if err := os.WriteFile(home+"/cusax/config.toml", cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := runBounded(t, 60*time.Second, home, "--plugin-dir", dir, "roster")
	want := "plugin impp/xmpp did not answer Roster within 2s"
	if r.code != 6 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, stderr %q; want exit 6 and one line with %q", r.code, r.stderr, want)
	}
	t.Logf("roster failed after %s", time.Since(start).Round(time.Millisecond))
}
