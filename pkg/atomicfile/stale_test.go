//go:build unix

package atomicfile

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envWriter makes the test binary a writer that dies mid-write: it starts
// a Write of the path in the variable, writes half, says so by creating
// path+".ready", and waits to be killed.
const envWriter = "ATOMICFILE_TEST_WRITER"

func TestMain(m *testing.M) {
	if p := os.Getenv(envWriter); p != "" {
		writeTemp = func(f *os.File, data []byte) error {
			_, _ = f.Write(data[:len(data)/2])
			if err := os.WriteFile(p+".ready", nil, 0o600); err != nil {
				os.Exit(3)
			}
			// Until kill -9: stdin is a pipe the test never writes to.
			// (select{} would end the process: Go reports a deadlock.)
			_, _ = io.Copy(io.Discard, os.Stdin)
			os.Exit(4)
			return nil
		}
		_ = Write(p, []byte("password = hunter2-secret\n"), 0o600)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func temps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitFor polls for a file with a deadline.
func waitFor(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 13 item 14: a writer killed with SIGKILL mid-write leaves its
// temporary file (half a secrets file); the next RemoveStale removes it.
// While the writer lives, its temporary file is kept.
func TestRemoveStaleAfterKill9(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secrets.toml")
	if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envWriter+"="+p)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, p+".ready")
	left := temps(t, dir)
	if len(left) != 1 {
		t.Fatalf("temporary files while writing: %v", left)
	}

	// The writer is alive: its file stays, and so does it after a
	// concurrent Write of the same target.
	if n, err := RemoveStale(p); n != 0 || err != nil {
		t.Fatalf("RemoveStale with a live writer = %d, %v", n, err)
	}
	if err := Write(p, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := temps(t, dir); len(got) != 1 || got[0] != left[0] {
		t.Fatalf("live writer's temporary file: %v, want %v", got, left)
	}

	// kill -9 of the writer process alone.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the writer was not killed mid-write: %v", cmd.ProcessState)
	}
	if got := temps(t, dir); len(got) != 1 {
		t.Fatalf("after kill -9: %v", got)
	}
	if n, err := RemoveStale(p); n != 1 || err != nil {
		t.Fatalf("RemoveStale after kill -9 = %d, %v", n, err)
	}
	assertNoTemp(t, dir)
	if b, _ := os.ReadFile(p); string(b) != "new\n" {
		t.Errorf("target = %q", b)
	}
}

// A leftover without a writer (as kill -9 leaves it) is removed by the
// next Write; a symlink or a directory of that name is left alone, and so
// are files that only look similar.
func TestWriteRemovesStale(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	stale := filepath.Join(dir, ".config.toml.tmp-123456")
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep := []string{".config.toml.tmp-abc", ".other.toml.tmp-1", ".config.toml.tmp-"}
	for _, k := range keep {
		if err := os.WriteFile(filepath.Join(dir, k), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("v"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := ".config.toml.tmp-999"
	if err := os.Symlink(victim, filepath.Join(dir, link)); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	for _, k := range append(keep, link) {
		if _, err := os.Lstat(filepath.Join(dir, k)); err != nil {
			t.Errorf("%s removed: %v", k, err)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("symlink target removed: %v", err)
	}
}

// A temporary file locked by a live writer (here: another descriptor in
// this process) is kept.
func TestRemoveStaleKeepsLocked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	tmp := filepath.Join(dir, ".config.toml.tmp-42")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := tryLockFile(f); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if n, err := RemoveStale(p); n != 0 || err != nil {
		t.Fatalf("RemoveStale = %d, %v", n, err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("locked temporary file removed: %v", err)
	}
	_ = unlockFile(f)
	if n, err := RemoveStale(p); n != 1 || err != nil {
		t.Fatalf("RemoveStale after unlock = %d, %v", n, err)
	}
}
