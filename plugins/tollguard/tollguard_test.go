package tollguard

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"github.com/nyaruka/phonenumbers"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

// example is the library's own example number of a type in a region, in
// E.164, so the tests follow its metadata rather than invented numbers.
func example(t *testing.T, region string, typ phonenumbers.PhoneNumberType) string {
	t.Helper()
	n := phonenumbers.GetExampleNumberForType(region, typ)
	if n == nil {
		t.Fatalf("no example number of type %v for %s", typ, region)
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

func TestNumber(t *testing.T) {
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{"tel:+49-900-1234567", "+499001234567", true},
		{"tel:112;phone-context=+49", "112", true},
		{"sip:+499001234567@example.com;user=phone", "+499001234567", true},
		{"sips:0049 900 1234567@example.com", "00499001234567", true},
		{"sip:112@example.com", "112", true},
		{"sip:alice@example.com", "", false},
		{"sip:alice@example.com;user=phone", "", false},
		{"xmpp:alice@example.com", "", false},
		{"tel:", "", false},
	}
	for _, tt := range tests {
		got, ok := Number(tt.uri)
		if got != tt.want && tt.ok || ok != tt.ok {
			t.Errorf("Number(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
		}
	}
}

// Real numbers from several regions, classified by the library.
func TestClassify(t *testing.T) {
	tests := []struct {
		name, number, home string
		want               []Class
	}{
		{"DE premium-rate at home", example(t, "DE", phonenumbers.PREMIUM_RATE), "DE", []Class{PremiumRate}},
		{"DE shared-cost at home", example(t, "DE", phonenumbers.SHARED_COST), "DE", []Class{SharedCost}},
		{"DE fixed line at home", example(t, "DE", phonenumbers.FIXED_LINE), "DE", nil},
		{"DE toll-free at home", example(t, "DE", phonenumbers.TOLL_FREE), "DE", nil},
		{"GB premium-rate from DE", example(t, "GB", phonenumbers.PREMIUM_RATE), "DE", []Class{PremiumRate, International}},
		{"US fixed line from DE", example(t, "US", phonenumbers.FIXED_LINE), "DE", []Class{International}},
		{"US premium-rate at home", example(t, "US", phonenumbers.PREMIUM_RATE), "US", []Class{PremiumRate}},
		{"FR shared-cost from CH", example(t, "FR", phonenumbers.SHARED_COST), "CH", []Class{SharedCost, International}},
		{"AU premium-rate, no home region", example(t, "AU", phonenumbers.PREMIUM_RATE), "", []Class{PremiumRate}},
		{"national premium-rate in DE", "09001234567", "DE", []Class{PremiumRate}},
		{"112 in DE", "112", "DE", []Class{Emergency}},
		{"911 in US", "911", "US", []Class{Emergency}},
		{"999 in GB", "999", "GB", []Class{Emergency}},
		{"911 means nothing in DE", "911", "DE", nil},
		{"000 anywhere (AU)", "000", "", []Class{Emergency}},
		{"national number without a region", "0301234567", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Class
			for _, f := range Classify(tt.number, tt.home) {
				got = append(got, f.Class)
			}
			if strings.Join(classes(got), ",") != strings.Join(classes(tt.want), ",") {
				t.Errorf("Classify(%s, %q) = %v, want %v", tt.number, tt.home, got, tt.want)
			}
		})
	}
}

func classes(cs []Class) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestApproveCost(t *testing.T) {
	premium := example(t, "DE", phonenumbers.PREMIUM_RATE)
	gb := example(t, "GB", phonenumbers.FIXED_LINE)
	allowed := protocol.Prior{Verdict: protocol.Allow, Policy: "default", Reason: "confirmed with --yes"}
	tests := []struct {
		name     string
		settings map[string]string
		req      protocol.CostRequest
		verdict  protocol.Verdict
		reason   string
	}{
		{"premium-rate refused by default", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "sip:" + premium + "@example.com;user=phone", Confirmed: true, Prior: allowed},
			protocol.Deny, `tollguard: +49 900 1 234567 is a premium-rate number (DE); premium_rate = "deny"`},
		{"region from the request", nil,
			protocol.CostRequest{URI: "tel:09001234567", Region: "DE", Prior: allowed},
			protocol.Deny, "premium-rate number (DE)"},
		{"international asks", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "tel:" + gb, Prior: allowed},
			protocol.Ask, `international number (GB, home region DE); international = "ask"`},
		{"--yes answers ask", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "tel:" + gb, Confirmed: true, Prior: allowed},
			protocol.Abstain, "confirmed with --yes"},
		{"strictest class wins", map[string]string{"region": "DE", "international": "deny", "premium_rate": "ask"},
			protocol.CostRequest{URI: "tel:" + example(t, "GB", phonenumbers.PREMIUM_RATE)},
			protocol.Deny, `international = "deny"`},
		{"allow abstains: a guard never loosens", map[string]string{"region": "DE", "premium_rate": "allow"},
			protocol.CostRequest{URI: "tel:" + premium, Prior: protocol.Prior{Verdict: protocol.Deny, Policy: "default"}},
			protocol.Abstain, "no guarded class"},
		{"ask does not loosen a prior deny", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "tel:" + gb, Prior: protocol.Prior{Verdict: protocol.Deny, Policy: "default"}},
			protocol.Abstain, "already refused"},
		{"emergency asks", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "sip:112@example.com;user=phone"},
			protocol.Ask, `112 is an emergency number (DE); emergency = "ask"`},
		{"a SIP address is none of its business", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "sip:bob@example.com", Prior: allowed},
			protocol.Abstain, "not a phone number"},
		{"an ordinary number passes", map[string]string{"region": "DE"},
			protocol.CostRequest{URI: "tel:" + example(t, "DE", phonenumbers.FIXED_LINE), Prior: allowed},
			protocol.Abstain, "no guarded class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(tt.settings)
			if _, err := g.Info(context.Background()); err != nil {
				t.Fatal(err)
			}
			d, err := g.ApproveCost(context.Background(), tt.req)
			if err != nil || d.Verdict != tt.verdict || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("got %s %q (%v), want %s containing %q", d.Verdict, d.Reason, err, tt.verdict, tt.reason)
			}
		})
	}
}

// Bad settings make Info fail with the key named, so cusax does not start
// the plugin.
func TestBadSettings(t *testing.T) {
	tests := map[string]struct {
		settings map[string]string
		want     string
	}{
		"bad action":  {map[string]string{"premium_rate": "maybe"}, `setting premium_rate = "maybe": want "deny", "ask" or "allow"`},
		"typo in key": {map[string]string{"premium": "deny"}, `unknown setting "premium"`},
		"bad region":  {map[string]string{"region": "Germany"}, `setting region = "Germany"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tt.settings).Info(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestConformance(t *testing.T) {
	g := New(map[string]string{"region": "US"})
	t.Run("in-process", func(t *testing.T) { protocoltest.RunPolicy(t, g) })
	t.Run("grpc", func(t *testing.T) {
		client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"policy": &cusaxv1.PolicyPlugin{Impl: g}})
		t.Cleanup(func() { client.Close() })
		raw, err := client.Dispense("policy")
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunPolicy(t, raw.(protocol.Policy))
	})
}
