package ownpresence

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/safepath"
	"github.com/cusax/cusax/pkg/protocol"
)

func TestSaveLoad(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	if _, ok, err := Load("home"); ok || err != nil {
		t.Fatalf("nothing saved: ok %v, %v", ok, err)
	}
	s := Saved{Account: "home", State: "away", Status: "lunch", Set: time.Unix(100, 0).UTC()}
	if err := Save(s); err != nil {
		t.Fatal(err)
	}
	got, ok, err := Load("home")
	if err != nil || !ok || got != s {
		t.Fatalf("Load = %+v, %v, %v", got, ok, err)
	}
	if p := got.Presence(); p.Show != "away" || p.Status != "lunch" || p.Type != "" {
		t.Errorf("Presence %+v", p)
	}
	path, _ := Path("home")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
}

func TestBadAccountName(t *testing.T) {
	for _, a := range []string{"", "..", "a/b"} {
		if _, err := Path(a); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("Path(%q): %v", a, err)
		}
	}
}

// A state file others can write is refused, never read: it would choose
// what contacts see after a call.
func TestWritableByOthersRefused(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	if err := Save(Saved{Account: "home", State: "dnd"}); err != nil {
		t.Fatal(err)
	}
	path, _ := Path("home")
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load("home"); !errors.Is(err, safepath.ErrUnsafe) {
		t.Errorf("Load of a 0666 file: %v, want ErrUnsafe", err)
	}
	os.Chmod(path, 0o600)
	if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load("home"); !errors.Is(err, safepath.ErrUnsafe) {
		t.Errorf("Load in a 0777 dir: %v, want ErrUnsafe", err)
	}
}

func TestCorruptRefused(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	path, _ := Path("home")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte(`{"state":"party"}`), 0o600)
	if _, _, err := Load("home"); err == nil {
		t.Error("a bad state was read")
	}
}

// Another user's file is never read as the user's presence, nor a
// symlink to a file that is no presence. (Only the user can put a link
// there: a state directory others can write is refused, see above; Save
// follows the user's own link, as atomicfile does for the config.)
func TestOtherUsersFileAndSymlink(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	if err := Save(Saved{Account: "home", State: "dnd"}); err != nil {
		t.Fatal(err)
	}
	path, _ := Path("home")
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Load("home"); !errors.Is(err, safepath.ErrUnsafe) {
			t.Errorf("Load of nobody's file: %v, want ErrUnsafe", err)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("needs root to give the file to another user (CI runs as root)")
	}
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load("home"); err == nil {
		t.Errorf("Load through a symlink to a file that is no presence succeeded")
	}
}
