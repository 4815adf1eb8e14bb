package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// accountHome writes a config with accounts work (default) and home, and
// a secrets.toml holding both accounts' passwords.
func accountHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "cusax")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "version = 1\ndefault_account = \"work\"\n" +
		"[[account]]\nname = \"work\"\n[account.xmpp]\njid = \"alice@example.com\"\n[account.sip]\naor = \"sip:alice@example.com\"\n" +
		"[[account]]\nname = \"home\"\n[account.xmpp]\njid = \"al@home.example\"\n"
	sec := "version = 1\n[passwords]\n\"work/xmpp\" = \"w-x-secret\"\n\"work/sip\" = \"w-s-secret\"\n\"home/xmpp\" = \"h-x-secret\"\n"
	for name, content := range map[string]string{"config.toml": cfg, "secrets.toml": sec} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// No agent of this machine's user is asked.
	rt := filepath.Join(home, "run")
	if err := os.Mkdir(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", rt)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "state"))
	return home
}

// The account commands are in the tree: logout at the top (gh's `auth
// logout`), account with its subcommands; piped, remove needs --yes.
func TestAccountCommands(t *testing.T) {
	home := accountHome(t)
	if r := runCLI(t, home, "", "account", "list"); r.code != 0 || !strings.HasPrefix(r.stdout, "work\tyes\t") {
		t.Errorf("account list: %d %q", r.code, r.stdout)
	}
	r := runCLI(t, home, "", "logout", "work")
	if r.code != cmdutil.ExitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("logout without --yes, piped: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, home, "", "account", "frob"); r.code != cmdutil.ExitUsage {
		t.Errorf("account frob: %d", r.code)
	}
	r = runCLI(t, home, "", "logout", "work", "--yes")
	if r.code != 0 || !strings.Contains(r.stderr, "the default account is now home") {
		t.Errorf("logout work --yes: %d %q", r.code, r.stderr)
	}
	b, _ := os.ReadFile(filepath.Join(home, "cusax", "secrets.toml"))
	if strings.Contains(string(b), "work/") || !strings.Contains(string(b), "h-x-secret") {
		t.Errorf("secrets.toml after logout work:\n%s", b)
	}
}

// On a terminal (script(1) gives the real binary one) remove asks, and
// "y" removes.
func TestAccountRemoveAsksOnTerminal(t *testing.T) {
	home := accountHome(t)
	bin := cusaxBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, tty, typeText := onTerminal(t, ctx, bin+" --config "+home+"/cusax/config.toml account remove work", "CUSAX_SECRETS=file")
	waitFor(t, "the question", 20*time.Second, func() bool {
		return strings.Contains(tty.String(), "remove account work (alice@example.com, sip:alice@example.com) with its stored passwords? [y/N]")
	})
	typeText("y\r")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cusax account remove on a terminal: %v; terminal showed %q", err, tty.String())
	}
	if !strings.Contains(tty.String(), "removed account work") {
		t.Errorf("terminal showed %q", tty.String())
	}
	b, _ := os.ReadFile(filepath.Join(home, "cusax", "config.toml"))
	if strings.Contains(string(b), "alice@example.com") || !strings.Contains(string(b), "al@home.example") {
		t.Errorf("config after remove:\n%s", b)
	}
}
