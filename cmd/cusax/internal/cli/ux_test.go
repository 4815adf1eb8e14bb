package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// TestUnknownCommandSuggests: a mistyped command gets cobra's "did you
// mean" as a hint (it was dropped), still exit 2.
func TestUnknownCommandSuggests(t *testing.T) {
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"stauts"}, "cusax: hint: did you mean 'cusax status'?"},
		{[]string{"rooster"}, "cusax: hint: did you mean 'cusax roster'?"},
		{[]string{"roster", "shwo"}, "cusax: hint: did you mean 'cusax roster show'?"},
		{[]string{"frobnicate"}, ""},
	} {
		r := runCLI(t, t.TempDir(), "", tc.args...)
		if r.code != cmdutil.ExitUsage || !strings.HasPrefix(r.stderr, "cusax: error: unknown command") {
			t.Errorf("%q: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
		if tc.hint != "" && !strings.Contains(r.stderr, tc.hint+"\n") {
			t.Errorf("%q: stderr %q, want %q", tc.args, r.stderr, tc.hint)
		}
		if tc.hint == "" && strings.Contains(r.stderr, "did you mean") {
			t.Errorf("%q: stderr %q suggests something", tc.args, r.stderr)
		}
	}
}

// TestConfigErrorsExitUsageEverywhere: commands that used to let a broken
// config pass (plugins: exit 0, its [plugins] dirs silently dropped) or
// exit 1 (a secrets.toml that is not TOML) exit 2, as the exit-code table
// says of a bad config value; the secret's line is never shown.
func TestConfigErrorsExitUsageEverywhere(t *testing.T) {
	write := func(t *testing.T, home, name, text string) {
		t.Helper()
		path := filepath.Join(home, "cusax", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("broken config, plugins", func(t *testing.T) {
		home := t.TempDir()
		write(t, home, "config.toml", "version = 1\n[[account]\n")
		for _, args := range [][]string{{"plugins"}, {"plugins", "--json"}} {
			r := runCLI(t, home, "", args...)
			if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "line 2") {
				t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
			}
		}
	})
	t.Run("broken secrets file", func(t *testing.T) {
		home := t.TempDir()
		write(t, home, "config.toml", "version = 1\n\n[[account]]\nname = \"a\"\n[account.xmpp]\njid = \"a@example.test\"\nserver = \"127.0.0.1:1\"\n")
		write(t, home, "secrets.toml", "[passwords]\n\"a/xmpp\" = \"hunter2\n")
		r := runCLI(t, home, "", "roster")
		if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "secrets") || strings.Contains(r.stderr, "hunter2") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}
