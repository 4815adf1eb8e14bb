package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/hashicorp/go-plugin"
)

func TestApproveCost(t *testing.T) {
	allow := []string{"tel:+4930*", "sip:*@partner.example"}
	tests := []struct {
		name     string
		req      protocol.CostRequest
		verdict  protocol.Verdict
		contains []string
	}{
		{name: "sip within the service", req: protocol.CostRequest{URI: "sip:bob@example.com"},
			verdict: protocol.Allow, contains: []string{"within the service"}},
		{name: "allow-listed number", req: protocol.CostRequest{URI: "tel:+49301234", PSTN: true, Allowlist: allow},
			verdict: protocol.Allow, contains: []string{`pattern "tel:+4930*"`, "calls.cost_allow", "RFC 7081 §5"}},
		{name: "allow-listed number, not normalised", req: protocol.CostRequest{URI: "tel:+49-30-1234", PSTN: true, Allowlist: allow},
			verdict: protocol.Allow, contains: []string{`"tel:+4930*"`}},
		// The list does not also need --yes or a terminal.
		{name: "allow-listed beats non-interactive", req: protocol.CostRequest{URI: "tel:+4930555", PSTN: true, Allowlist: allow},
			verdict: protocol.Allow},
		{name: "non-matching number denied", req: protocol.CostRequest{URI: "tel:+19005551234", PSTN: true, Allowlist: allow},
			verdict: protocol.Deny, contains: []string{"phone number may cost money", "add --yes", "calls.cost_allow"}},
		{name: "no list, denied", req: protocol.CostRequest{URI: "tel:+49301234", PSTN: true},
			verdict: protocol.Deny, contains: []string{"add --yes"}},
		{name: "invalid patterns ignored", req: protocol.CostRequest{URI: "tel:+49301234", PSTN: true,
			Allowlist: []string{"", "+4930*", "tel:+4930*?", "tel:+49\r\n*"}},
			verdict: protocol.Deny},
		// The core passes the URI it dials: the SIP form of the number
		// (RFC 3261 §19.1.6); a tel: pattern is about the number.
		{name: "allow-listed number, SIP form", req: protocol.CostRequest{URI: "sip:+49301234@example.com;user=phone",
			PSTN: true, Allowlist: allow}, verdict: protocol.Allow, contains: []string{`"tel:+4930*"`}},
		// RFC 7081 §5: Bob's mobile number, learned from his vCard on
		// biloxi.example and dialled through the user's own service.
		{name: "inter-domain number allow-listed", req: protocol.CostRequest{URI: "sip:+4930123@atlanta.example;user=phone",
			PSTN: true, InterDomain: true, Allowlist: allow},
			verdict: protocol.Allow, contains: []string{"phone number learned from a contact on another domain", `pattern "tel:+4930*"`}},
		{name: "inter-domain number denied", req: protocol.CostRequest{URI: "sip:+447700900123@atlanta.example;user=phone",
			PSTN: true, InterDomain: true, Allowlist: allow},
			verdict: protocol.Deny, contains: []string{"phone number learned from a contact on another domain", "add --yes"}},
		{name: "inter-domain address allow-listed by domain", req: protocol.CostRequest{URI: "sip:bob@partner.example",
			InterDomain: true, Allowlist: allow},
			verdict: protocol.Allow, contains: []string{"another domain", `pattern "sip:*@partner.example"`}},
		{name: "inter-domain address not listed", req: protocol.CostRequest{URI: "sip:bob@biloxi.example",
			InterDomain: true, Allowlist: allow}, verdict: protocol.Deny, contains: []string{"another domain", "add --yes"}},
		{name: "inter-domain sip address asks", req: protocol.CostRequest{URI: "sip:bob@biloxi.example", InterDomain: true, Interactive: true},
			verdict: protocol.Ask, contains: []string{"another domain"}},
		{name: "confirmed with --yes", req: protocol.CostRequest{URI: "tel:+19005551234", PSTN: true, Confirmed: true, Allowlist: allow},
			verdict: protocol.Allow, contains: []string{"--yes"}},
		{name: "inter-domain confirmed with --yes", req: protocol.CostRequest{URI: "sip:+1555@biloxi.example;user=phone",
			PSTN: true, InterDomain: true, Confirmed: true}, verdict: protocol.Allow, contains: []string{"--yes"}},
		{name: "interactive asks", req: protocol.CostRequest{URI: "tel:+19005551234", PSTN: true, Interactive: true, Allowlist: allow},
			verdict: protocol.Ask, contains: []string{"may cost money"}},
		{name: "interactive allow-listed does not ask", req: protocol.CostRequest{URI: "tel:+4930123", PSTN: true, Interactive: true, Allowlist: allow},
			verdict: protocol.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New().ApproveCost(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != tt.verdict {
				t.Fatalf("verdict = %s (%s), want %s", d.Verdict, d.Reason, tt.verdict)
			}
			for _, s := range tt.contains {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not contain %q", d.Reason, s)
				}
			}
			if d.Choice != "" {
				t.Errorf("choice = %q, want none", d.Choice)
			}
		})
	}
}

