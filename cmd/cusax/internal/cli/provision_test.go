package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmd/login"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/status"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/config"
)

func startPortal(t *testing.T, bed *testbed.Bed) *testbed.Portal {
	t.Helper()
	p, err := bed.StartPortal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func provisionArgs(bed *testbed.Bed, url string, extra ...string) []string {
	return append([]string{"login", "--provision", url, "--user", "alice", "--password-stdin", "--ca-file", bed.CAFile, "--json"}, extra...)
}

func loadConfig(t *testing.T, home string) *config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join(home, "cusax", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A provider's document sets up both aspects from a user ID and a
// password: the account works (status --check), its settings are the
// document's, the provisioning password is kept for --refresh, and a
// refresh reports exactly what the provider changed.
func TestLoginProvision(t *testing.T) {
	bed := testbed.Shared(t)
	portal := startPortal(t, bed)
	home := t.TempDir()
	alice := bed.Users["alice"]

	r := runCLI(t, home, alice.Password+"\n", provisionArgs(bed, portal.DocumentURL())...)
	if r.code != 0 {
		t.Fatalf("login --provision: exit %d\n%s", r.code, r.stderr)
	}
	res := decodeLogin(t, r)
	if !res.OK || !res.Saved || res.Account != "alice-provisioned" || !res.Related || res.Provisioning == nil ||
		res.Provisioning.URL != portal.DocumentURL() || res.Provisioning.User != "alice" || len(res.Provisioning.SHA256) != 64 {
		t.Fatalf("result: %+v %+v", res, res.Provisioning)
	}
	if res.Telephony.Report == nil || res.Telephony.Report.Transport != "tls" || res.Chat.Report == nil || !res.Chat.Report.Encrypted {
		t.Errorf("both aspects should be protected: %+v %+v", res.Telephony.Report, res.Chat.Report)
	}
	cfg := loadConfig(t, home)
	a, err := cfg.Account("alice-provisioned")
	if err != nil {
		t.Fatal(err)
	}
	if a.XMPP == nil || a.XMPP.JID != bed.JID("alice") || a.XMPP.Server != bed.XMPPAddr || a.SIP == nil ||
		a.SIP.AOR != "sip:alice@"+bed.Domain || a.SIP.Proxy != tlsProxy(bed) || !a.Related || a.CAFile != bed.CAFile {
		t.Errorf("account: %+v xmpp %+v sip %+v", a, a.XMPP, a.SIP)
	}
	if a.Features.CallsOverXMPPEnabled(true) || a.Features.IMOverSIPEnabled(true) || !a.Features.AdvertiseIMPPEnabled() {
		t.Errorf("features: %+v", a.Features)
	}
	if a.Provisioning == nil || a.Provisioning.URL != portal.DocumentURL() || a.Provisioning.Username != "alice" {
		t.Errorf("provisioning record: %+v", a.Provisioning)
	}
	if !contains(cfg.Calls.CostAllow, "sip:*@"+bed.Domain) {
		t.Errorf("cost gate: %+v", cfg.Calls)
	}
	raw, _ := os.ReadFile(filepath.Join(home, "cusax", "config.toml"))
	if bytes.Contains(raw, []byte(alice.Password)) {
		t.Fatal("the config holds the password")
	}
	checkPerm(t, filepath.Join(home, "cusax", "secrets.toml"), 0o600)

	st := runCLI(t, home, "", "status", "--check", "--json")
	if st.code != 0 {
		t.Fatalf("status --check after provisioning: exit %d\n%s", st.code, st.stderr)
	}
	var rows []status.AccountJSON
	if err := cmdtest.UnmarshalList(st.stdout, "accounts", &rows); err != nil || len(rows) != 1 || rows[0].OK == nil || !*rows[0].OK {
		t.Fatalf("status --check: %v %s", err, st.stdout)
	}

	// Nothing changed at the provider: no login, no change, exit 0.
	before, _ := os.ReadFile(filepath.Join(home, "cusax", "config.toml"))
	r = runCLI(t, home, "", "login", "--refresh", "--json")
	if r.code != 0 {
		t.Fatalf("refresh: exit %d\n%s", r.code, r.stderr)
	}
	var up login.Result
	if err := json.Unmarshal([]byte(r.stdout), &up); err != nil || up.Provisioning == nil || len(up.Provisioning.Changes) != 0 || up.Saved {
		t.Fatalf("unchanged refresh: %v %s", err, r.stdout)
	}
	after := loadConfig(t, home)
	if a2, _ := after.Account("alice-provisioned"); a2.SIP.Proxy != a.SIP.Proxy {
		t.Fatalf("an unchanged refresh changed the account")
	}
	_ = before

	// The provider moves chat to direct TLS and stops Call-Info.
	portal.Edit("alice", func(doc map[string]any) {
		doc["xmpp"].(map[string]any)["server"] = bed.XMPPDirectTLSAddr
		doc["xmpp"].(map[string]any)["direct_tls"] = true
		doc["features"].(map[string]any)["call_info"] = false
	})
	r = runCLI(t, home, "", "login", "--refresh", "--json")
	if r.code != 0 {
		t.Fatalf("refresh after a change: exit %d\n%s", r.code, r.stderr)
	}
	ch := decodeLogin(t, r)
	got := map[string]bool{}
	for _, c := range ch.Provisioning.Changes {
		got[c.Field] = true
	}
	if !ch.Saved || len(ch.Provisioning.Changes) != 3 || !got["xmpp.server"] || !got["xmpp.direct_tls"] {
		t.Fatalf("changes: saved=%v %+v", ch.Saved, ch.Provisioning.Changes)
	}
	a3, _ := loadConfig(t, home).Account("alice-provisioned")
	if !a3.XMPP.DirectTLS || a3.XMPP.Server != bed.XMPPDirectTLSAddr || a3.Features.AdvertiseIMPPEnabled() {
		t.Errorf("refreshed account: %+v %+v", a3.XMPP, a3.Features)
	}
	if st := runCLI(t, home, "", "status", "--check"); st.code != 0 {
		t.Fatalf("status --check after refresh: exit %d\n%s", st.code, st.stderr)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Every bad document is refused with an error naming what is wrong, and
// the config and secrets the user had are left exactly as they were.
func TestLoginProvisionRefusesBadDocuments(t *testing.T) {
	bed := testbed.Shared(t)
	portal := startPortal(t, bed)
	home := t.TempDir()
	alice := bed.Users["alice"]
	if r := runCLI(t, home, alice.Password+"\n", loginArgs(bed, "alice", tlsProxy(bed))...); r.code != 0 {
		t.Fatalf("setup login: %d %s", r.code, r.stderr)
	}
	cfgFile, secFile := filepath.Join(home, "cusax", "config.toml"), filepath.Join(home, "cusax", "secrets.toml")
	cfgBefore, _ := os.ReadFile(cfgFile)
	secBefore, _ := os.ReadFile(secFile)

	good, _ := portal.Document("alice")
	doc := func(edit func(map[string]any)) []byte {
		b, _ := json.Marshal(good)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		edit(m)
		out, _ := json.Marshal(m)
		return out
	}
	huge := append([]byte(`{"version":1,"provider":"`), bytes.Repeat([]byte("x"), 100<<10)...)
	huge = append(huge, `"}`...)
	cases := []struct {
		name, path, ctype string
		body              []byte
		code              int
		want              []string
	}{
		{"malformed", "/bad/malformed.json", "application/json", []byte(`{"version": 1, "xmpp": {"jid": "alice@example.test",}`), cmdutil.ExitFailure, []string{"JSON"}},
		{"incomplete", "/bad/incomplete.json", "application/json", []byte(`{"version": 1}`), cmdutil.ExitFailure, []string{"xmpp", "sip"}},
		{"bad field", "/bad/transport.json", "application/json", doc(func(m map[string]any) {
			m["sip"].(map[string]any)["proxy"] = "sip:" + bed.SIPTLSAddr + ";transport=sctp"
		}), cmdutil.ExitFailure, []string{"sip.proxy", "sctp"}},
		{"two bad fields", "/bad/two.json", "application/json", doc(func(m map[string]any) {
			m["xmpp"].(map[string]any)["jid"] = "no-localpart"
			m["features"].(map[string]any)["call_info"] = "yes"
		}), cmdutil.ExitFailure, []string{"xmpp.jid", "features.call_info"}},
		{"unknown field", "/bad/unknown.json", "application/json", doc(func(m map[string]any) { m["ca_certificates"] = "-----BEGIN" }), cmdutil.ExitFailure, []string{"ca_certificates"}},
		{"newer version", "/bad/v2.json", "application/json", doc(func(m map[string]any) { m["version"] = 2 }), cmdutil.ExitFailure, []string{"version 2"}},
		{"password inside", "/bad/password.json", "application/json", doc(func(m map[string]any) {
			m["sip"].(map[string]any)["password"] = "hunter2hunter2"
		}), cmdutil.ExitFailure, []string{"sip.password"}},
		{"over-large", "/bad/huge.json", "application/json", huge, cmdutil.ExitFailure, []string{"65,536"}},
		{"html", "/bad/portal.html", "text/html", []byte("<html>log in</html>"), 0, []string{"HTML"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := portal.Serve(c.path, 200, c.ctype, c.body)
			r := runCLI(t, home, alice.Password+"\n", provisionArgs(bed, u, "--name", "lab")...)
			if r.code == 0 || (c.code != 0 && r.code != c.code) {
				t.Errorf("exit %d, want %d", r.code, c.code)
			}
			msg := oneLineError(t, r)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(r.stderr, alice.Password) || strings.Contains(r.stdout, alice.Password) {
				t.Error("the password was printed")
			}
		})
	}

	t.Run("plain HTTP", func(t *testing.T) {
		n := len(portal.Requests())
		r := runCLI(t, home, alice.Password+"\n", provisionArgs(bed, portal.PlainURL+testbed.DocumentPath, "--name", "lab")...)
		if r.code != cmdutil.ExitTLS || !strings.Contains(oneLineError(t, r), "refusing plain-HTTP provisioning URL") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
		if len(portal.Requests()) != n {
			t.Error("cusax connected to the plain-HTTP URL")
		}
	})
	t.Run("account set up by hand", func(t *testing.T) {
		r := runCLI(t, home, alice.Password+"\n", provisionArgs(bed, portal.DocumentURL(), "--name", "lab")...)
		if r.code != cmdutil.ExitUsage || !strings.Contains(oneLineError(t, r), "set up by hand") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		r := runCLI(t, home, "wrong\n", provisionArgs(bed, portal.DocumentURL(), "--name", "lab")...)
		if r.code != cmdutil.ExitAuth {
			t.Errorf("exit %d, want %d", r.code, cmdutil.ExitAuth)
		}
	})
	t.Run("untrusted CA", func(t *testing.T) {
		r := runCLI(t, home, alice.Password+"\n", "login", "--provision", portal.DocumentURL(), "--user", "alice", "--password-stdin", "--name", "lab", "--ca-file", bed.OtherCAFile)
		if r.code != cmdutil.ExitTLS || !strings.Contains(r.stderr, "--ca-file") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
	})

	if after, _ := os.ReadFile(cfgFile); !bytes.Equal(after, cfgBefore) {
		t.Errorf("the config changed:\n%s\n---\n%s", cfgBefore, after)
	}
	if after, _ := os.ReadFile(secFile); !bytes.Equal(after, secBefore) {
		t.Error("the secrets file changed")
	}
}

// oneLineError returns the "cusax: error: …" line and checks there is
// exactly one.
func oneLineError(t *testing.T, r cliResult) string {
	t.Helper()
	if strings.HasPrefix(r.stderr, "{") { // --json: the error is a JSON object
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Error == "" || strings.Contains(e.Error, "\n") {
			t.Fatalf("want one JSON error: %v\n%s", err, r.stderr)
		}
		return e.Error
	}
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "cusax: error: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one error line, got %d:\n%s", len(lines), r.stderr)
	}
	return lines[0]
}

// WebFinger (RFC 7033) on the user's domain finds the document: the
// portal answers for example.test (its certificate names the domain), and
// the user ID defaults to the address.
func TestLoginDiscover(t *testing.T) {
	bed := testbed.Shared(t)
	portal := startPortal(t, bed)
	home := t.TempDir()
	alice := bed.Users["alice"]
	r := runCLI(t, home, alice.Password+"\n", "login", "--discover", bed.JID("alice"), "--webfinger-addr", portal.Addr,
		"--password-stdin", "--ca-file", bed.CAFile, "--json")
	if r.code != 0 {
		t.Fatalf("login --discover: exit %d\n%s", r.code, r.stderr)
	}
	res := decodeLogin(t, r)
	if !res.OK || !res.Saved || res.Provisioning == nil || res.Provisioning.URL != portal.DocumentURL() || res.Provisioning.User != bed.JID("alice") {
		t.Fatalf("result: %+v", res)
	}
	var sawWF, sawDoc bool
	for _, q := range portal.Requests() {
		switch {
		case q.Path == "/.well-known/webfinger" && strings.Contains(q.Query, "acct%3Aalice%40"+bed.Domain):
			sawWF = q.TLS
		case q.Path == testbed.DocumentPath && q.User == "alice":
			sawDoc = q.TLS
		}
	}
	if !sawWF || !sawDoc {
		t.Errorf("portal requests: %+v", portal.Requests())
	}

	// An address the provider does not know: a clear not-found.
	r = runCLI(t, home, alice.Password+"\n", "login", "--discover", "nobody@"+bed.Domain, "--webfinger-addr", portal.Addr,
		"--password-stdin", "--ca-file", bed.CAFile, "--name", "x")
	if r.code == 0 || !strings.Contains(oneLineError(t, r), "nobody@"+bed.Domain) {
		t.Errorf("unknown address: exit %d %s", r.code, r.stderr)
	}
}

// A bearer token (RFC 6750) fetches the document; --password-stdin then
// carries the account's password on the next line. A refresh uses the
// stored token. A public document (--auth none) needs only the password.
func TestLoginProvisionBearerAndPublic(t *testing.T) {
	bed := testbed.Shared(t)
	portal := startPortal(t, bed)
	home := t.TempDir()
	alice := bed.Users["alice"]
	portal.AddToken("activation-code-7f3a", "alice")

	r := runCLI(t, home, "activation-code-7f3a\n"+alice.Password+"\n", "login", "--provision", portal.DocumentURL(), "--auth", "bearer",
		"--password-stdin", "--ca-file", bed.CAFile, "--name", "tok", "--json")
	if r.code != 0 {
		t.Fatalf("bearer: exit %d\n%s", r.code, r.stderr)
	}
	if res := decodeLogin(t, r); !res.Saved || res.Provisioning.Auth != "bearer" || res.Provisioning.User != "" {
		t.Fatalf("bearer result: %+v", res.Provisioning)
	}
	if r := runCLI(t, home, "", "login", "--refresh", "--name", "tok"); r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("refresh with the stored token: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Only the token on stdin: the account password is missing, said in one line.
	r = runCLI(t, home, "activation-code-7f3a\n", "login", "--provision", portal.DocumentURL(), "--auth", "bearer",
		"--password-stdin", "--ca-file", bed.CAFile, "--name", "tok2")
	if r.code != cmdutil.ExitUsage || !strings.Contains(oneLineError(t, r), "Chat aspect") {
		t.Errorf("token only: exit %d %s", r.code, r.stderr)
	}

	// A password command instead of a stored secret: kept for the aspects
	// and for the provisioning server, and run again by --refresh.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(alice.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, home, "", "login", "--provision", portal.DocumentURL(), "--user", "alice", "--password-command", "cat "+pwFile,
		"--ca-file", bed.CAFile, "--name", "cmd")
	if r.code != 0 {
		t.Fatalf("--password-command: exit %d\n%s", r.code, r.stderr)
	}
	a, _ := loadConfig(t, home).Account("cmd")
	if a.Provisioning.PasswordCommand != "cat "+pwFile || a.XMPP.PasswordCommand != "cat "+pwFile || a.SIP.PasswordCommand != "cat "+pwFile {
		t.Errorf("password commands: provisioning %q xmpp %q sip %q", a.Provisioning.PasswordCommand, a.XMPP.PasswordCommand, a.SIP.PasswordCommand)
	}
	portal.Edit("alice", func(doc map[string]any) { doc["features"].(map[string]any)["call_info"] = false })
	r = runCLI(t, home, "", "login", "--refresh", "--name", "cmd", "--json")
	portal.Edit("alice", nil)
	if r.code != 0 || len(decodeLogin(t, r).Provisioning.Changes) != 1 {
		t.Fatalf("refresh with the password command: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	doc, _ := portal.Document("alice")
	body, _ := json.Marshal(doc)
	u := portal.Serve("/public/alice.json", 200, "application/vnd.cusax.provisioning+json", body)
	r = runCLI(t, home, alice.Password+"\n", "login", "--provision", u, "--auth", "none", "--password-stdin", "--ca-file", bed.CAFile, "--name", "pub")
	if r.code != 0 {
		t.Fatalf("public document: exit %d\n%s", r.code, r.stderr)
	}
}
