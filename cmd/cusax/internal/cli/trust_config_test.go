//go:build unix

package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// trustConfig writes a config whose password_command leaves a marker when
// it runs: what a hostile writer of the file would put there.
func trustConfig(t *testing.T, home, marker string) string {
	t.Helper()
	dir := mkdirMode(t, filepath.Join(home, "cusax"), 0o700)
	p := filepath.Join(dir, "config.toml")
	cfg := `version = 1
default_account = "work"

[[account]]
name = "work"

[account.xmpp]
jid = "alice@example.test"
server = "127.0.0.1:1"
password_command = "echo ran >> '` + marker + `'; echo pw"
`
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 13 item 8: a config others could have written is refused before
// anything in it is used: its password_command never runs; exit 2 with a
// one-line error naming the path and a hint.
func TestUntrustedConfigRefused(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, cfg string) (bad string)
		reason   string
		hint     string
		needRoot bool
	}{
		{name: "config mode 0666", reason: "writable by group and others", hint: "chmod go-w ", setup: func(t *testing.T, cfg string) string {
			if err := os.Chmod(cfg, 0o666); err != nil {
				t.Fatal(err)
			}
			return cfg
		}},
		{name: "config owned by another user", needRoot: true, reason: "not owned by you", hint: "chown ", setup: func(t *testing.T, cfg string) string {
			if err := os.Chown(cfg, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return cfg
		}},
		{name: "config dir writable by others", reason: "writable by group and others", hint: "chmod go-w ", setup: func(t *testing.T, cfg string) string {
			dir := filepath.Dir(cfg)
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{name: "config dir sticky and shared", reason: "a shared directory", setup: func(t *testing.T, cfg string) string {
			dir := filepath.Dir(cfg)
			if err := os.Chmod(dir, fs.ModeSticky|0o777); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{name: "group-writable dir above", reason: "writable by group", hint: "chmod go-w ", setup: func(t *testing.T, cfg string) string {
			home := filepath.Dir(filepath.Dir(cfg))
			if err := os.Chmod(home, 0o770); err != nil {
				t.Fatal(err)
			}
			return home
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needRoot {
				needRoot(t)
			}
			home := mkdirMode(t, filepath.Join(t.TempDir(), "home"), 0o700)
			marker := filepath.Join(t.TempDir(), "password-command-ran")
			bad := tt.setup(t, trustConfig(t, home, marker))
			for _, args := range [][]string{{"status", "--check"}, {"chat", "bob@example.test", "hi"}} {
				r := runCLI(t, home, "", args...)
				if r.code != cmdutil.ExitUsage {
					t.Errorf("%s: exit %d, want %d", args[0], r.code, cmdutil.ExitUsage)
				}
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if !strings.HasPrefix(lines[0], "cusax: error: config ") || !strings.Contains(lines[0], "refused: "+bad+": "+tt.reason) {
					t.Errorf("%s: error does not name %s and %q: %q", args[0], bad, tt.reason, r.stderr)
				}
				if len(lines) < 2 || !strings.HasPrefix(lines[1], "cusax: hint: ") || !strings.Contains(lines[1], tt.hint) {
					t.Errorf("%s: no hint with %q: %q", args[0], tt.hint, r.stderr)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the refused config's password_command ran")
			}
		})
	}
}

// The secrets file is refused when it is reached through a directory that
// others can write (here: a symlink into one), not only when the file
// itself is open to others.
func TestUntrustedSecretsFileRefused(t *testing.T) {
	home := mkdirMode(t, filepath.Join(t.TempDir(), "home"), 0o700)
	marker := filepath.Join(t.TempDir(), "unused")
	cfg := trustConfig(t, home, marker)
	// No password_command: the password comes from secrets.toml.
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "password_command", "# password_command", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	open := mkdirMode(t, filepath.Join(t.TempDir(), "open"), 0o777)
	real := filepath.Join(open, "secrets.toml")
	if err := os.WriteFile(real, []byte("version = 1\n[passwords]\n\"work/xmpp\" = \"planted\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(filepath.Dir(cfg), "secrets.toml")); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, home, "", "status", "--check")
	if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "secrets file is not private: "+open+": writable by group and others") ||
		!strings.Contains(r.stderr, "cusax: hint: chmod go-w "+open) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
