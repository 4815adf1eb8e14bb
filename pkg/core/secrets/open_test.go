package secrets

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	filePath := filepath.Join(dir, FileName)
	ok := func(context.Context) error { return nil }
	fail := func(context.Context) error {
		return errors.New(`exec: "dbus-launch": executable file not found in $PATH`)
	}
	hang := func(ctx context.Context) error { <-ctx.Done(); time.Sleep(10 * time.Millisecond); return nil }
	tests := []struct {
		name    string
		env     string
		probe   func(context.Context) error
		want    string // store Name
		note    bool
		wantErr error
	}{
		{name: "keyring works", probe: ok, want: "keyring"},
		{name: "auto keyword", env: "auto", probe: ok, want: "keyring"},
		{name: "headless fallback", probe: fail, want: "file", note: true},
		{name: "probe hangs", probe: hang, want: "file", note: true},
		{name: "forced file", env: "file", probe: ok, want: "file"},
		{name: "forced keyring", env: "keyring", probe: fail, want: "keyring"},
		{name: "forced, case-insensitive", env: " File ", probe: ok, want: "file"},
		{name: "unknown mode", env: "vault", probe: ok, wantErr: ErrBadSecretsMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvSecrets, tt.env)
			swapVar(t, &probeKeyring, tt.probe)
			swapVar(t, &probeTimeout, 100*time.Millisecond)
			start := time.Now()
			s, note, err := Open(dir)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Open took %v", elapsed)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != tt.want {
				t.Errorf("store = %s, want %s", s.Name(), tt.want)
			}
			if tt.note != (note != "") {
				t.Errorf("note = %q, want note: %v", note, tt.note)
			}
			if tt.note && (!strings.Contains(note, filePath) || !strings.Contains(note, "0600")) {
				t.Errorf("note %q does not name the file and its mode", note)
			}
			if fs, ok := s.(*fileStore); ok && fs.path != filePath {
				t.Errorf("file store at %s, want %s", fs.path, filePath)
			}
		})
	}
	t.Run("empty dir", func(t *testing.T) {
		if _, _, err := Open(""); err == nil {
			t.Error("Open(\"\") = nil error")
		}
	})
}

// On this machine (CI, containers) there is usually no session bus: the
// real probe must fail fast rather than hang or spawn dbus-launch.
func TestProbeOSKeyringIsQuick(t *testing.T) {
	t.Setenv(EnvSecrets, "")
	start := time.Now()
	_, note, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > probeTimeout+time.Second {
		t.Errorf("Open took %v", d)
	}
	t.Logf("note: %q (in %v)", note, time.Since(start))
}

func swapVar[T any](t *testing.T, v *T, with T) {
	t.Helper()
	old := *v
	*v = with
	t.Cleanup(func() { *v = old })
}
