package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestFeaturesDefaults(t *testing.T) {
	tests := []struct {
		name           string
		f              Features
		related        bool
		calls, im, adv bool
	}{
		// RFC 7081 §2: a CUSAX relationship disables calls over XMPP and IM
		// over SIP by default.
		{name: "related defaults", related: true, calls: false, im: false, adv: true},
		// The §2 default does not apply to stand-alone accounts.
		{name: "stand-alone defaults", related: false, calls: true, im: true, adv: true},
		{name: "related, overridden on", related: true,
			f:     Features{CallsOverXMPP: ptr(true), IMOverSIP: ptr(true), AdvertiseIMPP: ptr(false)},
			calls: true, im: true, adv: false},
		{name: "stand-alone, overridden off", related: false,
			f:     Features{CallsOverXMPP: ptr(false), IMOverSIP: ptr(false), AdvertiseIMPP: ptr(true)},
			calls: false, im: false, adv: true},
		{name: "mixed", related: true, f: Features{IMOverSIP: ptr(true)}, calls: false, im: true, adv: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.CallsOverXMPPEnabled(tt.related); got != tt.calls {
				t.Errorf("CallsOverXMPPEnabled = %v, want %v", got, tt.calls)
			}
			if got := tt.f.IMOverSIPEnabled(tt.related); got != tt.im {
				t.Errorf("IMOverSIPEnabled = %v, want %v", got, tt.im)
			}
			if got := tt.f.AdvertiseIMPPEnabled(); got != tt.adv {
				t.Errorf("AdvertiseIMPPEnabled = %v, want %v", got, tt.adv)
			}
		})
	}
}

func xmppOnly(name string) Account {
	return Account{Name: name, XMPP: &XMPPAspect{JID: name + "@example.test"}}
}

func TestAccountLookup(t *testing.T) {
	broken := Account{Name: "broken"} // no aspect
	tests := []struct {
		name     string
		cfg      Config
		ask      string
		want     string // account name on success
		wantErrs []error
		contains []string
	}{
		{name: "no accounts, no name", ask: "", wantErrs: []error{ErrNoAccounts}},
		{name: "no accounts, a name", ask: "work",
			wantErrs: []error{ErrAccountNotFound, ErrNoAccounts}, contains: []string{`"work"`}},
		{name: "only account", cfg: Config{Accounts: []Account{xmppOnly("solo")}}, want: "solo"},
		{name: "two, no default", cfg: Config{Accounts: []Account{xmppOnly("a"), xmppOnly("b")}},
			wantErrs: []error{ErrAmbiguousAccount}, contains: []string{`"a", "b"`}},
		{name: "two, default", cfg: Config{Default: "b", Accounts: []Account{xmppOnly("a"), xmppOnly("b")}}, want: "b"},
		{name: "default names nothing", cfg: Config{Default: "gone", Accounts: []Account{xmppOnly("a")}},
			wantErrs: []error{ErrAccountNotFound}, contains: []string{"default_account", `"gone"`, `"a"`}},
		{name: "by name", cfg: Config{Default: "b", Accounts: []Account{xmppOnly("a"), xmppOnly("b")}}, ask: "a", want: "a"},
		{name: "unknown name lists names", cfg: Config{Accounts: []Account{xmppOnly("a"), xmppOnly("b")}}, ask: "c",
			wantErrs: []error{ErrAccountNotFound}, contains: []string{`"c"`, `"a", "b"`}},
		// Lookup does not validate, so a broken account can be repaired.
		{name: "found though invalid", cfg: Config{Accounts: []Account{broken}}, ask: "broken", want: "broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.cfg.Account(tt.ask)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Account(%q): %v", tt.ask, err)
				}
				if a.Name != tt.want {
					t.Fatalf("Account(%q) = %q, want %q", tt.ask, a.Name, tt.want)
				}
				// The result points into the config, so edits stick.
				a.CAFile = "/x"
				if tt.cfg.Accounts[tt.cfg.index(tt.want)].CAFile != "/x" {
					t.Error("Account returned a copy, want a pointer into Accounts")
				}
				return
			}
			if err == nil {
				t.Fatalf("Account(%q) = %v, want error", tt.ask, a.Name)
			}
			if a != nil {
				t.Errorf("Account returned %v with an error", a)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not wrap %q", err, want)
				}
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func TestUpsertRemove(t *testing.T) {
	var c Config
	if c.Upsert(xmppOnly("a")) {
		t.Error("Upsert(a) on empty config reported a replacement")
	}
	c.Upsert(xmppOnly("b"))
	c.Upsert(xmppOnly("c"))
	repl := xmppOnly("b")
	repl.CAFile = "/etc/ca.pem"
	if !c.Upsert(repl) {
		t.Error("Upsert(b) again did not report a replacement")
	}
	if got := c.Names(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("names after upserts = %v, want order kept [a b c]", got)
	}
	if c.Accounts[1].CAFile != "/etc/ca.pem" {
		t.Error("Upsert did not replace b")
	}

	c.Default = "b"
	if err := c.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if c.Default != "" {
		t.Errorf("Default = %q after removing it, want empty", c.Default)
	}
	if got := c.Names(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("names after Remove(b) = %v", got)
	}
	err := c.Remove("zz")
	if !errors.Is(err, ErrAccountNotFound) {
		t.Errorf("Remove(zz) = %v, want ErrAccountNotFound", err)
	}
	if err := c.Remove(""); !errors.Is(err, ErrAccountNotFound) {
		t.Errorf(`Remove("") = %v, want ErrAccountNotFound`, err)
	}
	if len(c.Accounts) != 2 {
		t.Errorf("failed removes changed the accounts: %v", c.Names())
	}
}

