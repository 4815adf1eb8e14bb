package status

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdStatus(f, nil) }

// twoAccounts is the standard "home" (default) and "work", a provisioned
// chat-only account whose document asks for a refresh every 24 h and was
// fetched two days ago.
func twoAccounts() *config.Config {
	c := cmdtest.Standard()
	c.Default = "home"
	c.Accounts[0].XMPP.Server = "xmpp.example.com:5222"
	c.Accounts = append(c.Accounts, config.Account{
		Name: "work", XMPP: &config.XMPPAspect{JID: cmdtest.BobJID},
		Provisioning: &config.Provisioning{URL: "https://p.example/bob.json", Auth: "basic", Username: "bob",
			RefreshAfter: "24h", Fetched: time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)},
	})
	return c
}

func passwords() map[string]string {
	p := cmdtest.StandardPasswords()
	p["work/xmpp"] = cmdtest.BobPassword
	return p
}

func TestStatusHuman(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), passwords(), nil)
	t.Run("piped: TSV", func(t *testing.T) {
		r := e.Run(newCmd)
		if r.Err != nil {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		// The columns of --check too, empty (issue 19: stable columns).
		none := strings.Repeat("\t", 12)
		want := "home\tyes\tyes\talice@example.com via xmpp.example.com:5222\tsip:alice@example.com\tchat=xmpp telephony=sip" + none + "\n" +
			"work\tno\tno\tbob@example.com\t-\tchat=xmpp telephony=-" + none + "\n"
		if r.Stdout != want {
			t.Errorf("stdout\n%q\nwant\n%q", r.Stdout, want)
		}
		// Refresh due: a note naming the command (docs/provisioning.md).
		if !strings.Contains(r.Stderr, "cusax: note: account work: the provider's document was fetched 48h0m0s ago") ||
			!strings.Contains(r.Stderr, "cusax login --refresh --name work") {
			t.Errorf("stderr: %s", r.Stderr)
		}
		if len(e.Source.Started()) != 0 {
			t.Errorf("status without --check started %q", e.Source.Started())
		}
	})
	t.Run("terminal: table", func(t *testing.T) {
		e.IO.SetTTY(false, true, false)
		defer e.IO.SetTTY(false, false, false)
		r := e.Run(newCmd, "home")
		if r.Err != nil {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		if !strings.HasPrefix(r.Stdout, "ACCOUNT") || !strings.Contains(r.Stdout, "TELEPHONY (SIP)") || strings.Contains(r.Stdout, "work") {
			t.Errorf("stdout:\n%s", r.Stdout)
		}
	})
}

func TestStatusJSON(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), passwords(), nil)
	r := e.Run(newCmd, "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	var got []AccountJSON
	if err := cmdtest.UnmarshalList(r.Stdout, "accounts", &got); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if len(got) != 2 || got[0].Name != "home" || !got[0].Default || !got[0].Related || got[0].Checked || got[0].OK != nil || got[0].RefreshDue {
		t.Errorf("home: %s", r.Stdout)
	}
	if got[1].Name != "work" || got[1].SIP != nil || !got[1].RefreshDue || got[1].Provisioning == nil || got[1].Provisioning.URL != "https://p.example/bob.json" {
		t.Errorf("work: %s", r.Stdout)
	}
	for _, secret := range []string{cmdtest.AlicePassword, cmdtest.AliceSIPPass, cmdtest.BobPassword} {
		if strings.Contains(r.Stdout+r.Stderr, secret) {
			t.Error("a password is in the output")
		}
	}
}

