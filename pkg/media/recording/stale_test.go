//go:build unix

package recording

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperHoldRecording is not a test: TestAbandonedTempRemoved runs the
// test binary with it to hold a recording open in another process, as a
// call does, until that process is killed.
func TestHelperHoldRecording(t *testing.T) {
	path := os.Getenv("RECORDING_HOLD")
	if path == "" {
		t.Skip("helper process")
	}
	f, err := Create(path)
	if err != nil {
		os.Exit(2)
	}
	os.Stdout.WriteString(f.Name() + "\n")
	time.Sleep(time.Minute) // bounded: the parent kills it long before
	os.Exit(0)
}

// TestAbandonedTempRemoved: a process recording to a path is killed with
// kill -9; its temporary file is left. The next recording to that path
// removes it, and never removes the file of a recording still running
// (however old), another user's file, or what is not a regular file.
func TestAbandonedTempRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rec.wav")
	old := time.Now().Add(-time.Hour)

	hold := func() (*exec.Cmd, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldRecording$", "-test.timeout=70s")
		cmd.Env = append(os.Environ(), "RECORDING_HOLD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatalf("helper: %v", err)
		}
		name := strings.TrimSpace(line)
		if err := os.Chtimes(name, old, old); err != nil {
			t.Fatal(err)
		}
		return cmd, name
	}
	live, liveName := hold()
	killed, deadName := hold()
	if err := syscall.Kill(killed.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()

	// Named like a leftover, but another user's (a shared directory such
	// as /tmp): never ours to remove, even as root.
	foreign := filepath.Join(dir, ".rec.wav.tmp-424242")
	if err := os.WriteFile(foreign, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(foreign, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	} else {
		foreign = liveName // without root no foreign file can be made
	}
	link := filepath.Join(dir, ".rec.wav.tmp-434343")
	if err := os.Symlink(deadName, link); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(link, old, old)

	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	Discard(f)
	if _, err := os.Lstat(deadName); err == nil {
		t.Errorf("the killed recording's temporary file is still there")
	}
	for _, keep := range []string{liveName, foreign, link} {
		if _, err := os.Lstat(keep); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(keep), err)
		}
	}
	_ = live.Process.Kill()
}
