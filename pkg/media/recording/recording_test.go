//go:build unix

package recording

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// hostile is something at the recording's path that must survive: made by
// make in dir, checked by intact afterwards.
type hostile struct {
	name string
	make func(t *testing.T, path string)
	// intact reports what changed, or "".
	intact func(path string) string
}

// hostiles are the things --record must never replace or write through
// (issue 13 item 12: a device node became a 0644 WAV file). The device is
// a fresh node made here with /dev/null's numbers, never the real one.
func hostiles(t *testing.T) []hostile {
	elsewhere := t.TempDir()
	target := filepath.Join(elsewhere, "victim")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	isType := func(want fs.FileMode) func(string) string {
		return func(path string) string {
			st, err := os.Lstat(path)
			if err != nil {
				return err.Error()
			}
			if st.Mode().Type() != want {
				return "now " + st.Mode().String()
			}
			return ""
		}
	}
	victimKept := func(path string) string {
		if s := isType(fs.ModeSymlink)(path); s != "" {
			return s
		}
		b, err := os.ReadFile(target)
		if err != nil || string(b) != "keep" {
			return "the link's target was written"
		}
		return ""
	}
	dangling := filepath.Join(elsewhere, "created-by-following")
	return []hostile{
		{"char device", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("making a device node needs root, and CI runs as root")
				}
				t.Skip("making a device node needs root")
			}
			if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		}, func(path string) string {
			if s := isType(fs.ModeDevice | fs.ModeCharDevice)(path); s != "" {
				return s
			}
			var st unix.Stat_t
			if err := unix.Lstat(path, &st); err != nil || st.Rdev != unix.Mkdev(1, 3) {
				return "another device"
			}
			return ""
		}},
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, isType(fs.ModeNamedPipe)},
		{"symlink to a file elsewhere", func(t *testing.T, path string) {
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, victimKept},
		{"dangling symlink", func(t *testing.T, path string) {
			if err := os.Symlink(dangling, path); err != nil {
				t.Fatal(err)
			}
		}, func(path string) string {
			if s := isType(fs.ModeSymlink)(path); s != "" {
				return s
			}
			if _, err := os.Lstat(dangling); err == nil {
				return "the link was followed and its target created"
			}
			return ""
		}},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, isType(fs.ModeDir)},
	}
}

// noTemp fails if a temporary file of pkg/atomicfile was left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	left, _ := tempFiles(dir)
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestRefusedBeforeTheCall: Check and Create refuse every hostile path
// and leave it as it was.
func TestRefusedBeforeTheCall(t *testing.T) {
	for _, h := range hostiles(t) {
		t.Run(h.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rec.wav")
			h.make(t, path)
			if err := Check(path); !errors.Is(err, ErrNotRegular) {
				t.Errorf("Check: %v, want ErrNotRegular", err)
			}
			if f, err := Create(path); !errors.Is(err, ErrNotRegular) {
				t.Errorf("Create: %v, want ErrNotRegular", err)
				if f != nil {
					Discard(f)
				}
			}
			if s := h.intact(path); s != "" {
				t.Errorf("path changed: %s", s)
			}
			noTemp(t, dir)
		})
	}
	if err := Check(filepath.Join(t.TempDir(), "no", "such", "rec.wav")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing directory: %v", err)
	}
}

// TestRefusedWhenPutThereDuringTheCall: the path was new when the call
// started; what appears there before the recording is renamed into place
// is left alone, and the recording is discarded.
func TestRefusedWhenPutThereDuringTheCall(t *testing.T) {
	for _, h := range hostiles(t) {
		t.Run(h.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rec.wav")
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			h.make(t, path)
			if _, err := f.WriteString("RIFF"); err != nil {
				t.Fatal(err)
			}
			if err := Commit(f, path); !errors.Is(err, ErrNotRegular) {
				t.Errorf("Commit: %v, want ErrNotRegular", err)
			}
			if s := h.intact(path); s != "" {
				t.Errorf("path changed: %s", s)
			}
			noTemp(t, dir)
		})
	}
}

// TestWrittenPrivate: a new path and a replaced regular file (0644 before)
// both end up 0600 with the recording, whatever the umask.
func TestWrittenPrivate(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o077} {
		old := syscall.Umask(umask)
		for _, existing := range []bool{false, true} {
			dir := t.TempDir()
			path := filepath.Join(dir, "rec.wav")
			if existing {
				if err := os.WriteFile(path, []byte("old recording"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("new recording"); err != nil {
				t.Fatal(err)
			}
			if err := Commit(f, path); err != nil {
				t.Fatalf("umask %03o, existing %v: %v", umask, existing, err)
			}
			st, err := os.Lstat(path)
			b, _ := os.ReadFile(path)
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != Perm || string(b) != "new recording" {
				t.Errorf("umask %03o, existing %v: %v %v %q", umask, existing, st.Mode(), err, b)
			}
			noTemp(t, dir)
		}
		syscall.Umask(old)
	}
}

// tempFiles lists pkg/atomicfile's temporary files in dir: .NAME.tmp-N
// (locked, being written) and .NAME.new-N (just created).
func tempFiles(dir string) ([]string, error) {
	tmp, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	fresh, _ := filepath.Glob(filepath.Join(dir, ".*.new-*"))
	return append(tmp, fresh...), err
}
