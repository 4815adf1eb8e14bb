package provision

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
)

func mustParse(t *testing.T, doc string) *Document {
	t.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func origin(fetched time.Time) config.Provisioning {
	return config.Provisioning{URL: "https://prov.example.com/alice.json", Auth: "basic", Username: "alice",
		ETag: `"v1"`, Fetched: fetched, DocumentSHA256: "ab"}
}

func TestApplyNewAccount(t *testing.T) {
	cfg := &config.Config{Version: 1, Calls: config.CallSettings{CostAllow: []string{"sip:*@partner.example"}}}
	res, err := Apply(cfg, mustParse(t, validJSON), ApplyOptions{Origin: origin(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	if res.Account != "work" || res.XMPPPassword != PasswordSame || res.SIPPassword != PasswordSame || res.MinTLS != "1.2" {
		t.Errorf("result: %+v", res)
	}
	a, err := res.Config.Account("work")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Related || a.XMPP.JID != "alice@example.com" || a.XMPP.Server != "xmpp.example.com:5222" || !slices.Equal(a.XMPP.Mechanisms, []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}) {
		t.Errorf("xmpp: %+v", a.XMPP)
	}
	if a.SIP.AOR != "sip:alice@example.com" || a.SIP.Username != "alice" || a.SIP.Proxy != "sip:sip.example.com:5061;transport=tls" {
		t.Errorf("sip: %+v", a.SIP)
	}
	// RFC 7081 §2 defaults are off with a relationship anyway; the
	// document's explicit values are recorded as given.
	if a.Features.CallsOverXMPPEnabled(true) || a.Features.IMOverSIPEnabled(true) || !a.Features.AdvertiseIMPPEnabled() || a.Features.CallsOverXMPP == nil {
		t.Errorf("features: %+v", a.Features)
	}
	p := a.Provisioning
	if p == nil || p.URL != "https://prov.example.com/alice.json" || p.Provider != "Example Telecom" || p.MinTLS != "1.2" || p.RefreshAfter != "24h" || p.Username != "alice" {
		t.Fatalf("provisioning: %+v", p)
	}
	if want := []string{"sip:*@partner.example", "sip:*@example.com", "tel:+4930*"}; !slices.Equal(res.Config.Calls.CostAllow, want) {
		t.Errorf("calls.cost_allow = %q, want %q", res.Config.Calls.CostAllow, want)
	}
	if !slices.Equal(p.CostAllow, []string{"sip:*@example.com", "tel:+4930*"}) || p.Region != "DE" || res.Config.Calls.Region != "DE" {
		t.Errorf("cost gate bookkeeping: %q %q, region %q", p.CostAllow, p.Region, res.Config.Calls.Region)
	}
	if len(cfg.Accounts) != 0 || len(cfg.Calls.CostAllow) != 1 || cfg.Calls.Region != "" {
		t.Errorf("Apply changed its input: %+v", cfg)
	}
	if len(res.Changes) == 0 || res.Changes[0] != (Change{Field: "account", From: "", To: "exists"}) {
		t.Errorf("changes of a new account start with %+v", res.Changes)
	}
	if err := res.Config.Validate(); err != nil {
		t.Errorf("the result does not validate: %v", err)
	}
}

func TestApplyRefresh(t *testing.T) {
	first, err := Apply(&config.Config{Version: 1}, mustParse(t, validJSON), ApplyOptions{Origin: origin(time.Now())})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("unchanged document", func(t *testing.T) {
		o := origin(time.Now().Add(time.Hour))
		o.ETag = `"v2"` // bookkeeping is not a change
		res, err := Apply(first.Config, mustParse(t, validJSON), ApplyOptions{Origin: o})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) != 0 {
			t.Errorf("changes = %+v, want none", res.Changes)
		}
		if !reflect.DeepEqual(res.Config.Calls, first.Config.Calls) {
			t.Errorf("calls changed: %+v → %+v", first.Config.Calls, res.Config.Calls)
		}
	})

	t.Run("proxy change and feature flip", func(t *testing.T) {
		doc := edit(t, `"sip:sip.example.com:5061;transport=tls"`, `"sips:sip2.example.com"`)
		doc = strings.Replace(doc, `"im_over_sip": false`, `"im_over_sip": true`, 1)
		res, err := Apply(first.Config, mustParse(t, doc), ApplyOptions{Origin: origin(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		want := []Change{
			{Field: "sip.proxy", From: "sip:sip.example.com:5061;transport=tls", To: "sips:sip2.example.com"},
			{Field: "features.im_over_sip", From: "off", To: "on"},
		}
		if !reflect.DeepEqual(res.Changes, want) {
			t.Errorf("changes:\n got %+v\nwant %+v", res.Changes, want)
		}
	})

	t.Run("feature dropped returns to the default", func(t *testing.T) {
		doc := edit(t, `"features": {"calls_over_xmpp": false, "im_over_sip": false, "call_info": true},`, ``)
		res, err := Apply(first.Config, mustParse(t, doc), ApplyOptions{Origin: origin(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		want := []Change{
			{Field: "features.calls_over_xmpp", From: "off", To: "default (off)"},
			{Field: "features.im_over_sip", From: "off", To: "default (off)"},
			{Field: "features.advertise_impp", From: "on", To: "default (on)"},
		}
		if !reflect.DeepEqual(res.Changes, want) {
			t.Errorf("changes:\n got %+v\nwant %+v", res.Changes, want)
		}
	})

	t.Run("cost gate: provider patterns replaced, user's kept", func(t *testing.T) {
		cfg, _ := cloneConfig(first.Config)
		cfg.Calls.CostAllow = append(cfg.Calls.CostAllow, "tel:+4940*") // the user's own
		doc := edit(t, `"allow": ["sip:*@example.com", "tel:+4930*"], "region": "DE"`, `"allow": ["tel:+4989*"]`)
		res, err := Apply(cfg, mustParse(t, doc), ApplyOptions{Origin: origin(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"tel:+4940*", "tel:+4989*"}; !slices.Equal(res.Config.Calls.CostAllow, want) {
			t.Errorf("calls.cost_allow = %q, want %q", res.Config.Calls.CostAllow, want)
		}
		if res.Config.Calls.Region != "" {
			t.Errorf("the region the document set was not removed with it: %q", res.Config.Calls.Region)
		}
		want := []Change{
			{Field: "calls.cost_allow", From: "sip:*@example.com, tel:+4930*, tel:+4940*", To: "tel:+4940*, tel:+4989*"},
			{Field: "calls.region", From: "DE", To: ""},
		}
		if !reflect.DeepEqual(res.Changes, want) {
			t.Errorf("changes:\n got %+v\nwant %+v", res.Changes, want)
		}
	})
}

func TestApplyKeepsUsersOwn(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := filepath.Join(dir, "ca1.pem"), filepath.Join(dir, "ca2.pem")
	for _, f := range []string{ca1, ca2} {
		if err := os.WriteFile(f, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o := origin(time.Now())
	cfg := &config.Config{Version: 1, Calls: config.CallSettings{Region: "AT"}, Accounts: []config.Account{{
		Name: "work", Related: true, CAFile: ca1, Policy: []string{"allowlist"}, Provisioning: &o,
		XMPP: &config.XMPPAspect{JID: "old@example.com", Backend: "xmpp-alt", PasswordCommand: "pass show xmpp", AllowPlaintext: true},
		SIP:  &config.SIPAspect{AOR: "sip:old@example.com", PasswordCommand: "pass show sip"},
	}}}
	res, err := Apply(cfg, mustParse(t, validJSON), ApplyOptions{Origin: o})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := res.Config.Account("work")
	if a.CAFile != ca1 || !slices.Equal(a.Policy, []string{"allowlist"}) || a.XMPP.Backend != "xmpp-alt" ||
		a.XMPP.PasswordCommand != "pass show xmpp" || !a.XMPP.AllowPlaintext || a.SIP.PasswordCommand != "pass show sip" {
		t.Errorf("user's own settings lost: %+v %+v %+v", a, a.XMPP, a.SIP)
	}
	if a.XMPP.JID != "alice@example.com" {
		t.Errorf("document not applied: %+v", a.XMPP)
	}
	if res.Config.Calls.Region != "AT" || a.Provisioning.Region != "" {
		t.Errorf("the user's region was overridden: %q", res.Config.Calls.Region)
	}
	warnings := strings.Join(res.Warnings, "\n")
	for _, w := range []string{"xmpp.allow_plaintext: kept on", `kept your calls.region "AT"; the provider suggests "DE"`} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}
	for _, c := range res.Changes {
		if strings.Contains(c.From+c.To, "pass show") {
			t.Errorf("a change shows a password command: %+v", c)
		}
	}

	res, err = Apply(cfg, mustParse(t, validJSON), ApplyOptions{Origin: o, CAFile: ca2})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := res.Config.Account("work"); a.CAFile != ca2 {
		t.Errorf("ca_file = %q, want the new --ca-file", a.CAFile)
	}
	_, err = Apply(cfg, mustParse(t, validJSON), ApplyOptions{Origin: o, CAFile: filepath.Join(dir, "missing.pem")})
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing ca_file: err = %v", err)
	}
}

func TestApplyNames(t *testing.T) {
	hand := &config.Config{Version: 1, Accounts: []config.Account{{Name: "work", XMPP: &config.XMPPAspect{JID: "a@example.com"}}}}
	doc := mustParse(t, validJSON)
	o := origin(time.Now())

	if _, err := Apply(hand, doc, ApplyOptions{Origin: o}); !errors.Is(err, ErrAccountExists) || !strings.Contains(err.Error(), `account "work" was set up by hand`) {
		t.Errorf("over a hand-made account: %v", err)
	}
	other := o
	other.URL = "https://elsewhere.example/doc.json"
	prov, _ := cloneConfig(hand)
	prov.Accounts[0].Provisioning = &other
	if _, err := Apply(prov, doc, ApplyOptions{Origin: o}); !errors.Is(err, ErrAccountExists) || !strings.Contains(err.Error(), "was provisioned from https://elsewhere.example/doc.json") {
		t.Errorf("over an account from another URL: %v", err)
	}
	if res, err := Apply(hand, doc, ApplyOptions{Origin: o, Replace: true}); err != nil || len(res.Config.Accounts) != 1 {
		t.Errorf("Replace: %v", err)
	}
	if res, err := Apply(hand, doc, ApplyOptions{Origin: o, Name: "telecom"}); err != nil || res.Account != "telecom" || len(res.Config.Accounts) != 2 {
		t.Errorf("--name: %+v %v", res, err)
	}
	noName := mustParse(t, `{"version":1,"xmpp":{"jid":"a@example.com","password":"prompt"}}`)
	res, err := Apply(&config.Config{Version: 1}, noName, ApplyOptions{Origin: o})
	if err != nil || res.Account != DefaultAccountName || res.XMPPPassword != PasswordPrompt || res.SIPPassword != "" {
		t.Errorf("unnamed document: %+v %v", res, err)
	}
	if a, _ := res.Config.Account(""); a.Related {
		t.Errorf("an XMPP-only account is related")
	}
	if _, err := Apply(&config.Config{Version: 1}, doc, ApplyOptions{Origin: o, Name: "a/b"}); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
}

func TestFetchedOrigin(t *testing.T) {
	f := &Fetched{URL: "https://p.example/a.json", ETag: `"x"`, SHA256: "ff", Fetched: time.Unix(0, 0)}
	if o := f.Origin(Basic{User: "alice", Password: "pw"}); o.Auth != "basic" || o.Username != "alice" || o.URL != f.URL || o.ETag != `"x"` {
		t.Errorf("basic: %+v", o)
	}
	if o := f.Origin(Bearer{Token: "t"}); o.Auth != "bearer" || o.Username != "" {
		t.Errorf("bearer: %+v", o)
	}
	if o := f.Origin(nil); o.Auth != "none" {
		t.Errorf("none: %+v", o)
	}
}
