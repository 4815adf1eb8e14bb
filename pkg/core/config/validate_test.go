package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validAccount() Account {
	return Account{
		Name:    "work",
		Related: true,
		XMPP:    &XMPPAspect{JID: "alice@example.test", Server: "xmpp.example.test:5222", Mechanisms: []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1"}},
		SIP:     &SIPAspect{AOR: "sip:alice@example.test", Proxy: "sip:127.0.0.1:5061;transport=tls"},
		Policy:  []string{"allowlist", "audit"},
	}
}

func TestAccountValidate(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		edit   func(a *Account)
		fields []string // "" = valid; else the field each error names
	}{
		{name: "valid", edit: func(*Account) {}},
		{name: "xmpp only", edit: func(a *Account) { a.SIP = nil; a.Related = false }},
		{name: "sip only", edit: func(a *Account) { a.XMPP = nil; a.Related = false }},
		{name: "sips aor", edit: func(a *Account) { a.SIP.AOR = "sips:alice@example.test" }},
		{name: "jid with resource", edit: func(a *Account) { a.XMPP.JID = "alice@example.test/laptop" }},
		{name: "ipv6 server", edit: func(a *Account) { a.XMPP.Server = "[::1]:5222" }},
		{name: "proxy udp", edit: func(a *Account) { a.SIP.Proxy = "sip:proxy.example.test;transport=UDP;lr" }},
		{name: "proxy no transport", edit: func(a *Account) { a.SIP.Proxy = "sips:proxy.example.test:5061" }},
		{name: "ipv6 proxy", edit: func(a *Account) { a.SIP.Proxy = "sip:[::1]:5060;transport=tcp" }},
		{name: "ca file", edit: func(a *Account) { a.CAFile = caFile }},
		{name: "backends", edit: func(a *Account) { a.XMPP.Backend = "xmpp"; a.SIP.Backend = "sip-alt" }},

		{name: "empty name", edit: func(a *Account) { a.Name = "" }, fields: []string{"name"}},
		{name: "name with slash", edit: func(a *Account) { a.Name = "a/b" }, fields: []string{"name"}},
		{name: "name dotdot", edit: func(a *Account) { a.Name = ".." }, fields: []string{"name"}},
		{name: "name too long", edit: func(a *Account) { a.Name = strings.Repeat("a", 65) }, fields: []string{"name"}},
		{name: "no aspect", edit: func(a *Account) { a.XMPP, a.SIP, a.Related = nil, nil, false },
			fields: []string{"needs an [account.xmpp]"}},
		{name: "related needs both", edit: func(a *Account) { a.SIP = nil }, fields: []string{"related"}},
		{name: "empty jid", edit: func(a *Account) { a.XMPP.JID = "" }, fields: []string{"xmpp.jid"}},
		{name: "jid without localpart", edit: func(a *Account) { a.XMPP.JID = "example.test" }, fields: []string{"xmpp.jid"}},
		{name: "bad jid", edit: func(a *Account) { a.XMPP.JID = "a@b@" }, fields: []string{"xmpp.jid"}},
		{name: "server no port", edit: func(a *Account) { a.XMPP.Server = "xmpp.example.test" }, fields: []string{"xmpp.server"}},
		{name: "server port 0", edit: func(a *Account) { a.XMPP.Server = "h:0" }, fields: []string{"xmpp.server"}},
		{name: "server port huge", edit: func(a *Account) { a.XMPP.Server = "h:65536" }, fields: []string{"xmpp.server"}},
		{name: "server bad host", edit: func(a *Account) { a.XMPP.Server = "a b:5222" }, fields: []string{"xmpp.server"}},
		{name: "lowercase mechanism", edit: func(a *Account) { a.XMPP.Mechanisms = []string{"plain"} },
			fields: []string{"xmpp.mechanisms[0]"}},
		{name: "duplicate mechanism", edit: func(a *Account) { a.XMPP.Mechanisms = []string{"PLAIN", "PLAIN"} },
			fields: []string{"xmpp.mechanisms"}},
		{name: "backend path", edit: func(a *Account) { a.XMPP.Backend = "../evil" }, fields: []string{"xmpp.backend"}},
		{name: "empty aor", edit: func(a *Account) { a.SIP.AOR = "" }, fields: []string{"sip.aor"}},
		{name: "aor tel", edit: func(a *Account) { a.SIP.AOR = "tel:+15551234" }, fields: []string{"sip.aor"}},
		{name: "aor no user", edit: func(a *Account) { a.SIP.AOR = "sip:example.test" }, fields: []string{"sip.aor"}},
		{name: "aor no scheme", edit: func(a *Account) { a.SIP.AOR = "alice@example.test" }, fields: []string{"sip.aor"}},
		{name: "aor bad port", edit: func(a *Account) { a.SIP.AOR = "sip:alice@example.test:x" }, fields: []string{"sip.aor"}},
		{name: "aor headers", edit: func(a *Account) { a.SIP.AOR = "sip:alice@example.test?Subject=x" }, fields: []string{"sip.aor"}},
		{name: "aor empty host", edit: func(a *Account) { a.SIP.AOR = "sip:alice@" }, fields: []string{"sip.aor"}},
		{name: "proxy bad transport", edit: func(a *Account) { a.SIP.Proxy = "sip:p.example.test;transport=sctp" },
			fields: []string{"sip.proxy"}},
		{name: "proxy sips udp", edit: func(a *Account) { a.SIP.Proxy = "sips:p.example.test;transport=udp" },
			fields: []string{"sip.proxy"}},
		{name: "proxy not sip", edit: func(a *Account) { a.SIP.Proxy = "127.0.0.1:5060" }, fields: []string{"sip.proxy"}},
		{name: "sip backend", edit: func(a *Account) { a.SIP.Backend = "a b" }, fields: []string{"sip.backend"}},
		{name: "trust PAI of a named proxy", edit: func(a *Account) {
			a.SIP.Proxy, a.SIP.TrustAssertedIdentity = "sips:proxy.example.test", true
		}},
		{name: "trust PAI without a proxy", edit: func(a *Account) { a.SIP.Proxy, a.SIP.TrustAssertedIdentity = "", true },
			fields: []string{"sip.trust_asserted_identity"}},
		{name: "media srtp", edit: func(a *Account) { a.SIP.MediaEncryption = "srtp" }},
		{name: "media optional", edit: func(a *Account) { a.SIP.MediaEncryption = "optional" }},
		{name: "media none", edit: func(a *Account) { a.SIP.MediaEncryption = "none" }},
		{name: "media unknown", edit: func(a *Account) { a.SIP.MediaEncryption = "zrtp" }, fields: []string{"sip.media_encryption"}},
		{name: "media case", edit: func(a *Account) { a.SIP.MediaEncryption = "SRTP" }, fields: []string{"sip.media_encryption"}},
		{name: "keying sdes", edit: func(a *Account) { a.SIP.MediaKeying = "sdes" }},
		{name: "keying dtls", edit: func(a *Account) { a.SIP.MediaKeying = "dtls" }},
		{name: "keying unknown", edit: func(a *Account) { a.SIP.MediaKeying = "zrtp" }, fields: []string{"sip.media_keying"}},
		{name: "keying case", edit: func(a *Account) { a.SIP.MediaKeying = "DTLS" }, fields: []string{"sip.media_keying"}},
		{name: "policy name", edit: func(a *Account) { a.Policy = []string{"ok", "no/pe"} }, fields: []string{"policy[1]"}},
		{name: "policy duplicate", edit: func(a *Account) { a.Policy = []string{"x", "x"} }, fields: []string{"policy"}},
		{name: "ca relative", edit: func(a *Account) { a.CAFile = "ca.pem" }, fields: []string{"ca_file"}},
		{name: "ca missing", edit: func(a *Account) { a.CAFile = caFile + ".missing" }, fields: []string{"ca_file"}},
		{name: "ca directory", edit: func(a *Account) { a.CAFile = filepath.Dir(caFile) }, fields: []string{"ca_file"}},

		// Header-injection guard: CR, LF or NUL in any string.
		{name: "CRLF in aor", edit: func(a *Account) { a.SIP.AOR = "sip:alice@example.test\r\nVia: evil" },
			fields: []string{"sip.aor"}},
		{name: "LF in username", edit: func(a *Account) { a.SIP.Username = "alice\nX-Evil: 1" }, fields: []string{"sip.username"}},
		{name: "NUL in jid", edit: func(a *Account) { a.XMPP.JID = "alice\x00@example.test" }, fields: []string{"xmpp.jid"}},
		{name: "CR in password_command", edit: func(a *Account) { a.XMPP.PasswordCommand = "pass x\r" },
			fields: []string{"xmpp.password_command"}},
		{name: "LF in mechanism", edit: func(a *Account) { a.XMPP.Mechanisms = []string{"PLAIN", "X\n"} },
			fields: []string{"xmpp.mechanisms[1]"}},
		{name: "LF in name", edit: func(a *Account) { a.Name = "w\n" }, fields: []string{"name"}},
		{name: "CR in policy", edit: func(a *Account) { a.Policy = []string{"a\r"} }, fields: []string{"policy[0]"}},
		{name: "LF in ca_file", edit: func(a *Account) { a.CAFile = "/x\n" }, fields: []string{"ca_file"}},

		{name: "provisioned", edit: func(a *Account) {
			a.Provisioning = &Provisioning{URL: "https://prov.example.test/alice.json", Auth: "basic", Username: "alice", MinTLS: "1.3"}
		}},
		{name: "provisioning http", edit: func(a *Account) { a.Provisioning = &Provisioning{URL: "http://prov.example.test/"} },
			fields: []string{"provisioning.url"}},
		{name: "provisioning url credentials", edit: func(a *Account) {
			a.Provisioning = &Provisioning{URL: "https://alice:pw@prov.example.test/"}
		}, fields: []string{"provisioning.url"}},
		{name: "provisioning empty url", edit: func(a *Account) { a.Provisioning = &Provisioning{} },
			fields: []string{"provisioning.url"}},
		{name: "provisioning basic without user", edit: func(a *Account) {
			a.Provisioning = &Provisioning{URL: "https://p.example.test/", Auth: "basic"}
		}, fields: []string{"provisioning.username"}},
		{name: "provisioning bad auth", edit: func(a *Account) {
			a.Provisioning = &Provisioning{URL: "https://p.example.test/", Auth: "digest"}
		}, fields: []string{"provisioning.auth"}},
		{name: "provisioning bad min_tls", edit: func(a *Account) {
			a.Provisioning = &Provisioning{URL: "https://p.example.test/", MinTLS: "1.1"}
		}, fields: []string{"provisioning.min_tls"}},
		{name: "LF in provisioning etag", edit: func(a *Account) {
			a.Provisioning = &Provisioning{URL: "https://p.example.test/", ETag: "\"x\"\n"}
		}, fields: []string{"provisioning.etag"}},

		{name: "several at once", edit: func(a *Account) { a.SIP.AOR = "bad"; a.XMPP.JID = "" },
			fields: []string{"xmpp.jid", "sip.aor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAccount()
			tt.edit(&a)
			err := a.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors for %v", tt.fields)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is not a *ValidationError: %T", err)
			}
			msg := err.Error()
			for _, f := range tt.fields {
				if !strings.Contains(msg, f) {
					t.Errorf("error does not name %q:\n%s", f, msg)
				}
			}
			if got := strings.Count(msg, "\n") + 1; got != len(tt.fields) {
				t.Errorf("got %d errors, want %d:\n%s", got, len(tt.fields), msg)
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, "account ") {
					t.Errorf("error line %q does not start with the account", line)
				}
				if strings.ContainsAny(line, "\r\x00") {
					t.Errorf("error line %q carries a control character", line)
				}
			}
		})
	}
}

