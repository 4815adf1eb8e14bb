package numbers

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestFind: cusax-numbers is found beside the running executable (as the
// release archive puts it) without PATH; without it, the error says where
// it was looked for.
func TestFind(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the helper written here is a shell script")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	beside := filepath.Join(filepath.Dir(exe), programFile(runtime.GOOS))
	if _, err := os.Lstat(beside); err == nil {
		t.Skipf("%s exists already", beside)
	}
	if _, err := Find(); !errors.Is(err, ErrNoProgram) || err.Error() != "cusax-numbers not found beside cusax or on PATH" {
		t.Errorf("without it: %v", err)
	}
	if err := os.WriteFile(beside, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(beside)
	if p, err := Find(); err != nil || p != beside {
		t.Errorf("beside the executable: %q %v", p, err)
	}
	if err := os.Chmod(beside, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(); !errors.Is(err, ErrNoProgram) {
		t.Errorf("not executable: %v", err)
	}
}

// TestProgramFile: on Windows the helper is an .exe, as goreleaser names it.
func TestProgramFile(t *testing.T) {
	if got := programFile("windows"); got != "cusax-numbers.exe" {
		t.Errorf("windows: %s", got)
	}
	if got := programFile("linux"); got != "cusax-numbers" {
		t.Errorf("linux: %s", got)
	}
}
