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

// A password_command may embed a secret ("never print secrets"): no
// command prints it, nor the password it prints, on stdout or stderr —
// not the listings (status, account list/show, text and JSON), not the
// ones that run it and then fail to log in (status --check, login --name
// re-proving the account), not with --debug (plugin logs).
func TestAccountPasswordCommandNeverPrinted(t *testing.T) {
	const secret = "hunter2-SECRET"
	home := t.TempDir()
	dir := filepath.Join(home, "cusax")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Servers on a closed port: a login fails at once, after the
	// password command ran.
	cfg := "version = 1\ndefault_account = \"work\"\n" +
		"[[account]]\nname = \"work\"\nrelated = true\n" +
		"[account.xmpp]\njid = \"alice@example.com\"\nserver = \"127.0.0.1:1\"\npassword_command = \"echo " + secret + "\"\n" +
		"[account.sip]\naor = \"sip:alice@example.com\"\nproxy = \"sip:127.0.0.1:1;transport=tcp\"\npassword_command = \"echo " + secret + "\"\n" +
		"[account.provisioning]\nurl = \"https://127.0.0.1:1/alice.json\"\nauth = \"bearer\"\npassword_command = \"echo " + secret + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rt := filepath.Join(home, "run")
	if err := os.Mkdir(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", rt)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "state"))
	t.Setenv("CUSAX_NO_AGENT", "1")

	for _, args := range [][]string{
		{"status"}, {"status", "--json"}, {"status", "--jq", "."},
		{"account", "list"}, {"account", "list", "--json"},
		{"account", "show", "work"}, {"account", "show", "work", "--json"},
		{"status", "--check"}, {"status", "--check", "--json"}, {"--debug", "status", "--check", "--json"},
		{"login", "--name", "work", "--json", "--timeout", "5s"}, {"--debug", "login", "--name", "work", "--timeout", "5s"},
	} {
		r := runCLI(t, home, "", args...)
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("cusax %s printed the password command or its password (exit %d):\nstdout: %s\nstderr: %s",
				strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, `"password_command":`) {
			t.Errorf("cusax %s: a password_command key:\n%s", strings.Join(args, " "), r.stdout)
		}
	}
	// What they say instead: that one is set, and where the password is.
	if r := runCLI(t, home, "", "status", "--jq", ".accounts[0] | [.chat.settings.password_command_set, .telephony.settings.password_command_set, .provisioning.password_command_set] | all"); r.stdout != "true\n" {
		t.Errorf("status: password_command_set: %q", r.stdout)
	}
	if r := runCLI(t, home, "", "account", "show", "work", "--jq", "[.chat, .telephony, .provisioning] | map(.password_source) | join(\",\")"); r.stdout != "password_command,password_command,password_command\n" {
		t.Errorf("account show: password_source: %q", r.stdout)
	}
}
