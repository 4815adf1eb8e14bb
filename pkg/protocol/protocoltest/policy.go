package protocoltest

import (
	"errors"
	"slices"
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
	checkAuditJudge(t, p, info)
}

// auditFindings is a small audit of one account: a failure, a pass, an
// error and a skip, on both aspects and across them.
var auditFindings = []protocol.AuditFinding{
	{ID: "tls.tls10", Aspect: "chat", Endpoint: "xmpp:example.test:5222", Severity: protocol.AuditHigh, Status: "fail",
		Evidence: "TLS 1.0 accepted", Ref: "RFC 9325 §3.1.1"},
	{ID: "tls.tls13", Aspect: "telephony", Endpoint: "sip:example.test:5061", Severity: protocol.AuditLow, Status: "pass",
		Evidence: "TLS 1.3 accepted", Ref: "RFC 9325 §3.1.1"},
	{ID: "cert.trust", Aspect: "telephony", Endpoint: "sip:example.test:5061", Severity: protocol.AuditCritical, Status: "error",
		Evidence: "probe failed: timeout", Ref: "RFC 5922 §7"},
	{ID: "cusax.suites", Aspect: "cusax", Severity: protocol.AuditMedium, Status: "skipped", Evidence: "no TLS on telephony"},
}

// checkAuditJudge runs the optional audit decision (protocol.AuditJudge).
// Not implementing it, or answering ErrUnsupported, is abstaining and
// passes, unless the policy declares protocol.CapAuditFindings.
func checkAuditJudge(t *testing.T, p protocol.Policy, info protocol.Info) {
	t.Helper()
	declared := info.Has(protocol.CapAuditFindings)
	j, ok := p.(protocol.AuditJudge)
	if !ok {
		if declared {
			t.Errorf("declares %q but does not implement protocol.AuditJudge", protocol.CapAuditFindings)
		}
		return
	}
	ctx := ctxT(t)
	for _, req := range []protocol.AuditFindingsRequest{
		{Account: "work", Profile: "bcp195", Findings: auditFindings},
		{Account: "empty", Profile: "bcp195"},
	} {
		d, err := j.JudgeAuditFindings(ctx, req)
		if errors.Is(err, protocol.ErrUnsupported) {
			if declared {
				t.Errorf("JudgeAuditFindings(%s): declares %q but answered %v", req.Account, protocol.CapAuditFindings, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("JudgeAuditFindings(%s): %v", req.Account, err)
			continue
		}
		switch d.Verdict {
		case protocol.Abstain:
			if len(d.Changes) > 0 {
				t.Errorf("JudgeAuditFindings(%s): abstained but returned changes %+v", req.Account, d.Changes)
			}
			continue
		case protocol.Allow:
		default:
			t.Errorf("JudgeAuditFindings(%s): verdict %q, want abstain or allow", req.Account, d.Verdict)
		}
		if !declared {
			t.Errorf("JudgeAuditFindings(%s): decided %q without declaring %q", req.Account, d.Verdict, protocol.CapAuditFindings)
		}
		for _, c := range d.Changes {
			if c.ID == "" {
				t.Errorf("JudgeAuditFindings(%s): change without a check ID: %+v", req.Account, c)
			}
			if !slices.Contains(protocol.AuditSeverities, c.Severity) {
				t.Errorf("JudgeAuditFindings(%s): change %s to severity %q, want one of %v", req.Account, c.ID, c.Severity, protocol.AuditSeverities)
			}
			if !slices.Contains([]string{"", "chat", "telephony", "cusax"}, c.Aspect) {
				t.Errorf("JudgeAuditFindings(%s): change %s for aspect %q", req.Account, c.ID, c.Aspect)
			}
			if c.Reason == "" {
				t.Errorf("JudgeAuditFindings(%s): change %s must say why", req.Account, c.ID)
			}
		}
	}
}
