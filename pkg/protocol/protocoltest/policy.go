package protocoltest

import (
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// RunPolicy runs the policy conformance suite against p.
func RunPolicy(t *testing.T, p protocol.Policy) {
	info := CheckInfo(t, p, protocol.KindPolicy)
	ctx := ctxT(t)
	valid := func(what string, d protocol.Decision, err error, cap protocol.Capability) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		switch d.Verdict {
		case protocol.Abstain, protocol.Allow, protocol.Deny, protocol.Ask:
		default:
			t.Errorf("%s: unknown verdict %q", what, d.Verdict)
		}
		if !info.Has(cap) && d.Verdict != protocol.Abstain {
			t.Errorf("%s: decided %q without declaring %q", what, d.Verdict, cap)
		}
		if d.Verdict == protocol.Deny && d.Reason == "" {
			t.Errorf("%s: a denial must say why", what)
		}
	}
	cands := []protocol.AccountCandidate{{Name: "work", Telephony: true, Related: true}, {Name: "home", Telephony: true}}
	d, err := p.ChooseAccount(ctx, protocol.ChooseAccountRequest{Target: "sip:bob@example.test", Candidates: cands})
	valid("ChooseAccount", d, err, protocol.CapChooseAccount)
	if d.Verdict == protocol.Allow && d.Choice != "work" && d.Choice != "home" {
		t.Errorf("ChooseAccount chose %q, not a candidate", d.Choice)
	}
	d, err = p.ApproveCost(ctx, protocol.CostRequest{Target: "+15550100", URI: "tel:+15550100", Account: "work", PSTN: true})
	valid("ApproveCost", d, err, protocol.CapApproveCost)
	d, err = p.JudgeCallerBinding(ctx, protocol.BindingRequest{Caller: "sip:bob@example.test", Hint: "bob@example.test", Verdict: "mismatch"})
	valid("JudgeCallerBinding", d, err, protocol.CapCallerBinding)
	findings := []protocol.ParityFinding{{ID: "parity.encryption", Severity: "warning", Message: "m"}}
	pd, err := p.JudgeSecurityParity(ctx, protocol.ParityRequest{Account: "work", Findings: findings})
	valid("JudgeSecurityParity", pd.Decision, err, protocol.CapSecurityParity)
	if len(pd.Findings) != len(findings) {
		t.Errorf("JudgeSecurityParity dropped findings: %+v", pd.Findings)
	}
}
