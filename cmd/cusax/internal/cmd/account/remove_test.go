package account

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/spf13/cobra"
	"github.com/zalando/go-keyring"
)

// Issue 19 "must show": `account remove` leaves no secret behind, in the
// OS keyring (go-keyring's in-memory provider under the production
// keyring store) nor in secrets.toml, and removes the account's cache and
// state, and nothing of any other account.
func TestRemoveLeavesNoSecretBehind(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	useKeyring(e)
	secretsFile := filepath.Join(e.Dir, secrets.FileName)
	// Both stores hold every secret: the keyring in use, and secrets.toml
	// from a time the keyring was not available.
	store(t, secrets.Keyring(), allSecrets)
	store(t, secrets.File(secretsFile), allSecrets)
	localFiles(t, "work")
	localFiles(t, "home")
	localFiles(t, "workshop")

	r := e.Run(newCmd, "remove", "work", "--yes", "--json")
	if r.Err != nil {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}

	// No secret of work anywhere: not in the keyring ...
	for _, aspect := range secrets.Aspects {
		if v, err := keyring.Get(secrets.KeyringService, "work/"+aspect); !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("keyring still has work/%s (set: %v, %v)", aspect, v != "", err)
		}
	}
	// ... nor a line in secrets.toml.
	b, err := os.ReadFile(secretsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"'work/", `"work/`, "w-xmpp-secret", "w-sip-secret", "w-prov-secret"} {
		if strings.Contains(string(b), s) {
			t.Errorf("secrets.toml still holds %q:\n%s", s, b)
		}
	}
	// Everything of the other accounts stays, in both stores.
	for ref, want := range allSecrets {
		if ref.Account == "work" {
			continue
		}
		for _, s := range []secrets.Store{secrets.Keyring(), secrets.File(secretsFile)} {
			if got, err := s.Get(context.Background(), ref); err != nil || got != want {
				t.Errorf("%s in %s: %v (changed by removing work)", ref, s.Name(), err)
			}
		}
	}
	for _, lf := range filesOf(t, "work") {
		if exists(lf.Path) {
			t.Errorf("work's %s is left: %s", lf.What, lf.Path)
		}
	}
	for _, other := range []string{"home", "workshop"} {
		for _, lf := range filesOf(t, other) {
			if !exists(lf.Path) {
				t.Errorf("%s's %s was removed", other, lf.What)
			}
		}
	}
	if names := e.LoadConfig().Names(); !slices.Equal(names, []string{"home"}) {
		t.Errorf("accounts after remove: %v", names)
	}

	if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.account-remove/v1" {
		t.Errorf("remove --json: schema %v", names)
	}
	var got RemoveJSON
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if len(got.SecretsDeleted) != 6 || len(got.FilesRemoved) != 2 || !got.WasDefault || got.DefaultAccount != "home" {
		t.Errorf("remove --json: %s", r.Stdout)
	}
	// Each deleted secret is named by its aspect in the JSON vocabulary,
	// with the store it was in.
	seen := map[string]int{}
	for _, s := range got.SecretsDeleted {
		seen[s.Aspect+" "+s.Store]++
		if want := map[string]string{"chat": "work/xmpp", "telephony": "work/sip", "provisioning": "work/provisioning"}[s.Aspect]; s.Ref != want {
			t.Errorf("secret %+v: ref, want %q", s, want)
		}
		if (s.Store == "file") != (s.SecretsFile == secretsFile) {
			t.Errorf("secret %+v: secrets_file", s)
		}
	}
	for _, k := range []string{"chat keyring", "chat file", "telephony keyring", "telephony file", "provisioning keyring", "provisioning file"} {
		if seen[k] != 1 {
			t.Errorf("secrets_deleted: %q %d times: %s", k, seen[k], r.Stdout)
		}
	}
	// It was the default: the note says what the default is now.
	if !strings.Contains(r.Stderr, "the default account is now home") || !strings.Contains(r.Stderr, "removed account work") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	for _, pw := range allSecrets {
		if strings.Contains(r.Stdout+r.Stderr, pw) {
			t.Error("a password is in the output")
		}
	}

	// Again: the account is gone, a usage error.
	if r := e.Run(newCmd, "remove", "work", "--yes"); r.Code != cmdutil.ExitUsage {
		t.Errorf("second remove: exit %d %v", r.Code, r.Err)
	}
}

