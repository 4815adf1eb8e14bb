package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cusax")
	p := filepath.Join(dir, FileName)
	s := File(p)
	ref := Ref{"work", "xmpp"}
	if s.Name() != "file" {
		t.Errorf("Name = %q", s.Name())
	}
	if _, err := s.Get(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on missing file = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete on missing file = %v, want ErrNotFound", err)
	}
	if err := s.Set(ctx, ref, testPassword); err != nil {
		t.Fatal(err)
	}
	checkMode(t, p, 0o600)
	checkMode(t, dir, fs.ModeDir|0o700)
	checkMode(t, p+".lock", 0o600)

	// Passwords with TOML-special characters survive.
	odd := `p"a'ss\word =[x]# ✓`
	if err := s.Set(ctx, Ref{"work", "sip"}, odd); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[Ref]string{ref: testPassword, {"work", "sip"}: odd} {
		if got, err := s.Get(ctx, ref); err != nil || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if err := s.Set(ctx, ref, "replaced"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, ref); got != "replaced" {
		t.Errorf("Get after replace = %q", got)
	}
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	if got, _ := s.Get(ctx, Ref{"work", "sip"}); got != odd {
		t.Errorf("Delete removed the other aspect")
	}
	if err := s.Set(ctx, ref, ""); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("Set empty = %v", err)
	}
	if _, err := s.Get(ctx, Ref{"x", "smtp"}); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("Get bad ref = %v", err)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeDir | fs.ModePerm); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestFileStoreRefusesInsecureFile(t *testing.T) {
	ctx := context.Background()
	ref := Ref{"work", "sip"}
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o666} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			s := File(p)
			if err := s.Set(ctx, ref, testPassword); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get(ctx, ref)
			if !errors.Is(err, ErrInsecureFile) {
				t.Fatalf("Get from mode %04o = %v, want ErrInsecureFile", mode, err)
			}
			if !strings.Contains(err.Error(), "chmod 600 "+p) {
				t.Errorf("error does not say how to fix it: %v", err)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error contains the password")
			}
			// Writing is refused too: the file may already have leaked.
			if err := s.Set(ctx, ref, "new"); !errors.Is(err, ErrInsecureFile) {
				t.Errorf("Set into mode %04o = %v, want ErrInsecureFile", mode, err)
			}
		})
	}
}

func TestFileStoreRefusesForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root; chown to another user needs it")
		}
		t.Skip("needs root to chown the file to another user")
	}
	p := filepath.Join(t.TempDir(), FileName)
	s := File(p)
	ctx := context.Background()
	if err := s.Set(ctx, Ref{"work", "sip"}, testPassword); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal("chown as root:", err)
	}
	_, err := s.Get(ctx, Ref{"work", "sip"})
	if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("Get from a file owned by another user = %v", err)
	}
}

func TestFileStoreMalformed(t *testing.T) {
	tests := map[string]string{
		"syntax":      "version = 1\n[passwords]\n\"work/sip\" = " + testPassword + "\n",
		"unknown key": "version = 1\n" + testPassword + " = 1\n",
		"wrong type":  "version = 1\n[passwords]\n\"work/sip\" = [\"" + testPassword + "\"]\n",
		"bad version": "version = 2\n",
		"not a table": "passwords = \"" + testPassword + "\"\n",
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := File(p).Get(context.Background(), Ref{"work", "sip"})
			if err == nil {
				t.Fatal("Get from a malformed file succeeded")
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error quotes the file: %v", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestFileStoreConcurrentSets(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	s := File(p)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Set(ctx, Ref{fmt.Sprintf("a%d", i), "sip"}, fmt.Sprintf("pw%d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 16 {
		if got, err := s.Get(ctx, Ref{fmt.Sprintf("a%d", i), "sip"}); err != nil || got != fmt.Sprintf("pw%d", i) {
			t.Errorf("a%d: %q, %v (lost update)", i, got, err)
		}
	}
}

func TestFileDataRedacted(t *testing.T) {
	d := fileData{Version: 1, Passwords: map[string]string{"work/sip": testPassword}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%T %v"} {
		for _, v := range []any{d, &d, []any{d}, struct{ D fileData }{d}} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, testPassword) || strings.Contains(out, fmt.Sprintf("%x", testPassword)) {
				t.Errorf("fmt %s of %T leaks the password: %s", verb, v, out)
			}
		}
	}
	for _, v := range []any{d, &d} {
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), testPassword) || strings.Contains(string(out), "work/sip") {
			t.Errorf("JSON leaks: %s", out)
		}
	}
	s := File("/x/secrets.toml")
	if out := fmt.Sprintf("%v %+v", s, s); !strings.Contains(out, "/x/secrets.toml") {
		t.Errorf("file store prints as %q", out)
	}
}
