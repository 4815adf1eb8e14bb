package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	p := filepath.Join(dir, "f.toml")
	if err := Write(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Fatalf("content = %q, %v", got, err)
	}
	for path, want := range map[string]fs.FileMode{p: 0o600, dir: fs.ModeDir | 0o700, filepath.Dir(dir): fs.ModeDir | 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode() & (fs.ModeDir | fs.ModePerm); m != want {
			t.Errorf("mode of %s = %v, want %v", path, m, want)
		}
	}
	assertNoTemp(t, dir)
}

func TestWriteRefusesDirectory(t *testing.T) {
	if err := Write(t.TempDir(), []byte("x"), 0o600); err == nil {
		t.Fatal("Write over a directory succeeded")
	}
}

// TestWriteFailureKeepsOld injects a failure at each step after the
// temporary file exists and checks that the old file is intact and no
// temporary file is left behind.
func TestWriteFailureKeepsOld(t *testing.T) {
	injected := errors.New("injected")
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		step  string
	}{
		{name: "short write", step: "write", setup: func(t *testing.T, _ string) {
			swap(t, &writeTemp, func(f *os.File, data []byte) error {
				_, _ = f.Write(data[:len(data)/2])
				return injected
			})
		}},
		{name: "fsync", step: "flush to disk", setup: func(t *testing.T, _ string) {
			swap(t, &syncFile, func(*os.File) error { return injected })
		}},
		{name: "close", step: "close", setup: func(t *testing.T, _ string) {
			swap(t, &closeFile, func(f *os.File) error { _ = f.Close(); return injected })
		}},
		{name: "rename", step: "replace", setup: func(t *testing.T, _ string) {
			swap(t, &rename, func(string, string) error { return injected })
		}},
		// The brief's real-world variant: the directory turns read-only
		// after the temporary file is created, so the rename fails. Root
		// ignores directory permissions, hence the injected error too.
		{name: "read-only directory at rename", step: "replace", setup: func(t *testing.T, dir string) {
			swap(t, &rename, func(from, to string) error {
				if err := os.Chmod(dir, 0o500); err != nil {
					return err
				}
				defer os.Chmod(dir, 0o700)
				if os.Geteuid() == 0 {
					return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrPermission}
				}
				return os.Rename(from, to)
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "config.toml")
			if err := os.WriteFile(p, []byte("old content\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)
			err := Write(p, []byte("new content that is longer\n"), 0o600)
			if err == nil {
				t.Fatal("Write succeeded despite the injected failure")
			}
			if !strings.Contains(err.Error(), tt.step) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the step %q and the path", err, tt.step)
			}
			got, _ := os.ReadFile(p)
			if string(got) != "old content\n" {
				t.Errorf("old file changed: %q", got)
			}
			assertNoTemp(t, dir)
		})
	}
}

func swap[T any](t *testing.T, v *T, with T) {
	t.Helper()
	old := *v
	*v = with
	t.Cleanup(func() { *v = old })
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestLockExcludes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "x.lock")
	unlock, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode = %v, %v", fi.Mode(), err)
	}

	acquired := make(chan struct{})
	var second func() error
	go func() {
		u, err := Lock(p)
		if err != nil {
			t.Error(err)
		}
		second = u
		close(acquired)
	}()
	select {
	case <-acquired:
		t.Fatal("second Lock acquired while the first was held")
	case <-time.After(100 * time.Millisecond):
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-acquired:
	case <-time.After(5 * time.Second):
		t.Fatal("second Lock not acquired after release")
	}
	if second != nil {
		if err := second(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := strings.Repeat(string(rune('a'+i)), 4096)
			if err := Write(p, []byte(data), 0o600); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := os.ReadFile(p)
	if len(got) != 4096 || strings.Count(string(got), string(got[0])) != 4096 {
		t.Errorf("file is a mix of writers: %d bytes", len(got))
	}
}
