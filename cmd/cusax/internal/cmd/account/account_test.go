package account

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/ownpresence"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/vcardcache"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
	"github.com/zalando/go-keyring"
)

// noAgent answers as when no agent runs. Every test sets AgentStatus:
// the machine's own agent (another test's) must not be asked.
func noAgent(context.Context) (*agentapi.StatusResponse, error) { return nil, agentapi.ErrNoAgent }

func withAgent(ask func(context.Context) (*agentapi.StatusResponse, error)) func(*cmdutil.Factory) *cobra.Command {
	return func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdAccount(f, func(o *Options) error { o.AgentStatus = ask; return Run(o) })
	}
}

var newCmd = withAgent(noAgent)

// twoAccounts: "work" (default, both aspects, provisioned) and "home"
// (XMPP only, password from a command).
func twoAccounts() *config.Config {
	return &config.Config{Default: "work", Accounts: []config.Account{
		{Name: "work", Related: true, XMPP: &config.XMPPAspect{JID: cmdtest.AliceJID, Server: "xmpp.example.com:5222"},
			SIP:          &config.SIPAspect{AOR: cmdtest.AliceAOR},
			Provisioning: &config.Provisioning{URL: "https://p.example/alice.json", Auth: "basic", Username: "alice"}},
		{Name: "home", XMPP: &config.XMPPAspect{JID: "al@home.example", PasswordCommand: "pass show home"}},
	}}
}

// Passwords of both accounts; "workshop" shares a prefix with "work" and
// is no account's (it must survive anything done to "work").
var allSecrets = map[secrets.Ref]string{
	{Account: "work", Aspect: "xmpp"}: "w-xmpp-secret", {Account: "work", Aspect: "sip"}: "w-sip-secret",
	{Account: "work", Aspect: "provisioning"}: "w-prov-secret",
	{Account: "home", Aspect: "xmpp"}:         "h-xmpp-secret", {Account: "workshop", Aspect: "sip"}: "ws-sip-secret",
}

func store(t *testing.T, s secrets.Store, refs map[secrets.Ref]string) {
	t.Helper()
	for ref, pw := range refs {
		if err := s.Set(context.Background(), ref, pw); err != nil {
			t.Fatal(err)
		}
	}
}

// useKeyring makes the Factory's store the OS keyring store on
// go-keyring's in-memory provider (the keyring code of package secrets
// runs as in production; only D-Bus/Keychain below it is replaced).
func useKeyring(e *cmdtest.Env) {
	keyring.MockInit()
	e.Factory.Secrets = func() (secrets.Store, string, error) { return secrets.Keyring(), "", nil }
}