func TestStatusCheck(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), passwords(), nil)
	r := e.Run(newCmd, "--check", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	var got []AccountJSON
	if err := cmdtest.UnmarshalList(r.Stdout, "accounts", &got); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	for _, a := range got {
		if !a.Checked || a.OK == nil || !*a.OK || a.Chat == nil || a.Chat.State == "" || a.Error != "" {
			t.Errorf("%s: %+v", a.Name, a)
		}
	}
	if got[0].Telephony == nil || got[0].Telephony.Report == nil || got[0].Telephony.Report.State != "registered" {
		t.Errorf("home telephony: %s", r.Stdout)
	}
	if e.Service.Open() != 0 {
		t.Errorf("%d sessions left open", e.Service.Open())
	}

	// Piped: the columns of plain status, then each aspect's live state.
	r = e.Run(newCmd, "--check", "--header", "home")
	if r.Err != nil {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] != strings.Join(tsvColumns, "\t") {
		t.Fatalf("stdout:\n%s", r.Stdout)
	}
	cells := strings.Split(lines[1], "\t")
	if len(cells) != len(tsvColumns) || cells[0] != "home" || cells[6] != "connected" || cells[10] != "SCRAM-SHA-256" ||
		cells[12] != "registered" || cells[16] != "digest SHA-256" {
		t.Errorf("cells %q", cells)
	}
	plain := e.Run(newCmd, "--header", "home")
	if first := strings.SplitN(plain.Stdout, "\n", 2)[0]; first != lines[0] {
		t.Errorf("header without --check %q, with %q", first, lines[0])
	}
	if got := strings.Split(strings.SplitN(plain.Stdout, "\n", 3)[1], "\t"); strings.Join(got[:6], "\t") != strings.Join(cells[:6], "\t") {
		t.Errorf("the first columns differ: %q and %q", got[:6], cells[:6])
	}

	// Terminal: one row per aspect.
	e.IO.SetTTY(false, true, false)
	defer e.IO.SetTTY(false, false, false)
	r = e.Run(newCmd, "--check", "home")
	if r.Err != nil {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	lines = strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "home  ") || !strings.Contains(lines[1], "Telephony") || !strings.Contains(lines[2], "Chat") {
		t.Errorf("stdout:\n%s", r.Stdout)
	}
}

// An account whose login fails: its row says why, the others are still
// checked and shown, and the exit code is the first failure's.
func TestStatusCheckFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*cmdtest.Env)
		pws    map[string]string
		code   int
		target error
	}{
		{name: "wrong password", pws: map[string]string{"home/xmpp": "wrong", "home/sip": cmdtest.AliceSIPPass, "work/xmpp": cmdtest.BobPassword},
			code: cmdutil.ExitAuth, target: protocol.ErrAuth},
		{name: "unreachable", setup: func(e *cmdtest.Env) { e.Service.FailConnect(cmdtest.AliceAOR, protocol.ErrUnreachable) },
			code: cmdutil.ExitNetwork, target: protocol.ErrUnreachable},
		{name: "certificate", setup: func(e *cmdtest.Env) { e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrCertificate) },
			code: cmdutil.ExitTLS, target: protocol.ErrCertificate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pws := tc.pws
			if pws == nil {
				pws = passwords()
			}
			e := cmdtest.New(t, twoAccounts(), pws, nil)
			if tc.setup != nil {
				tc.setup(e)
			}
			r := e.Run(newCmd, "--check", "--json")
			if r.Code != tc.code || !errors.Is(r.Err, tc.target) {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, tc.code)
			}
			if !strings.HasPrefix(r.Err.Error(), "account home: ") {
				t.Errorf("error %q does not name the account", r.Err)
			}
			var got []AccountJSON
			if err := cmdtest.UnmarshalList(r.Stdout, "accounts", &got); err != nil {
				t.Fatalf("%v\n%s", err, r.Stdout)
			}
			if len(got) != 2 || got[0].OK == nil || *got[0].OK || got[0].Error == "" || got[1].OK == nil || !*got[1].OK {
				t.Errorf("stdout %s", r.Stdout)
			}
			if strings.Contains(r.Stdout+r.Stderr+r.Err.Error(), "wrong") {
				t.Error("the password is in the output")
			}
		})
	}
	t.Run("backend missing", func(t *testing.T) {
		e := cmdtest.New(t, twoAccounts(), passwords(), nil)
		delete(e.Source.Telephony, "sip")
		r := e.Run(newCmd, "--check")
		if r.Code != cmdutil.ExitPlugin {
			t.Fatalf("exit %d (%v)", r.Code, r.Err)
		}
		if !strings.Contains(r.Stdout, "chat=xmpp telephony=sip\tfailed\t\t\t\t\taccount home: telephony plugin \"sip\": plugin not found\tfailed") ||
			!strings.Contains(r.Stdout, "chat=xmpp telephony=-\tconnected\t") {
			t.Errorf("stdout:\n%s", r.Stdout)
		}
	})
}

