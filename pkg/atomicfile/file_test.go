//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// A streamed replacement appears whole on Commit, with its mode, and
// Discard leaves the old file as it was.
func TestCreateCommitDiscard(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.wav")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("new"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("target changed before Commit: %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("after Commit: %q, %v, %v", b, st.Mode(), err)
	}
	g, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = g.WriteString("discarded")
	g.Discard()
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("Discard changed the target: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

// RemoveStale never removes another user's file, even one named like a
// leftover in a shared directory and even when run as root.
func TestRemoveStaleKeepsOtherUsersFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: this test needs root to make another user's file")
		}
		t.Skip("needs root to chown a file to another user")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	foreign := filepath.Join(dir, ".config.toml.tmp-123")
	if err := os.WriteFile(foreign, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(foreign, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, ".config.toml.tmp-456")
	if err := os.WriteFile(mine, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := RemoveStale(path)
	if err != nil || n != 1 {
		t.Fatalf("RemoveStale = %d, %v; want 1 (only ours)", n, err)
	}
	if _, err := os.Lstat(foreign); err != nil {
		t.Errorf("another user's file was removed: %v", err)
	}
	if _, err := os.Lstat(mine); err == nil {
		t.Errorf("our own leftover was kept")
	}
}