// localFiles writes a vCard cache entry and a presence state for name,
// as roster and presence do.
func localFiles(t *testing.T, name string) {
	t.Helper()
	root, err := vcardcache.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if err := vcardcache.Open(root, name, time.Hour).Put("bob@example.com", vcardcache.Result{VCard: protocol.VCard{Text: "BEGIN:VCARD"}}); err != nil {
		t.Fatal(err)
	}
	if err := ownpresence.Save(ownpresence.Saved{Account: name, State: "away", Set: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func filesOf(t *testing.T, name string) []localFile {
	t.Helper()
	files, err := accountFiles(name)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

func TestList(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	r := e.Run(newCmd, "list")
	want := "work\tyes\talice@example.com\tsip:alice@example.com\tchat=xmpp telephony=sip\n" +
		"home\tno\tal@home.example\t-\tchat=xmpp telephony=-\n"
	if r.Err != nil || r.Stdout != want {
		t.Errorf("list: %v\n%q\nwant\n%q", r.Err, r.Stdout, want)
	}
	e.IO.SetTTY(false, true, false)
	r = e.Run(newCmd, "ls")
	e.IO.SetTTY(false, false, false)
	if lines := strings.Split(r.Stdout, "\n"); len(lines) < 3 || !strings.HasPrefix(lines[1], "*  work") || !strings.HasPrefix(lines[2], "   home") {
		t.Errorf("terminal list: default not marked:\n%s", r.Stdout)
	}
	r = e.Run(newCmd, "list", "--json")
	if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.account-list/v1" {
		t.Errorf("list --json: schema %v", names)
	}
	var got []ListJSON
	if err := cmdtest.UnmarshalList(r.Stdout, "accounts", &got); err != nil || len(got) != 2 {
		t.Fatalf("list --json: %v\n%s", err, r.Stdout)
	}
	if !got[0].Default || got[0].JID != cmdtest.AliceJID || got[0].AOR != cmdtest.AliceAOR || got[0].Backends.Telephony != "sip" ||
		got[0].Backends.Chat != "xmpp" || got[1].Default || got[1].AOR != "" || got[1].Backends.Telephony != "" {
		t.Errorf("list --json: %+v", got)
	}
	// --jq implies --json; a string comes out raw, one a line.
	if r := e.Run(newCmd, "list", "--jq", ".accounts[] | select(.default) | .name"); r.Err != nil || r.Stdout != "work\n" {
		t.Errorf("list --jq: %v %q", r.Err, r.Stdout)
	}
	if r := e.Run(newCmd, "list", "extra"); r.Code != cmdutil.ExitUsage {
		t.Errorf("list extra: exit %d", r.Code)
	}

	empty := cmdtest.New(t, nil, nil, nil)
	r = empty.Run(newCmd, "list", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil || !strings.Contains(r.Stdout, `"accounts": []`) {
		t.Errorf("list --json without accounts: %v %q", r.Err, r.Stdout)
	}
	if r := empty.Run(newCmd, "list"); r.Err != nil || r.Stdout != "" || !strings.Contains(r.Stderr, "no accounts configured") {
		t.Errorf("list without accounts: %v %q %q", r.Err, r.Stdout, r.Stderr)
	}
}

// show says where each password is kept, never what it is.
func TestShow(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	useKeyring(e)
	store(t, secrets.Keyring(), map[secrets.Ref]string{{Account: "work", Aspect: "xmpp"}: "w-xmpp-secret"})
	store(t, secrets.File(filepath.Join(e.Dir, secrets.FileName)), map[secrets.Ref]string{{Account: "work", Aspect: "sip"}: "w-sip-secret"})
	localFiles(t, "work")

	r := e.Run(newCmd, "show", "work", "--json")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.account-show/v1" {
		t.Errorf("show --json: schema %v", names)
	}
	var got ShowJSON
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	// Where each aspect's password is, under the aspect (chat, telephony,
	// provisioning), as every other command names them.
	if got.Chat == nil || got.Chat.Source != "keyring" || got.Chat.SecretsFile != "" ||
		got.Telephony == nil || got.Telephony.Source != "file" || got.Telephony.SecretsFile != filepath.Join(e.Dir, secrets.FileName) ||
		got.Provisioning == nil || got.Provisioning.Source != "none" {
		t.Errorf("password sources: %s", r.Stdout)
	}
	if !got.Default || got.Chat.Server != "xmpp.example.com:5222" || got.Provisioning.URL != "https://p.example/alice.json" {
		t.Errorf("show: %s", r.Stdout)
	}
	if r := e.Run(newCmd, "show", "work", "--jq", ".telephony.password_source"); r.Err != nil || r.Stdout != "file\n" {
		t.Errorf("show --jq: %v %q", r.Err, r.Stdout)
	}
	for _, fs := range got.Files {
		if !fs.Exists {
			t.Errorf("file %s not seen", fs.Path)
		}
	}

	r = e.Run(newCmd, "show", "home")
	if r.Err != nil || !strings.Contains(r.Stdout, "chat password:") || !strings.Contains(r.Stdout, "from password_command") ||
		strings.Contains(r.Stdout, "pass show home") || strings.Contains(r.Stdout, "telephony password") {
		t.Errorf("show home: %v\n%s", r.Err, r.Stdout)
	}
	r2 := e.Run(newCmd, "show", "work")
	if !strings.Contains(r2.Stdout, "telephony password:") || !strings.Contains(r2.Stdout, "in the OS keyring") {
		t.Errorf("show work:\n%s", r2.Stdout)
	}
	r3 := e.Run(newCmd, "show", "home", "--json")
	jsoncheck.Validate(t, r3.Stdout)
	if !strings.Contains(r3.Stdout, `"password_source": "password_command"`) || strings.Contains(r3.Stdout, "pass show home") ||
		strings.Contains(r3.Stdout, `"telephony"`) {
		t.Errorf("show home --json:\n%s", r3.Stdout)
	}
	for _, out := range []string{r.Stdout, r.Stderr, r2.Stdout, r2.Stderr, r3.Stdout, r3.Stderr} {
		for _, pw := range allSecrets {
			if strings.Contains(out, pw) {
				t.Errorf("show printed a password: %s", out)
			}
		}
	}
	if r := e.Run(newCmd, "show", "nosuch"); r.Code != cmdutil.ExitUsage {
		t.Errorf("show nosuch: exit %d %v", r.Code, r.Err)
	}
	if r := e.Run(newCmd, "show"); r.Code != cmdutil.ExitUsage {
		t.Errorf("show without a name: exit %d %v", r.Code, r.Err)
	}
}

func TestDefault(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	if r := e.Run(newCmd, "default"); r.Err != nil || r.Stdout != "work\n" {
		t.Errorf("default: %v %q", r.Err, r.Stdout)
	}
	r := e.Run(newCmd, "default", "home")
	if r.Err != nil || !strings.Contains(r.Stderr, "the default account is now home") || e.LoadConfig().Default != "home" {
		t.Errorf("default home: %v %q, config %q", r.Err, r.Stderr, e.LoadConfig().Default)
	}
	r = e.Run(newCmd, "default", "--json")
	if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.account-default/v1" {
		t.Errorf("default --json: schema %v", names)
	}
	if r.Err != nil || !strings.Contains(r.Stdout, `"default_account": "home"`) || !strings.Contains(r.Stdout, `"explicit": true`) {
		t.Errorf("default --json: %v %s", r.Err, r.Stdout)
	}
	// Setting it with --json prints the document, nothing on stderr.
	r = e.Run(newCmd, "default", "work", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil || !strings.Contains(r.Stdout, `"default_account": "work"`) || r.Stderr != "" {
		t.Errorf("default work --json: %v %s %s", r.Err, r.Stdout, r.Stderr)
	}
	if r := e.Run(newCmd, "default", "--jq", ".default_account"); r.Err != nil || r.Stdout != "work\n" {
		t.Errorf("default --jq: %v %q", r.Err, r.Stdout)
	}
	r = e.Run(newCmd, "default", "nosuch")
	if r.Code != cmdutil.ExitUsage || e.LoadConfig().Default != "work" {
		t.Errorf("default nosuch: exit %d, config %q", r.Code, e.LoadConfig().Default)
	}
	if r := e.Run(newCmd, "default", "a", "b"); r.Code != cmdutil.ExitUsage {
		t.Errorf("default a b: exit %d", r.Code)
	}

	// Several accounts and none the default: nothing printed, said why.
	c := twoAccounts()
	c.Default = ""
	e = cmdtest.New(t, c, nil, nil)
	if r := e.Run(newCmd, "default"); r.Err != nil || r.Stdout != "" || !strings.Contains(r.Stderr, "no default account") {
		t.Errorf("default with none: %v %q %q", r.Err, r.Stdout, r.Stderr)
	}
	r = e.Run(newCmd, "default", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil || !strings.Contains(r.Stdout, `"default_account": ""`) || !strings.Contains(r.Stdout, `"explicit": false`) {
		t.Errorf("default --json with none: %v %s", r.Err, r.Stdout)
	}
}

// The vCard cache directory accountFiles names is the one vcardcache
// writes to: if vcardcache ever changes its layout, remove would miss it.
func TestAccountFilesAreWhereTheyAreWritten(t *testing.T) {
	cmdtest.New(t, nil, nil, nil)
	localFiles(t, "w.o_r-k")
	for _, lf := range filesOf(t, "w.o_r-k") {
		if !exists(lf.Path) {
			t.Errorf("%s: nothing at %s", lf.What, lf.Path)
		}
	}
	for _, odd := range []string{"", ".", "..", "a/b", "../x", "a b", "x\x1b[2J"} {
		if files := filesOf(t, odd); len(files) != 0 {
			t.Errorf("accountFiles(%q) = %v; an invalid name has none", odd, files)
		}
	}
}

func TestAgentNoteNeverBlocks(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	slow := func(ctx context.Context) (*agentapi.StatusResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	o := &Options{F: e.Factory, AgentStatus: slow}
	start := time.Now()
	if o.agentKeeps("work") {
		t.Error("a silent agent counted as keeping the account")
	}
	if d := time.Since(start); d > agentAsk+time.Second {
		t.Errorf("took %v", d)
	}
}

// Account names complete from the config, without files; invalid names
// (a hand edit) are not offered.
func TestCompleteNames(t *testing.T) {
	c := twoAccounts()
	c.Accounts = append(c.Accounts, config.Account{Name: "wo rk"})
	e := cmdtest.New(t, c, nil, nil)
	complete := completeNames(e.Factory, 1)
	got, dir := complete(nil, nil, "wo")
	if len(got) != 1 || got[0] != "work" || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("complete wo = %v %v", got, dir)
	}
	if got, _ := complete(nil, nil, ""); len(got) != 2 {
		t.Errorf("complete \"\" = %v", got)
	}
	if got, _ := complete(nil, []string{"work"}, ""); len(got) != 0 {
		t.Errorf("second argument completed: %v", got)
	}
}
