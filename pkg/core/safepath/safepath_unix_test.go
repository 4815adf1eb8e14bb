//go:build unix

package safepath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nobody is "another local user" for the hostile cases; chown needs root.
const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root; chown to another user needs it")
		}
		t.Skip("needs root to chown files to another user")
	}
}

// privateDir is a 0700 directory owned by the user: t.TempDir() sits in
// /tmp, which is sticky and world-writable, so it also exercises the
// sticky-ancestor rule on every case.
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func file(t *testing.T, dir, name string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func mkdir(t *testing.T, p string, mode fs.FileMode) string {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the path to check and the component that must be
		// named in the refusal ("" = accepted).
		setup    func(t *testing.T, d string) (path, bad string)
		dir      bool
		reason   string
		hint     string
		needRoot bool
	}{
		{name: "private file", setup: func(t *testing.T, d string) (string, string) {
			return file(t, d, "config.toml", 0o600), ""
		}},
		{name: "readable by all is fine", setup: func(t *testing.T, d string) (string, string) {
			return file(t, d, "plugin", 0o755), ""
		}},
		{name: "file writable by others", setup: func(t *testing.T, d string) (string, string) {
			p := file(t, d, "config.toml", 0o666)
			return p, p
		}, reason: "writable by group and others", hint: "chmod go-w "},
		{name: "file writable by group", setup: func(t *testing.T, d string) (string, string) {
			p := file(t, d, "config.toml", 0o620)
			return p, p
		}, reason: "writable by group", hint: "chmod go-w "},
		{name: "file owned by nobody", needRoot: true, setup: func(t *testing.T, d string) (string, string) {
			p := file(t, d, "cusax-plugin-impp-xmpp", 0o755)
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return p, p
		}, reason: "not owned by you", hint: "chown "},
		{name: "directory owned by nobody", needRoot: true, setup: func(t *testing.T, d string) (string, string) {
			sub := mkdir(t, filepath.Join(d, "sub"), 0o755)
			p := file(t, sub, "config.toml", 0o600)
			if err := os.Chown(sub, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return p, sub
		}, reason: "not owned by you"},
		{name: "group-writable parent", setup: func(t *testing.T, d string) (string, string) {
			parent := mkdir(t, filepath.Join(d, "shared"), 0o775)
			sub := mkdir(t, filepath.Join(parent, "plugins"), 0o755)
			return file(t, sub, "cusax-plugin-impp-xmpp", 0o755), parent
		}, reason: "writable by group", hint: "chmod go-w "},
		{name: "in a sticky world-writable dir", setup: func(t *testing.T, d string) (string, string) {
			sticky := mkdir(t, filepath.Join(d, "tmp"), fs.ModeSticky|0o777)
			return file(t, sticky, "cusax-plugin-impp-xmpp", 0o755), sticky
		}, reason: "a shared directory"},
		{name: "sticky world-writable dir as plugin dir", dir: true, setup: func(t *testing.T, d string) (string, string) {
			sticky := mkdir(t, filepath.Join(d, "tmp"), fs.ModeSticky|0o777)
			return sticky, sticky
		}, reason: "a shared directory"},
		{name: "own private plugin dir right in a sticky one is fine", dir: true, setup: func(t *testing.T, d string) (string, string) {
			sticky := mkdir(t, filepath.Join(d, "tmp"), fs.ModeSticky|0o777)
			return mkdir(t, filepath.Join(sticky, "plugins"), 0o700), ""
		}},
		{name: "nobody's plugin dir right in a sticky one", dir: true, needRoot: true, setup: func(t *testing.T, d string) (string, string) {
			sticky := mkdir(t, filepath.Join(d, "tmp"), fs.ModeSticky|0o777)
			theirs := mkdir(t, filepath.Join(sticky, "plugins"), 0o755)
			if err := os.Chown(theirs, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return theirs, theirs
		}, reason: "not owned by you"},
		{name: "own private dir below a sticky one is fine", setup: func(t *testing.T, d string) (string, string) {
			sticky := mkdir(t, filepath.Join(d, "tmp"), fs.ModeSticky|0o777)
			mine := mkdir(t, filepath.Join(sticky, "mine"), 0o700)
			return file(t, mine, "config.toml", 0o600), ""
		}},
		{name: "nobody's dir below a sticky one", needRoot: true, setup: func(t *testing.T, d string) (string, string) {
			sticky := mkdir(t, filepath.Join(d, "tmp"), fs.ModeSticky|0o777)
			theirs := mkdir(t, filepath.Join(sticky, "theirs"), 0o755)
			p := file(t, theirs, "config.toml", 0o600)
			if err := os.Chown(theirs, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return p, theirs
		}, reason: "not owned by you"},
		{name: "symlink into a world-writable dir", setup: func(t *testing.T, d string) (string, string) {
			open := mkdir(t, filepath.Join(d, "open"), 0o777)
			target := file(t, open, "real.toml", 0o600)
			link := filepath.Join(d, "config.toml")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link, open
		}, reason: "writable by group and others"},
		{name: "symlink in a world-writable dir to a safe file", setup: func(t *testing.T, d string) (string, string) {
			target := file(t, d, "real.toml", 0o600)
			open := mkdir(t, filepath.Join(d, "open"), 0o777)
			link := filepath.Join(open, "config.toml")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link, open
		}, reason: "writable by group and others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot {
				needRoot(t)
			}
			p, bad := tt.setup(t, privateDir(t))
			check := Check
			if tt.dir {
				check = CheckDir
			}
			err := check(p)
			if bad == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrUnsafe) {
				t.Fatalf("accepted or wrong error: %v", err)
			}
			if e.Path != bad || !strings.Contains(err.Error(), bad+": ") || !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), ", mode ") {
				t.Errorf("error %q does not name %s and %q", err, bad, tt.reason)
			}
			if len(e.Hints()) != 1 || !strings.Contains(e.Hints()[0], tt.hint) {
				t.Errorf("hints %q, want one with %q", e.Hints(), tt.hint)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestCheckMissing(t *testing.T) {
	if err := Check(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// BenchmarkCheck is the price of the check on every command start: a
// config five directories deep.
func BenchmarkCheck(b *testing.B) {
	d := b.TempDir()
	p := filepath.Join(d, "a", "b", "c")
	if err := os.MkdirAll(p, 0o700); err != nil {
		b.Fatal(err)
	}
	p = filepath.Join(p, "config.toml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := Check(p); err != nil {
			b.Fatal(err)
		}
	}
}