func TestValidationErrorHidesURIs(t *testing.T) {
	a := validAccount()
	a.SIP.AOR = "sip:alice:hunter2@example.test"
	a.SIP.Proxy = "sip:bob:hunter2@example.test;transport=xyz"
	err := a.Validate()
	if err == nil {
		t.Fatal("AOR with a password validated")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error repeats the password: %v", err)
	}
	if !strings.Contains(err.Error(), `account "work": sip.aor: must not contain a password`) {
		t.Errorf("unexpected error: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		contains []string
	}{
		{name: "valid", cfg: Config{Version: 1, Default: "work", Accounts: []Account{validAccount(), xmppOnly("home")},
			Plugins: PluginSettings{Dirs: []string{"/opt/cusax/plugins"}}}},
		{name: "empty", cfg: Config{}},
		{name: "future version", cfg: Config{Version: 2}, contains: []string{"version: 2 is not supported"}},
		{name: "default missing", cfg: Config{Default: "x", Accounts: []Account{validAccount()}},
			contains: []string{"default_account: names no account"}},
		{name: "duplicate names", cfg: Config{Accounts: []Account{xmppOnly("a"), xmppOnly("b"), xmppOnly("a")}},
			contains: []string{`account "a": name: duplicate: accounts #1 and #3`}},
		{name: "bad plugin dir", cfg: Config{Plugins: PluginSettings{Dirs: []string{"", "/x\n"}}},
			contains: []string{"plugins.dirs[0]: must not be empty", "plugins.dirs[1]: must not contain CR"}},
		{name: "account errors included", cfg: Config{Accounts: []Account{{Name: "n"}}},
			contains: []string{`account "n": needs an [account.xmpp]`}},
		{name: "cost_allow", cfg: Config{Calls: CallSettings{CostAllow: []string{"tel:+4930*", "TEL:+49 40 *", "sip:*@partner.example", "sips:bob@x.example"}}}},
		{name: "cost_allow bad patterns", cfg: Config{Calls: CallSettings{CostAllow: []string{
			"", "tel:+49\r\n30*", "+4930*", "http://x/*", "sip:*@x?Route=y", "tel:" + strings.Repeat("1", 1100), "sip:a b@x", "tel:\t1"}}},
			contains: []string{
				"calls.cost_allow[0]: must not be empty",
				"calls.cost_allow[1]: control character CR (U+000D) at character 8",
				"calls.cost_allow[2]: must start with sip:, sips: or tel:",
				"calls.cost_allow[3]: must start with",
				"calls.cost_allow[4]: must not contain '?'",
				"calls.cost_allow[5]: longer than 1024 bytes",
				"calls.cost_allow[6]: must not contain white space",
				"calls.cost_allow[7]: control character TAB",
			}},
		{name: "policy settings", cfg: Config{Plugins: PluginSettings{DecisionTimeout: "2.5s"},
			Policies: map[string]map[string]string{"tollguard": {"premium_rate": "deny", "region": "DE"}}}},
		{name: "bad decision_timeout", cfg: Config{Plugins: PluginSettings{DecisionTimeout: "5"}},
			contains: []string{`plugins.decision_timeout: "5" is not a duration`}},
		{name: "negative decision_timeout", cfg: Config{Plugins: PluginSettings{DecisionTimeout: "-1s"}},
			contains: []string{`plugins.decision_timeout: "-1s" is not a duration`}},
		{name: "call_timeout", cfg: Config{Plugins: PluginSettings{CallTimeout: "90s"}}},
		{name: "bad call_timeout", cfg: Config{Plugins: PluginSettings{CallTimeout: "0s"}},
			contains: []string{`plugins.call_timeout: "0s" is not a duration`}},
		{name: "call_timeout over an hour", cfg: Config{Plugins: PluginSettings{CallTimeout: "2h"}},
			contains: []string{`plugins.call_timeout: "2h" is not a duration`}},
		{name: "bad policy settings", cfg: Config{Policies: map[string]map[string]string{
			"-x": {"a": "b"}, "tollguard": {"Premium-Rate": "deny", "region": "DE\n"}}},
			contains: []string{"policies.-x: must be a plugin name", "policies.tollguard.Premium-Rate: must be a setting name",
				"policies.tollguard.region: must not contain CR"}},
		{name: "cost_allow duplicate", cfg: Config{Calls: CallSettings{CostAllow: []string{"tel:*", "tel:*"}}},
			contains: []string{`calls.cost_allow: lists "tel:*" twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.contains) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid")
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "work", "A.b_c-9", strings.Repeat("x", 64), ".hidden"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a b", "é", "a/b", `a\b`, strings.Repeat("x", 65), "a:b"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) = nil", bad)
		}
	}
}
