//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/core/safepath"
)

// Load refuses a config others can write, or one in a directory others
// can write, before reading it; Update refuses to create one there.
func TestLoadRefusesWritableByOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cusax")
	p := filepath.Join(dir, FileName)
	if err := Save(p, &Config{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		chmod string
		mode  os.FileMode
		back  os.FileMode
	}{{p, 0o666, 0o600}, {p, 0o620, 0o600}, {dir, 0o777, 0o700}, {dir, 0o770, 0o700}} {
		if err := os.Chmod(tc.chmod, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		var e *safepath.Error
		if !errors.Is(err, safepath.ErrUnsafe) || !errors.As(err, &e) || e.Path != tc.chmod ||
			!strings.HasPrefix(err.Error(), "config "+p+" refused: "+tc.chmod+": writable by group") {
			t.Errorf("%s mode %04o: Load = %v", tc.chmod, tc.mode, err)
		}
		if err := os.Chmod(tc.chmod, tc.back); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load(p); err != nil {
		t.Fatalf("private again: %v", err)
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	np := filepath.Join(open, FileName)
	if err := Update(np, func(*Config) error { return nil }); !errors.Is(err, safepath.ErrUnsafe) {
		t.Errorf("Update into a world-writable dir = %v", err)
	}
	if _, err := os.Stat(np); !os.IsNotExist(err) {
		t.Errorf("config created in a world-writable dir: %v", err)
	}
}

// Load removes what a killed Save left behind.
func TestLoadRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	stale := filepath.Join(dir, "."+FileName+".tmp-987654")
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
}
