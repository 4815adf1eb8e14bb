//go:build unix

package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmd/plugins"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
)

// nobody is "another local user" in the hostile cases (tests run as root
// in CI, which may chown files to it).
const nobody = 65534

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the tests as root: chown to another user needs it")
		}
		t.Skip("needs root to chown files to another user")
	}
}

// spyPlugin writes a wrapper named like the built-in XMPP backend: when run
// it records that it ran (where a hostile one would record the password)
// and then serves the real backend, so it would work unnoticed.
func spyPlugin(t *testing.T, dir, marker string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "cusax-plugin-impp-xmpp")
	script := "#!/bin/sh\necho ran >> '" + marker + "'\nexec '" + self + "' __plugin impp xmpp\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func mkdirMode(t *testing.T, p string, mode fs.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 13 item 7: a plugin another user owns or could have written is
// refused, never run, and does not replace the built-in.
func TestUntrustedPluginNeverRuns(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name string
		// setup returns the plugin dir and the path the refusal must name.
		setup  func(t *testing.T, base, marker string) (dir, bad string)
		reason string
	}{
		{name: "owned by another user", reason: "not owned by you", setup: func(t *testing.T, base, marker string) (string, string) {
			dir := mkdirMode(t, filepath.Join(base, "plugins"), 0o700)
			p := spyPlugin(t, dir, marker)
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			return dir, p
		}},
		{name: "in a sticky world-writable dir", reason: "a shared directory", setup: func(t *testing.T, base, marker string) (string, string) {
			dir := mkdirMode(t, filepath.Join(base, "shared"), fs.ModeSticky|0o777)
			spyPlugin(t, dir, marker)
			return dir, dir
		}},
		{name: "below a group-writable dir", reason: "writable by group", setup: func(t *testing.T, base, marker string) (string, string) {
			parent := mkdirMode(t, filepath.Join(base, "team"), 0o775)
			dir := mkdirMode(t, filepath.Join(parent, "plugins"), 0o755)
			spyPlugin(t, dir, marker)
			return dir, parent
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := mkdirMode(t, t.TempDir(), 0o700)
			marker := filepath.Join(base, "spy-ran")
			dir, bad := tt.setup(t, base, marker)
			home := t.TempDir()

			r := runCLI(t, home, "", "plugins", "--json", "--plugin-dir", dir)
			if r.code != 0 {
				t.Fatalf("plugins: exit %d", r.code)
			}
			var rows []plugins.Row
			if err := cmdtest.UnmarshalList(r.stdout, "plugins", &rows); err != nil {
				t.Fatalf("%v: %s", err, r.stdout)
			}
			var builtIn, refused *plugins.Row
			for i, row := range rows {
				if row.Kind == "impp" && row.Name == "xmpp" {
					if row.Source == "built-in" {
						builtIn = &rows[i]
					} else {
						refused = &rows[i]
					}
				}
			}
			if builtIn == nil || builtIn.Error != "" || len(builtIn.Capabilities) == 0 {
				t.Errorf("the built-in impp/xmpp is not listed as usable: %+v", rows)
			}
			if refused == nil || refused.Overrides || !strings.Contains(refused.Refused, bad+": ") || !strings.Contains(refused.Refused, tt.reason) {
				t.Errorf("the spy is not listed as refused naming %s and %q: %+v", bad, tt.reason, refused)
			}
			if strings.Count(r.stderr, "refused: "+bad+": "+tt.reason) != 1 {
				t.Errorf("not one warning naming %s: %q", bad, r.stderr)
			}

			// A login goes through the built-in (the server is unreachable:
			// exit 7, not the spy's doing) and never runs the spy.
			r = runCLI(t, home, "secret-pw\n", "--plugin-dir", dir, "login", "--name", "x", "--jid", "alice@example.test", "--xmpp-server", "127.0.0.1:1", "--password-stdin", "--timeout", "5s")
			if r.code != cmdutil.ExitNetwork {
				t.Errorf("login: exit %d, want %d (built-in, server unreachable)", r.code, cmdutil.ExitNetwork)
			}
			// Not silently replaced by the built-in either.
			if strings.Count(r.stderr, "cusax: warning: plugin ") != 1 || !strings.Contains(r.stderr, "refused: "+bad+": "+tt.reason) {
				t.Errorf("login: no warning naming %s: %q", bad, r.stderr)
			}
			if b, err := os.ReadFile(marker); err == nil {
				t.Fatalf("the refused plugin ran %d time(s)", strings.Count(string(b), "ran"))
			}
		})
	}
}

// A refused plugin with no built-in to fall back on stops the command
// with exit 6, naming the path and why, before anything connects.
func TestUntrustedPolicyPluginExit6(t *testing.T) {
	base := mkdirMode(t, t.TempDir(), 0o700)
	marker := filepath.Join(base, "spy-ran")
	dir := mkdirMode(t, filepath.Join(base, "open"), 0o777)
	p := filepath.Join(dir, "cusax-plugin-policy-spy")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho ran >> '"+marker+"'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, t.TempDir(), "secret-pw\n", "--plugin-dir", dir, "login", "--name", "x", "--jid", "alice@example.test",
		"--xmpp-server", "127.0.0.1:1", "--password-stdin", "--policy", "spy", "--timeout", "5s")
	if r.code != cmdutil.ExitPlugin {
		t.Errorf("exit %d, want %d", r.code, cmdutil.ExitPlugin)
	}
	if !strings.Contains(r.stderr, "cusax: error: ") || !strings.Contains(r.stderr, p+" is not run: "+dir+": writable by group and others") ||
		!strings.Contains(r.stderr, "cusax: hint: chmod go-w "+dir) {
		t.Errorf("stderr %q", r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the refused policy plugin ran")
	}
}
