package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// TestMalformedConfigExitsUsage: a config.toml the user broke by hand — a
// TOML syntax error, a value of the wrong type, an unknown key, a bad value
// — is a usage error (exit 2, as `cusax help exit-codes` says: "bad flag,
// argument or config value"), told in one line that names the file and,
// when known, the line.
func TestMalformedConfigExitsUsage(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"syntax error", "version = 1\n[[account]\nname = \"a\"\n", "line 2"},
		{"wrong type", "version = 1\n\n[[account]]\nname = 7\n", "line 4"},
		{"unknown key", "version = 1\ncolour = \"red\"\n", "line 2"},
		{"future version", "version = 99\n", "line 1"},
		{"bad account", "version = 1\n\n[[account]]\nname = \"w\"\n[account.sip]\naor = \"not a uri\"\n", "sip.aor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			path := filepath.Join(home, "cusax", "config.toml")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			cmds := [][]string{{"status"}, {"roster", "--json"}, {"call", "sip:bob@example.test", "--dry-run"}}
			if tc.name == "bad account" {
				cmds = cmds[1:] // status shows a broken account so it can be repaired
			}
			for _, args := range cmds {
				r := runCLI(t, home, "", args...)
				msg := strings.TrimSpace(r.stderr)
				if r.code != cmdutil.ExitUsage || strings.Contains(msg, "\n") && !strings.HasPrefix(args[len(args)-1], "--json") ||
					!strings.Contains(msg, tc.want) {
					t.Errorf("%s: exit %d (want %d), stderr %q (want one line with %q)", args, r.code, cmdutil.ExitUsage, msg, tc.want)
				}
			}
		})
	}
}
