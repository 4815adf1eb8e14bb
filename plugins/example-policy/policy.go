// Package examplepolicy is an example third-party policy plugin, built as
// its own executable (cusax-plugin-policy-example) and found in a plugin
// directory. It refuses every call to a phone number, insists on TLS 1.3
// in `cusax audit-tls`, and abstains from everything else, to show how a
// policy chained after the default changes one decision without forking
// cusax. See docs/plugins.md.
package examplepolicy

import (
	"context"
	"slices"

	"github.com/cusax/cusax/pkg/protocol"
)

// Policy is the example policy.
type Policy struct {
	protocol.AbstainingPolicy
}

var (
	_ protocol.Policy     = Policy{}
	_ protocol.AuditJudge = Policy{}
)

// Info describes the plugin.
func (Policy) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindPolicy, Name: "example", Version: "0.1.0", APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapApproveCost, protocol.CapAuditFindings},
		Description:  "example: no calls to phone numbers; TLS 1.3 required",
	}, nil
}

// ApproveCost denies calls to phone numbers.
func (Policy) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	if req.PSTN {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "example policy: calls to phone numbers are off"}, nil
	}
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}

// TLS13Check is the audit check the example re-weighs: "TLS 1.3
// supported", low in the BCP 195 profile (RFC 9325 §3.1.1 says SHOULD
// support), high for an organisation that requires it.
const TLS13Check = "tls.tls13"

// JudgeAuditFindings raises "TLS 1.3 supported" to high wherever the
// profile weighs it lower, so an endpoint without TLS 1.3 fails the audit
// (CRITICAL with the default --fail-on high). It never lowers a
// severity, and abstains when there is nothing to raise.
func (Policy) JudgeAuditFindings(_ context.Context, req protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	var changes []protocol.AuditSeverityChange
	for _, f := range req.Findings {
		if f.ID != TLS13Check || !below(f.Severity, protocol.AuditHigh) {
			continue
		}
		changes = append(changes, protocol.AuditSeverityChange{ID: f.ID, Aspect: f.Aspect, Endpoint: f.Endpoint,
			Severity: protocol.AuditHigh, Reason: "example policy: TLS 1.3 is required here (RFC 9325 §3.1.1 says SHOULD)"})
	}
	if len(changes) == 0 {
		return protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Abstain}}, nil
	}
	return protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Reason: "example policy: TLS 1.3 required"},
		Changes: changes}, nil
}

// below reports whether severity a is weaker than b on the audit scale
// (protocol.AuditSeverities, weakest first; "off" and unknown values are
// never raised).
func below(a, b string) bool {
	i, j := slices.Index(protocol.AuditSeverities, a), slices.Index(protocol.AuditSeverities, b)
	return i >= 0 && a != protocol.AuditOff && i < j
}