func TestChooseAccount(t *testing.T) {
	work := protocol.AccountCandidate{Name: "work", Telephony: true, Related: true, AOR: "sip:alice@example.com", JID: "alice@example.com"}
	other := protocol.AccountCandidate{Name: "other", Telephony: true, AOR: "sip:alice@voip.example"}
	chat := protocol.AccountCandidate{Name: "jabber", JID: "alice@jabber.example"}
	tests := []struct {
		name     string
		req      protocol.ChooseAccountRequest
		verdict  protocol.Verdict
		choice   string
		contains []string
	}{
		// RFC 7081 §3.4: a single telephony-capable account calls at once.
		{name: "single telephony account", req: protocol.ChooseAccountRequest{Candidates: []protocol.AccountCandidate{chat, other}},
			verdict: protocol.Allow, choice: "other", contains: []string{"only telephony-capable"}},
		{name: "single, even from another roster", req: protocol.ChooseAccountRequest{ContactAccount: "jabber",
			Candidates: []protocol.AccountCandidate{chat, work}}, verdict: protocol.Allow, choice: "work"},
		// §3.4: a contact from the CUSAX account's roster goes through its
		// related SIP account.
		{name: "contact from related account", req: protocol.ChooseAccountRequest{ContactAccount: "work",
			Candidates: []protocol.AccountCandidate{other, work, chat}}, verdict: protocol.Allow, choice: "work",
			contains: []string{"CUSAX relationship"}},
		{name: "two, no relationship", req: protocol.ChooseAccountRequest{Interactive: true,
			Candidates: []protocol.AccountCandidate{other, {Name: "second", Telephony: true}}},
			verdict: protocol.Ask, contains: []string{"--via", "other, second"}},
		{name: "contact from unrelated account asks", req: protocol.ChooseAccountRequest{ContactAccount: "other",
			Candidates: []protocol.AccountCandidate{other, work}}, verdict: protocol.Ask, contains: []string{"other, work"}},
		{name: "via telephony account", req: protocol.ChooseAccountRequest{Requested: "other", ContactAccount: "work",
			Candidates: []protocol.AccountCandidate{other, work}}, verdict: protocol.Allow, choice: "other",
			contains: []string{"--via"}},
		{name: "via non-telephony account", req: protocol.ChooseAccountRequest{Requested: "jabber",
			Candidates: []protocol.AccountCandidate{other, work, chat}}, verdict: protocol.Deny,
			contains: []string{`"jabber" cannot place calls`, "other, work"}},
		{name: "via unknown account", req: protocol.ChooseAccountRequest{Requested: "nope",
			Candidates: []protocol.AccountCandidate{work}}, verdict: protocol.Deny, contains: []string{`"nope"`}},
		{name: "no telephony account", req: protocol.ChooseAccountRequest{Candidates: []protocol.AccountCandidate{chat}},
			verdict: protocol.Deny, contains: []string{"no configured account can place calls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New().ChooseAccount(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != tt.verdict || d.Choice != tt.choice {
				t.Fatalf("decision = %s %q (%s), want %s %q", d.Verdict, d.Choice, d.Reason, tt.verdict, tt.choice)
			}
			for _, s := range tt.contains {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not contain %q", d.Reason, s)
				}
			}
		})
	}
}

// The profile weighs audit findings; the default policy leaves them be.
func TestJudgeAuditFindingsAbstains(t *testing.T) {
	req := protocol.AuditFindingsRequest{Account: "work", Profile: "bcp195", Findings: []protocol.AuditFinding{
		{ID: "tls.tls10", Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "high", Status: "fail"}}}
	d, err := New().JudgeAuditFindings(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict != protocol.Abstain || len(d.Changes) != 0 {
		t.Errorf("decision %+v, want abstain without changes", d)
	}
}

// The conformance suite, in process and through go-plugin over gRPC (the
// real child process is cmd/cusax/internal/builtin's TestConformanceDefaultPolicy).
func TestConformance(t *testing.T) {
	t.Run("in-process", func(t *testing.T) { protocoltest.RunPolicy(t, New()) })
	t.Run("grpc", func(t *testing.T) {
		client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"policy": &cusaxv1.PolicyPlugin{Impl: New()}})
		t.Cleanup(func() { client.Close() })
		raw, err := client.Dispense("policy")
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunPolicy(t, raw.(protocol.Policy))
	})
}