// Without a terminal, remove needs --yes: exit 2 and nothing is touched.
// On a terminal it asks; anything but y/yes keeps the account (exit 5).
func TestRemoveConfirmation(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), map[string]string{"work/xmpp": "w-xmpp-secret"}, nil)
	localFiles(t, "work")
	unchanged := func(what string) {
		t.Helper()
		if names := e.LoadConfig().Names(); len(names) != 2 {
			t.Errorf("%s: accounts %v", what, names)
		}
		if _, err := e.Store.Get(context.Background(), secrets.Ref{Account: "work", Aspect: "xmpp"}); err != nil {
			t.Errorf("%s: secret gone: %v", what, err)
		}
		for _, lf := range filesOf(t, "work") {
			if !exists(lf.Path) {
				t.Errorf("%s: %s gone", what, lf.What)
			}
		}
	}
	r := e.Run(newCmd, "remove", "work")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "--yes") || !slices.ContainsFunc(cmdutil.Hints(r.Err), func(h string) bool {
		return strings.Contains(h, "cusax account remove --yes work")
	}) {
		t.Errorf("remove without --yes, no terminal: exit %d %v %v", r.Code, r.Err, cmdutil.Hints(r.Err))
	}
	unchanged("no --yes")

	e.IO.SetTTY(true, false, true)
	defer e.IO.SetTTY(false, false, false)
	for _, answer := range []string{"n\n", "\n", "no\n", "yess\n", ""} {
		e.In.Reset()
		e.In.WriteString(answer)
		r = e.Run(newCmd, "remove", "work")
		if r.Code != cmdutil.ExitDenied && !(answer == "" && r.Code != 0) {
			t.Errorf("answer %q: exit %d %v", answer, r.Code, r.Err)
		}
		if answer != "" && !strings.Contains(r.Stderr, "remove account work (alice@example.com, sip:alice@example.com) with its stored passwords? [y/N]") {
			t.Errorf("prompt: %q", r.Stderr)
		}
	}
	unchanged("declined")

	e.In.Reset()
	e.In.WriteString("y\n")
	if r = e.Run(newCmd, "logout", "work"); r.Err != nil {
		t.Fatalf("answer y: %v", r.Err)
	}
	if names := e.LoadConfig().Names(); !slices.Equal(names, []string{"home"}) {
		t.Errorf("after y: %v", names)
	}
}

// `cusax logout NAME` is remove.
func TestLogoutCommand(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), map[string]string{"home/xmpp": "h"}, nil)
	logout := func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdLogout(f, func(o *Options) error { o.AgentStatus = noAgent; return Run(o) })
	}
	if r := e.Run(logout, "home"); r.Code != cmdutil.ExitUsage {
		t.Errorf("logout without --yes: exit %d", r.Code)
	}
	if r := e.Run(logout); r.Code != cmdutil.ExitUsage {
		t.Errorf("logout without a name: exit %d", r.Code)
	}
	r := e.Run(logout, "home", "-y")
	if r.Err != nil || !strings.Contains(r.Stderr, "removed account home with 1 stored password(s) (secrets.toml)") {
		t.Errorf("logout home -y: %v %s", r.Err, r.Stderr)
	}
	if _, err := e.Store.Get(context.Background(), secrets.Ref{Account: "home", Aspect: "xmpp"}); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("home/xmpp after logout: %v", err)
	}
	// logout --json is remove's document; --jq works on it.
	r = e.Run(logout, "work", "--yes", "--json")
	if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.account-remove/v1" {
		t.Errorf("logout --json: schema %v", names)
	}
	if r := e.Run(logout, "nosuch", "--yes", "--jq", ".account"); r.Code != cmdutil.ExitUsage || r.Stdout != "" {
		t.Errorf("logout nosuch --jq: exit %d %q", r.Code, r.Stdout)
	}
}

