package session

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/protocol"
)

// JudgeAudit runs one account's audit findings through the policy chain
// in its documented order (policychain.Order: the default policy first,
// then the account's list). Every policy sees the core's findings and the
// decision so far (Prior); each one that does not abstain contributes its
// changes, and the core applies them in chain order, so a later policy's
// change to the same finding wins (as a later change within one answer
// does). A policy that does not implement protocol.AuditJudge, or answers
// ErrUnsupported (a plugin built before the decision existed), abstains.
//
// It returns every answer that did not abstain, in chain order, each with
// its Policy; and the final decision with the whole trail (Chain): Policy
// "none" and verdict abstain when every policy abstained.
//
// Error contract: a policy's error, or a verdict other than abstain or
// allow, is an error naming the policy; a policy that hangs or dies is
// cut off (policychain.Run). The changes themselves are checked when they
// are applied (audit.Report.Reweigh).
func JudgeAudit(ctx context.Context, chain policychain.Chain, req protocol.AuditFindingsRequest) ([]protocol.AuditFindingsDecision, protocol.Decision, error) {
	res, err := policychain.Run(ctx, chain, policychain.Op[protocol.AuditFindingsDecision]{
		Name: "JudgeAuditFindings",
		Ask: func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (protocol.AuditFindingsDecision, error) {
			j, ok := p.(protocol.AuditJudge)
			if !ok {
				return protocol.AuditFindingsDecision{}, protocol.ErrUnsupported
			}
			r := req
			r.Prior = prior
			return j.JudgeAuditFindings(ctx, r)
		},
		Decision: func(d *protocol.AuditFindingsDecision) *protocol.Decision { return &d.Decision },
		Verdicts: []protocol.Verdict{protocol.Allow},
	})
	if err != nil {
		return nil, protocol.Decision{}, err
	}
	return res.Decided, res.Final.Decision, nil
}

// ReweighAudit lets each audited account's policy chain (the default
// policy, then its policies) re-weigh that account's findings in r, and returns the
// re-weighed report with its summary and exit code recomputed; r is not
// modified. It starts each account's policy plugins and stops them before
// returning; an account without findings in r starts nothing.
//
// Error contract: a policy plugin that cannot start, fails, or asks for a
// change the audit does not know (see audit.Report.Reweigh) is an error
// naming the policy and the account; the report is then not re-weighed.
func ReweighAudit(ctx context.Context, src Source, accounts []config.Account, r audit.Report) (audit.Report, error) {
	return reweighAudit(ctx, func(a config.Account) (policychain.Chain, func(), error) {
		plugins, err := Open(ctx, src, a, PoliciesOnly())
		if err != nil {
			return policychain.Chain{}, nil, err
		}
		chain, err := plugins.Policies(ctx)
		if err != nil {
			plugins.Close()
			return policychain.Chain{}, nil, err
		}
		return chain, plugins.Close, nil
	}, accounts, r)
}

// reweighAudit is ReweighAudit with the chain's start injected (tests).
func reweighAudit(ctx context.Context, start func(config.Account) (policychain.Chain, func(), error), accounts []config.Account, r audit.Report) (audit.Report, error) {
	var rs []audit.Reweighing
	seen := map[string]bool{}
	for _, a := range accounts {
		if seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		req := auditRequest(a.Name, r)
		if len(req.Findings) == 0 {
			continue
		}
		chain, stop, err := start(a)
		if err != nil {
			return audit.Report{}, fmt.Errorf("account %s: policies: %w", a.Name, err)
		}
		decided, _, err := JudgeAudit(ctx, chain, req)
		stop()
		if err != nil {
			return audit.Report{}, fmt.Errorf("account %s: %w", a.Name, err)
		}
		for _, d := range decided {
			rw := audit.Reweighing{Account: a.Name, Policy: d.Policy}
			for _, c := range d.Changes {
				rw.Changes = append(rw.Changes, audit.SeverityChange{ID: c.ID, Aspect: audit.Aspect(c.Aspect), Endpoint: c.Endpoint,
					Severity: c.Severity, Reason: c.Reason})
			}
			rs = append(rs, rw)
		}
	}
	return r.Reweigh(rs...)
}

// auditRequest is the request for one account's findings in r.
func auditRequest(account string, r audit.Report) protocol.AuditFindingsRequest {
	req := protocol.AuditFindingsRequest{Account: account, Profile: r.Policy.Profile}
	for _, f := range r.Findings {
		if f.Account != account {
			continue
		}
		req.Findings = append(req.Findings, protocol.AuditFinding{ID: f.ID, Aspect: string(f.Aspect), Endpoint: f.Endpoint,
			Severity: f.Severity.String(), Status: string(f.Status), Evidence: f.Evidence, Ref: f.Ref})
	}
	return req
}
