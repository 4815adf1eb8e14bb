package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
)

// JudgeAudit runs one account's audit findings through the policy chain:
// the first policy that does not abstain decides, as for security parity
// (JudgeParity). A policy that does not implement protocol.AuditJudge, or
// answers ErrUnsupported (a plugin built before the decision existed),
// abstains. The deciding policy's name is filled in from its Info when it
// left Decision.Policy empty. When every policy abstains, so does the
// result, with Policy "none" and no changes.
//
// Error contract: a policy's error, or a verdict other than abstain or
// allow, is an error naming the policy. The changes themselves are checked
// when they are applied (audit.Report.Reweigh).
func JudgeAudit(ctx context.Context, policies []protocol.Policy, req protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	for _, p := range policies {
		j, ok := p.(protocol.AuditJudge)
		if !ok {
			continue
		}
		d, err := j.JudgeAuditFindings(ctx, req)
		if errors.Is(err, protocol.ErrUnsupported) {
			continue
		}
		if err != nil {
			return protocol.AuditFindingsDecision{}, fmt.Errorf("audit policy %s: %w", policyName(ctx, p), err)
		}
		switch d.Verdict {
		case protocol.Abstain:
			continue
		case protocol.Allow:
		default:
			return protocol.AuditFindingsDecision{}, fmt.Errorf("audit policy %s: verdict %q on audit findings (want allow or abstain): %w",
				policyName(ctx, p), d.Verdict, protocol.ErrProtocol)
		}
		if d.Policy == "" {
			d.Policy = policyName(ctx, p)
		}
		return d, nil
	}
	return protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Abstain, Policy: "none"}}, nil
}

// policyName is the policy's own name, for records and errors.
func policyName(ctx context.Context, p protocol.Policy) string {
	if info, err := p.Info(ctx); err == nil && info.Name != "" {
		return info.Name
	}
	return "(unnamed)"
}

// ReweighAudit lets each audited account's policy chain (its policies,
// then "default") re-weigh that account's findings in r, and returns the
// re-weighed report with its summary and exit code recomputed; r is not
// modified. It starts each account's policy plugins and stops them before
// returning; an account without findings in r starts nothing.
//
// Error contract: a policy plugin that cannot start, fails, or asks for a
// change the audit does not know (see audit.Report.Reweigh) is an error
// naming the policy and the account; the report is then not re-weighed.
func ReweighAudit(ctx context.Context, host *pluginhost.Host, accounts []config.Account, r audit.Report) (audit.Report, error) {
	return reweighAudit(ctx, func(a config.Account) ([]protocol.Policy, func(), error) {
		plugins, err := OpenAspects(ctx, host, a, false, false)
		if err != nil {
			return nil, nil, err
		}
		chain, err := plugins.Policies(ctx)
		if err != nil {
			plugins.Close()
			return nil, nil, err
		}
		return chain, plugins.Close, nil
	}, accounts, r)
}

// reweighAudit is ReweighAudit with the chain's start injected (tests).
func reweighAudit(ctx context.Context, start func(config.Account) ([]protocol.Policy, func(), error), accounts []config.Account, r audit.Report) (audit.Report, error) {
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
		d, err := JudgeAudit(ctx, chain, req)
		stop()
		if err != nil {
			return audit.Report{}, fmt.Errorf("account %s: %w", a.Name, err)
		}
		if d.Verdict == protocol.Abstain {
			continue
		}
		rw := audit.Reweighing{Account: a.Name, Policy: d.Policy}
		for _, c := range d.Changes {
			rw.Changes = append(rw.Changes, audit.SeverityChange{ID: c.ID, Aspect: audit.Aspect(c.Aspect), Endpoint: c.Endpoint,
				Severity: c.Severity, Reason: c.Reason})
		}
		rs = append(rs, rw)
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