// Names a hand edit made invalid, or that look like flags or paths: remove
// takes out the config entry and touches no file or secret of another
// account (vcardcache would map "a/b" to "a_b", another valid name).
func TestRemoveOddNames(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{
		{Name: "a_b", XMPP: &config.XMPPAspect{JID: "ab@example.com"}},
		{Name: "a/b", XMPP: &config.XMPPAspect{JID: "slash@example.com"}},
		{Name: "../a_b", XMPP: &config.XMPPAspect{JID: "dots@example.com"}},
		{Name: "..", XMPP: &config.XMPPAspect{JID: "dotdot@example.com"}},
		{Name: "x\x1b[2J", XMPP: &config.XMPPAspect{JID: "esc@example.com"}},
		{Name: "-rf", XMPP: &config.XMPPAspect{JID: "rf@example.com"}},
	}}
	e := cmdtest.New(t, cfg, map[string]string{"a_b/xmpp": "ab-secret", "-rf/xmpp": "rf-secret"}, nil)
	localFiles(t, "a_b")
	localFiles(t, "-rf")
	for _, name := range []string{"a/b", "../a_b", "..", "x\x1b[2J"} {
		r := e.Run(newCmd, "remove", "--yes", "--", name)
		if r.Err != nil {
			t.Errorf("remove %q: %v", name, r.Err)
		}
		if strings.Contains(r.Stderr, "\x1b") {
			t.Errorf("remove %q: an escape reached the terminal: %q", name, r.Stderr)
		}
	}
	if got, err := e.Store.Get(context.Background(), secrets.Ref{Account: "a_b", Aspect: "xmpp"}); err != nil || got != "ab-secret" {
		t.Errorf("a_b's secret: %v", err)
	}
	for _, lf := range filesOf(t, "a_b") {
		if !exists(lf.Path) {
			t.Errorf("a_b's %s removed with an odd name", lf.What)
		}
	}
	// A valid name that looks like a flag, after --.
	if r := e.Run(newCmd, "remove", "--yes", "--", "-rf"); r.Err != nil {
		t.Fatalf("remove -- -rf: %v", r.Err)
	}
	if _, err := e.Store.Get(context.Background(), secrets.Ref{Account: "-rf", Aspect: "xmpp"}); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("-rf's secret: %v", err)
	}
	for _, lf := range filesOf(t, "-rf") {
		if exists(lf.Path) {
			t.Errorf("-rf's %s left", lf.What)
		}
	}
	if names := e.LoadConfig().Names(); !slices.Equal(names, []string{"a_b"}) {
		t.Errorf("accounts left: %q", names)
	}
}

