package protocol

import "context"

// AuditJudge is the optional policy decision of `cusax audit-tls`: a policy
// re-weighs the audit findings the core computed under its profile (BCP 195
// by default). It is an extra interface rather than a method of Policy so
// that a policy written before it still compiles; AbstainingPolicy
// implements it, and a policy that does not (or an older plugin binary,
// whose answer is ErrUnsupported) counts as abstaining.
type AuditJudge interface {
	// JudgeAuditFindings returns severity changes for some of req's
	// findings, or abstains. A policy changes severities only: the core
	// keeps statuses, evidence and everything else, rejects changes naming
	// checks or severities it does not know (an error naming the policy),
	// applies the rest and records which policy changed what and why.
	//
	// Error contract: an error stops the audit (the policy chain cannot be
	// judged without it); ErrUnsupported means "abstain".
	JudgeAuditFindings(ctx context.Context, req AuditFindingsRequest) (AuditFindingsDecision, error)
}

// Audit severities: the scale of pkg/core/audit, weakest first, and
// AuditOff, which disables the check (its finding becomes "skipped", as a
// check turned off in a profile).
const (
	AuditInfo     = "info"
	AuditLow      = "low"
	AuditMedium   = "medium"
	AuditHigh     = "high"
	AuditCritical = "critical"
	AuditOff      = "off"
)

// AuditSeverities lists the values an AuditSeverityChange may set.
var AuditSeverities = []string{AuditInfo, AuditLow, AuditMedium, AuditHigh, AuditCritical, AuditOff}

// AuditFindingsRequest carries one account's audit findings, passes and
// skips included.
type AuditFindingsRequest struct {
	Account string `json:"account"`
	// Profile names the severity profile in force ("bcp195", or the name
	// of the user's profile file).
	Profile  string         `json:"profile"`
	Findings []AuditFinding `json:"findings"`
	// Prior is the decision of the policies before this one (its changes
	// are applied after the chain, in chain order; Findings are the core's).
	Prior Prior `json:"prior,omitzero"`
}

// AuditFinding is one check's result on one endpoint, as the core computed
// it (see the "cusax.audit-tls/v1" report).
type AuditFinding struct {
	// ID is a check ID from the audit catalogue, e.g. "tls.tls10".
	ID string `json:"id"`
	// Aspect is "chat" (XMPP), "telephony" (SIP) or "cusax" (both).
	Aspect string `json:"aspect"`
	// Endpoint is the endpoint ID, "dns:<domain>" for discovery checks, or
	// empty for cross-aspect checks.
	Endpoint string `json:"endpoint,omitempty"`
	// Severity is what a failure weighs under the profile (info … critical).
	Severity string `json:"severity"`
	// Status is pass, fail, error or skipped.
	Status   string `json:"status"`
	Evidence string `json:"evidence,omitempty"`
	Ref      string `json:"ref,omitempty"`
}

// AuditSeverityChange re-weighs the findings of one check.
type AuditSeverityChange struct {
	// ID is the check ID; it must be in the audit catalogue.
	ID string `json:"id"`
	// Aspect and Endpoint narrow the change to one aspect or one endpoint;
	// empty means all of them.
	Aspect   string `json:"aspect,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// Severity is one of AuditSeverities.
	Severity string `json:"severity"`
	// Reason says why; it is recorded in the finding.
	Reason string `json:"reason,omitempty"`
}

// AuditFindingsDecision is a policy's answer: Abstain (Changes are then
// ignored) or Allow with the changes to apply, in order (a later change to
// the same finding wins).
type AuditFindingsDecision struct {
	Decision
	Changes []AuditSeverityChange `json:"changes,omitempty"`
}
