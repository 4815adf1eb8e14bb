//go:build unix

package recording

import (
	"os"
	"path/filepath"
	"testing"
)

// newHostiles is hostiles plus a regular file of another user (nobody,
// 65534, when run as root), which CreateNew must not replace either.
func newHostiles(t *testing.T) []hostile {
	regular := hostile{"regular file of another user", func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte("theirs"), 0o644); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
	}, func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "theirs" {
			return "the file was replaced"
		}
		return ""
	}}
	return append(hostiles(t), regular)
}

// TestCreateNewRefusesExisting: cusax answer never records over anything,
// a regular file included.
func TestCreateNewRefusesExisting(t *testing.T) {
	for _, h := range newHostiles(t) {
		t.Run(h.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rec.wav")
			h.make(t, path)
			if f, err := CreateNew(path); err == nil {
				f.Discard()
				t.Fatal("CreateNew accepted an existing path")
			}
			if s := h.intact(path); s != "" {
				t.Errorf("path changed: %s", s)
			}
			noTemp(t, dir)
		})
	}
}

// TestCommitNewNeverReplaces: whatever appears at the path during the call
// (another user's file, a link planted to redirect the write) stays; the
// recording is dropped and no temporary file is left.
func TestCommitNewNeverReplaces(t *testing.T) {
	for _, h := range newHostiles(t) {
		t.Run(h.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rec.wav")
			f, err := CreateNew(path)
			if err != nil {
				t.Fatal(err)
			}
			h.make(t, path)
			if _, err := f.WriteString("RIFF"); err != nil {
				t.Fatal(err)
			}
			if err := CommitNew(f, path); err == nil {
				t.Error("CommitNew replaced what appeared at the path")
			}
			if s := h.intact(path); s != "" {
				t.Errorf("path changed: %s", s)
			}
			noTemp(t, dir)
		})
	}
	t.Run("nothing there", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "rec.wav")
		f, err := CreateNew(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("RIFF"); err != nil {
			t.Fatal(err)
		}
		if err := CommitNew(f, path); err != nil {
			t.Fatal(err)
		}
		st, err := os.Lstat(path)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != Perm {
			t.Errorf("recording %v, %v; want a regular file, mode %v", st, err, Perm)
		}
		noTemp(t, dir)
	})
}