// Symbolic links where the account's cache and state are: the links go,
// what they point to stays. secrets.toml linked to a file that is not a
// secrets file: the remove fails, the file is unchanged and the account is
// still configured.
func TestRemoveDoesNotFollowLinks(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	victims := t.TempDir()
	victimDir := filepath.Join(victims, "dir")
	if err := os.Mkdir(victimDir, 0o700); err != nil {
		t.Fatal(err)
	}
	victimFile := filepath.Join(victims, "file")
	keep := filepath.Join(victimDir, "keep")
	for _, p := range []string{victimFile, keep} {
		if err := os.WriteFile(p, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files := filesOf(t, "work")
	for _, lf := range files {
		if err := os.MkdirAll(filepath.Dir(lf.Path), 0o700); err != nil {
			t.Fatal(err)
		}
		target := victimFile
		if lf.What == "vcard_cache" {
			target = victimDir
		}
		if err := os.Symlink(target, lf.Path); err != nil {
			t.Fatal(err)
		}
	}
	// home's cache directory holds a link out of it.
	localFiles(t, "home")

	t.Run("cache and state links", func(t *testing.T) {
		r := e.Run(newCmd, "remove", "work", "--yes")
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		for _, lf := range files {
			if exists(lf.Path) {
				t.Errorf("%s link left", lf.What)
			}
		}
		for _, p := range []string{victimFile, keep} {
			if b, err := os.ReadFile(p); err != nil || string(b) != "keep me" {
				t.Errorf("%s behind a link was changed: %q %v", p, b, err)
			}
		}
	})

	t.Run("a link inside the cache directory", func(t *testing.T) {
		var cache string
		for _, lf := range filesOf(t, "home") {
			if lf.What == "vcard_cache" {
				cache = lf.Path
			}
		}
		if err := os.Symlink(victimDir, filepath.Join(cache, "out")); err != nil {
			t.Fatal(err)
		}
		if r := e.Run(newCmd, "remove", "home", "--yes"); r.Err != nil {
			t.Fatal(r.Err)
		}
		if exists(cache) {
			t.Error("home's cache left")
		}
		if b, err := os.ReadFile(keep); err != nil || string(b) != "keep me" {
			t.Errorf("a file behind a link in the cache was removed: %v", err)
		}
	})

	t.Run("secrets.toml linked to another file", func(t *testing.T) {
		e := cmdtest.New(t, twoAccounts(), nil, nil)
		notes := filepath.Join(t.TempDir(), "notes")
		const content = "work/xmpp = my own notes\n"
		if err := os.WriteFile(notes, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(notes, filepath.Join(e.Dir, secrets.FileName)); err != nil {
			t.Fatal(err)
		}
		localFiles(t, "work")
		r := e.Run(newCmd, "remove", "work", "--yes")
		if r.Err == nil {
			t.Fatal("remove through a linked non-secrets file succeeded")
		}
		if b, _ := os.ReadFile(notes); string(b) != content {
			t.Errorf("the linked file changed: %q", b)
		}
		if names := e.LoadConfig().Names(); len(names) != 2 {
			t.Errorf("the config entry went although the secrets were not deleted: %v", names)
		}
		for _, lf := range filesOf(t, "work") {
			if !exists(lf.Path) {
				t.Errorf("%s removed although the secrets were not", lf.What)
			}
		}
		if !slices.ContainsFunc(cmdutil.Hints(r.Err), func(h string) bool { return strings.Contains(h, "still configured") }) {
			t.Errorf("no retry hint: %v", cmdutil.Hints(r.Err))
		}
	})
}

// The order of operations: a secret that cannot be deleted keeps the
// config entry (and the files), so the same command finishes the job once
// the cause is gone.
func TestRemoveSecretFailureKeepsConfig(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	useKeyring(e)
	store(t, secrets.Keyring(), allSecrets)
	localFiles(t, "work")
	before, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}

	keyring.MockInitWithError(errors.New("dbus: the keyring is locked"))
	r := e.Run(newCmd, "remove", "work", "--yes")
	if r.Err == nil || !strings.Contains(r.Err.Error(), "the keyring is locked") {
		t.Fatalf("remove with a failing keyring: %v", r.Err)
	}
	if after, _ := os.ReadFile(e.ConfigPath); string(after) != string(before) {
		t.Errorf("config changed although the secrets were not deleted:\n%s", after)
	}
	for _, lf := range filesOf(t, "work") {
		if !exists(lf.Path) {
			t.Errorf("%s removed although the secrets were not", lf.What)
		}
	}

	// The keyring is back (the mock provider keeps nothing across
	// MockInit: the retry finds no secret and succeeds all the same).
	keyring.MockInit()
	store(t, secrets.Keyring(), allSecrets)
	if r := e.Run(newCmd, "remove", "work", "--yes"); r.Err != nil {
		t.Fatalf("retry: %v", r.Err)
	}
	if v, err := keyring.Get(secrets.KeyringService, "work/sip"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("retry left work/sip (%v)", v != "")
	}
	if names := e.LoadConfig().Names(); !slices.Equal(names, []string{"home"}) {
		t.Errorf("after retry: %v", names)
	}
}

// An agent that keeps the account connected: remove says it must be
// restarted.
func TestRemoveAgentNote(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	agent := func(context.Context) (*agentapi.StatusResponse, error) {
		return &agentapi.StatusResponse{Pid: 42, Accounts: []*agentapi.AccountStatus{{Name: "home"}, {Name: "work"}}}, nil
	}
	r := e.Run(withAgent(agent), "remove", "work", "--yes", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil || !strings.Contains(r.Stderr, "the running agent still keeps account work connected") ||
		!strings.Contains(r.Stderr, "cusax agent stop && cusax agent start") || !strings.Contains(r.Stdout, `"agent_restart_needed": true`) {
		t.Errorf("remove with an agent: %v\n%s\n%s", r.Err, r.Stdout, r.Stderr)
	}
	r = e.Run(newCmd, "remove", "home", "--yes")
	if r.Err != nil || strings.Contains(r.Stderr, "agent") {
		t.Errorf("remove without an agent: %v %s", r.Err, r.Stderr)
	}
	// The last account went: no "choose a default" note.
	if strings.Contains(r.Stderr, "default") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

// A secrets.toml that others can read is refused, never read (exit 2):
// the remove stops there and the account stays configured, its files
// too.
func TestRemoveRefusedSecretsFileKeepsConfig(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), map[string]string{"work/xmpp": "w"}, nil)
	localFiles(t, "work")
	p := filepath.Join(e.Dir, secrets.FileName)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.Run(newCmd, "remove", "work", "--yes")
	if r.Code != cmdutil.ExitUsage || !errors.Is(r.Err, secrets.ErrInsecureFile) {
		t.Fatalf("remove with a secrets.toml others can read: exit %d %v", r.Code, r.Err)
	}
	if names := e.LoadConfig().Names(); len(names) != 2 {
		t.Errorf("config entry went: %v", names)
	}
	for _, lf := range filesOf(t, "work") {
		if !exists(lf.Path) {
			t.Errorf("%s removed", lf.What)
		}
	}
	// Fixed as the error says: the same command finishes.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.Run(newCmd, "remove", "work", "--yes"); r.Err != nil {
		t.Fatalf("retry: %v", r.Err)
	}
}

// A password_command is never run by show or remove (it is the user's,
// and may prompt or cost a hardware-token touch).
func TestPasswordCommandNotRun(t *testing.T) {
	c := twoAccounts()
	marker := filepath.Join(t.TempDir(), "ran")
	c.Accounts[1].XMPP.PasswordCommand = "touch " + marker + "; echo pw"
	e := cmdtest.New(t, c, nil, nil)
	for _, args := range [][]string{{"show", "home"}, {"show", "home", "--json"}, {"list"}, {"remove", "home", "--yes"}} {
		if r := e.Run(newCmd, args...); r.Err != nil {
			t.Fatalf("%q: %v", args, r.Err)
		}
		if exists(marker) {
			t.Fatalf("%q ran the password command", args)
		}
	}
}

// Removing an account that was not the default can still change which
// account commands use: with no default_account, the only one left is.
func TestRemoveSaysTheNewImplicitDefault(t *testing.T) {
	c := twoAccounts()
	c.Default = ""
	e := cmdtest.New(t, c, nil, nil)
	r := e.Run(newCmd, "remove", "home", "--yes", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil || !strings.Contains(r.Stderr, "the default account is now work") ||
		!strings.Contains(r.Stdout, `"was_default": false`) || !strings.Contains(r.Stdout, `"default_account": "work"`) {
		t.Errorf("%v\n%s\n%s", r.Err, r.Stdout, r.Stderr)
	}
}