func TestCallsLoadSave(t *testing.T) {
	doc := `version = 1

[calls]
cost_allow = ["tel:+4930*", "sip:*@partner.example"]

[plugins]
decision_timeout = "2s"

[policies.tollguard]
premium_rate = "deny"
region = "DE"

[[account]]
name = "a"
policy = ["tollguard"]
[account.sip]
aor = "sip:a@example.test"
`
	p := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, p, doc)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tel:+4930*", "sip:*@partner.example"}; !slices.Equal(c.Calls.CostAllow, want) {
		t.Fatalf("calls.cost_allow = %q, want %q", c.Calls.CostAllow, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Policies["tollguard"]["premium_rate"]; got != "deny" {
		t.Errorf("policies.tollguard.premium_rate = %q", got)
	}
	if got := c.Plugins.DecisionTimeoutOr(time.Second); got != 2*time.Second {
		t.Errorf("decision_timeout = %s, want 2s", got)
	}

	// Round trip, and an empty [calls] table is not written.
	if err := Save(p, c); err != nil {
		t.Fatal(err)
	}
	again, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, c) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", again, c)
	}
	data, err := Marshal(&Config{Accounts: []Account{xmppOnly("b")}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "calls") {
		t.Errorf("empty calls settings written:\n%s", data)
	}
}

func TestCallsStrict(t *testing.T) {
	tests := []struct {
		name, doc, contains string
		line                int
	}{
		{name: "unknown key", doc: "[calls]\ncost_allowed = [\"tel:*\"]\n", line: 2, contains: `unknown key "calls.cost_allowed"`},
		{name: "misplaced in account", doc: "[[account]]\nname = \"a\"\ncost_allow = [\"tel:*\"]\n", line: 3,
			contains: `unknown key "account.cost_allow"`},
		{name: "string, not array", doc: "[calls]\ncost_allow = \"tel:*\"\n", line: 2,
			contains: "calls.cost_allow: want array of strings, got string"},
		{name: "calls not a table", doc: "calls = 1\n", line: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(p, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Load = %+v, %v; want a *ParseError", c, err)
			}
			if pe.Line != tt.line || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q, want line %d and %q", err, tt.line, tt.contains)
			}
		})
	}
}