func TestStatusUsage(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), passwords(), nil)
	r := e.Run(newCmd, "nosuch")
	if r.Code != cmdutil.ExitUsage || strings.Contains(r.Err.Error(), "\n") {
		t.Errorf("unknown account: exit %d (%v)", r.Code, r.Err)
	}
	r = e.Run(newCmd, "--check=maybe")
	if r.Err == nil {
		t.Error("--check=maybe accepted")
	}
}

func TestStatusNoAccounts(t *testing.T) {
	e := cmdtest.New(t, nil, nil, nil)
	r := e.Run(newCmd)
	if r.Err != nil || r.Stdout != "" || !strings.Contains(r.Stderr, "no accounts configured; add one with 'cusax login'") {
		t.Errorf("exit %d (%v) stdout %q stderr %q", r.Code, r.Err, r.Stdout, r.Stderr)
	}
	r = e.Run(newCmd, "--json")
	if r.Err != nil || strings.TrimSpace(r.Stdout) != "{\n  \"schema\": \"cusax.status/v1\",\n  \"accounts\": []\n}" {
		t.Errorf("--json: %v %q", r.Err, r.Stdout)
	}
}

// A password_command may embed a secret: status says only that one is
// set, in text and JSON, with and without --check (which runs it, and
// whose login then fails on the password it printed).
func TestStatusNeverPrintsPasswordCommand(t *testing.T) {
	const secret = "hunter2-SECRET"
	c := twoAccounts()
	c.Accounts[0].XMPP.PasswordCommand = "echo " + secret
	c.Accounts[0].SIP.PasswordCommand = "echo " + secret
	c.Accounts[1].Provisioning.PasswordCommand = "echo " + secret
	e := cmdtest.New(t, c, passwords(), nil)
	for _, args := range [][]string{{}, {"--json"}, {"--jq", "."}, {"--check"}, {"--check", "--json"}, {"home", "--check", "--jq", ".accounts[].chat"}} {
		r := e.Run(newCmd, args...)
		errText := ""
		if r.Err != nil {
			errText = r.Err.Error()
		}
		if strings.Contains(r.Stdout+r.Stderr+errText, secret) {
			t.Errorf("status %q printed the password command (or its password):\nstdout: %s\nstderr: %s\nerror: %s", args, r.Stdout, r.Stderr, errText)
		}
		if strings.Contains(r.Stdout, `"password_command":`) {
			t.Errorf("status %q: a password_command key: %s", args, r.Stdout)
		}
	}
	r := e.Run(newCmd, "--json")
	jsoncheck.Validate(t, r.Stdout)
	for _, q := range []string{".accounts[0].chat.settings.password_command_set", ".accounts[0].telephony.settings.password_command_set", ".accounts[1].provisioning.password_command_set"} {
		if r := e.Run(newCmd, "--jq", q); r.Stdout != "true\n" {
			t.Errorf("%s: %q (%v)", q, r.Stdout, r.Err)
		}
	}
	// Without a command the key is left out, as any unset setting.
	if r := e.Run(newCmd, "--jq", ".accounts[1].chat.settings | has(\"password_command_set\")"); r.Stdout != "false\n" {
		t.Errorf("work chat: %q", r.Stdout)
	}
}

// "default" means what it means in `account list`: the account a command
// uses without --account, which is also the only account when
// default_account is not set.
func TestStatusDefaultIsTheEffectiveOne(t *testing.T) {
	c := twoAccounts()
	c.Default = ""
	c.Accounts = c.Accounts[:1]
	e := cmdtest.New(t, c, passwords(), nil)
	if r := e.Run(newCmd, "--jq", ".accounts[0].default"); r.Err != nil || r.Stdout != "true\n" {
		t.Errorf("the only account: default %q (%v)", r.Stdout, r.Err)
	}
	e = cmdtest.New(t, func() *config.Config { c := twoAccounts(); c.Default = ""; return c }(), passwords(), nil)
	if r := e.Run(newCmd, "--jq", "[.accounts[].default] | any"); r.Err != nil || r.Stdout != "false\n" {
		t.Errorf("two accounts, no default_account: %q (%v)", r.Stdout, r.Err)
	}
}
