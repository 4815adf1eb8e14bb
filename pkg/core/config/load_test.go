package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Names(); !reflect.DeepEqual(got, []string{"work", "jabber"}) {
		t.Errorf("names = %v, want file order", got)
	}
	w, err := c.Account("")
	if err != nil {
		t.Fatal(err)
	}
	if !w.Related || w.XMPP.PasswordCommand != "pass show cusax/work" || w.SIP.Proxy != "sip:127.0.0.1:5061;transport=tls" {
		t.Errorf("work account decoded wrong: %+v", w)
	}
	if w.Features.CallsOverXMPPEnabled(w.Related) || w.Features.AdvertiseIMPPEnabled() {
		t.Errorf("features decoded wrong: %+v", w.Features)
	}
	j, _ := c.Account("jabber")
	if j.SIP != nil || !j.XMPP.DirectTLS || !j.Features.CallsOverXMPPEnabled(j.Related) {
		t.Errorf("jabber account decoded wrong: %+v", j)
	}
}

func TestLoadMissing(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "nope", "config.toml"))
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if c.Version != CurrentVersion || len(c.Accounts) != 0 {
		t.Errorf("missing file gave %+v, want empty config", c)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		line     int
		contains string
	}{
		{name: "syntax", doc: "version = 1\n[[account]\nname = \"x\"\n", line: 2, contains: "expected ']]'"},
		{name: "unterminated string", doc: "version = 1\n\n[[account]]\nname = \"x\n", line: 4},
		{name: "unknown top key", doc: "version = 1\ndefault = \"x\"\n", line: 2, contains: `unknown key "default"`},
		{name: "typo in aspect", doc: "[[account]]\nname = \"x\"\n[account.xmpp]\njd = \"a@b\"\n", line: 4,
			contains: `unknown key "account.xmpp.jd"`},
		{name: "wrong type", doc: "[[account]]\nname = \"x\"\nrelated = \"yes\"\n", line: 3,
			contains: "account.related: want boolean, got string"},
		{name: "wrong type feature", doc: "[[account]]\nname = \"x\"\n[account.features]\ncalls_over_xmpp = 1\n", line: 4,
			contains: "account.features.calls_over_xmpp: want boolean, got integer"},
		{name: "future version", doc: "# c\nversion = 2\n", line: 2, contains: "version 2 is not supported"},
		{name: "negative version", doc: "version = -1\n", line: 1, contains: "version -1"},
		{name: "account not a table array", doc: "account = 3\n", line: 1},
		{name: "duplicate key", doc: "version = 1\nversion = 1\n", line: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.toml")
			writeFile(t, p, tt.doc)
			c, err := Load(p)
			if err == nil {
				t.Fatalf("Load = %+v, want error", c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error does not wrap ErrMalformed: %v", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError", err)
			}
			if pe.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d", tt.line)) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the path and line", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is multi-line (quotes the document?): %q", err)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if _, err := Load(t.TempDir()); err == nil {
			t.Error("Load(dir) = nil error")
		}
	})
	t.Run("too large", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, p, "# "+strings.Repeat("x", MaxSize)+"\n")
		if _, err := Load(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("Load(huge) = %v, want ErrMalformed", err)
		}
	})
}

// A parse error must not quote the line, which may hold a password_command
// such as `echo hunter2`.
func TestLoadErrorDoesNotQuoteDocument(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, p, "[[account]]\nname = \"x\"\n[account.xmpp]\npassword_command = 'echo hunter2' oops\n")
	_, err := Load(p)
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error quotes the document: %v", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	want := &Config{
		Version:  CurrentVersion,
		Default:  "work",
		Accounts: []Account{validAccount(), xmppOnly("b"), {Name: "s", SIP: &SIPAspect{AOR: "sip:s@x.test", Username: "s1", AllowPlaintext: true}}},
		Plugins:  PluginSettings{Dirs: []string{"/a", "/b"}},
	}
	want.Accounts[0].Features = Features{CallsOverXMPP: ptr(true), AdvertiseIMPP: ptr(false)}
	want.Accounts[0].XMPP.PasswordCommand = `pass show "cusax/work" | head -1`
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := Save(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		data, _ := os.ReadFile(p)
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v\nfile:\n%s", got, want, data)
	}
}

func TestSavePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "cusax")
	p := filepath.Join(dir, "config.toml")
	if err := Save(p, &Config{}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, p, 0o600)
	checkMode(t, dir, 0o700|fs.ModeDir)
	// Replacing an existing, too-open file tightens it.
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(p, &Config{Default: "x"}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, p, 0o600)
	if err := Update(p, func(*Config) error { return nil }); err != nil {
		t.Fatal(err)
	}
	checkMode(t, LockPath(p), 0o600)
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModePerm | fs.ModeDir); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestSaveKeepsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "cusax.toml")
	writeFile(t, real, "version = 1\n")
	link := filepath.Join(dir, "config.toml")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := Save(link, &Config{Default: "x"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("Save replaced the symlink: %v %v", fi, err)
	}
	c, err := Load(real)
	if err != nil || c.Default != "x" {
		t.Errorf("target not updated: %+v %v", c, err)
	}
}

// The existing config survives a failed save. Write-step failures (short
// write, fsync, rename) are injected in package atomicfile's tests; here the
// directory is made read-only, which only works for non-root users.
func TestSaveFailureKeepsOldConfig(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; see atomicfile.TestWriteFailureKeepsOld")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	old := &Config{Default: "old"}
	if err := Save(p, old); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	if err := Save(p, &Config{Default: "new"}); err == nil {
		t.Fatal("Save into a read-only directory succeeded")
	}
	after, _ := os.ReadFile(p)
	if string(after) != string(before) {
		t.Errorf("old config changed:\n%s", after)
	}
}

func TestUpdate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cusax", "config.toml")

	t.Run("fn error writes nothing", func(t *testing.T) {
		boom := errors.New("boom")
		err := Update(p, func(c *Config) error {
			c.Upsert(xmppOnly("never"))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("config written despite fn error: %v", err)
		}
	})

	t.Run("malformed file is not overwritten", func(t *testing.T) {
		q := filepath.Join(t.TempDir(), "config.toml")
		writeFile(t, q, "version = [\n")
		called := false
		err := Update(q, func(*Config) error { called = true; return nil })
		if !errors.Is(err, ErrMalformed) || called {
			t.Errorf("Update on malformed file = %v (fn called %v)", err, called)
		}
		if data, _ := os.ReadFile(q); string(data) != "version = [\n" {
			t.Errorf("malformed file rewritten: %q", data)
		}
	})

	t.Run("concurrent updates are serialised", func(t *testing.T) {
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- Update(p, func(c *Config) error {
					c.Upsert(xmppOnly(fmt.Sprintf("acct%02d", i)))
					return nil
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		c, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Accounts) != n {
			t.Errorf("got %d accounts after %d concurrent updates (lost updates): %v", len(c.Accounts), n, c.Names())
		}
		leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".config.toml.tmp-*"))
		if len(leftovers) != 0 {
			t.Errorf("temporary files left: %v", leftovers)
		}
	})
}
