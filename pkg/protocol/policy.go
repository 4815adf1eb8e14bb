package protocol

import (
	"context"
	"math"
)

// Policy takes decisions for the core. Policies are chained (see
// docs/plugins.md): the default policy first, then the account's
// `policy = [...]` list in order. Each gets the request with the decision
// so far in its Prior field; abstaining keeps that decision, any other
// verdict replaces it, and the last policy that did not abstain decides.
// Every decision records which policy made it and the whole trail (Chain).
// Decisions added after API v1 was released are extra interfaces a policy
// may implement (AuditJudge).
type Policy interface {
	Describer
	// ChooseAccount picks the account a call goes through (RFC 7081 §3.4,
	// strategies 6–7).
	ChooseAccount(ctx context.Context, req ChooseAccountRequest) (Decision, error)
	// ApproveCost decides whether a call that may cost money goes ahead
	// (RFC 7081 §5).
	ApproveCost(ctx context.Context, req CostRequest) (Decision, error)
	// JudgeCallerBinding decides how to treat a caller-to-JID binding
	// (RFC 7081 §3.5, RFC 6993 §4).
	JudgeCallerBinding(ctx context.Context, req BindingRequest) (Decision, error)
	// JudgeSecurityParity weighs the two aspects' protection against each
	// other (RFC 7081 §7).
	JudgeSecurityParity(ctx context.Context, req ParityRequest) (ParityDecision, error)
}

// PolicySettingsEnv names the environment variable in which the host
// passes a policy plugin its own settings, the config's [policies.NAME]
// table, as a JSON object of strings ({"premium_rate":"deny"}). It is
// unset when the table is absent. Settings are not secret. A plugin that
// rejects them answers Info with an error naming the key, and does not
// start (see plugin.PolicySettings in pkg/protocol/plugin).
const PolicySettingsEnv = "CUSAX_POLICY_SETTINGS"

// Verdict is the outcome of one decision.
type Verdict string

// Verdicts.
const (
	Abstain Verdict = "abstain" // no opinion: ask the next policy
	Allow   Verdict = "allow"
	Deny    Verdict = "deny"
	Ask     Verdict = "ask" // ask the user when on a TTY, else deny
)

// Decision is a policy's answer.
type Decision struct {
	Verdict Verdict `json:"verdict"`
	// Choice is the chosen item (an account name for ChooseAccount).
	Choice string `json:"choice,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Policy names the policy that decided; filled in by the chain.
	Policy string `json:"policy,omitempty"`
	// Chain is the trail the core records: every policy consulted, in
	// order, with its own answer. A policy leaves it empty; it is not sent
	// over the wire.
	Chain []DecisionStep `json:"chain,omitempty"`
}

// DecisionStep is one policy's answer in a chain (Decision.Chain).
type DecisionStep struct {
	Policy  string  `json:"policy"`
	Verdict Verdict `json:"verdict"`
	Choice  string  `json:"choice,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	// ElapsedMS is how long the policy took to answer, in milliseconds.
	ElapsedMS float64 `json:"elapsed_ms"`
}

// MarshalJSON writes ElapsedMS as whole milliseconds: cusax's JSON has
// one unit of time, integer milliseconds (docs/json.md). --debug shows
// the tenths.
func (s DecisionStep) MarshalJSON() ([]byte, error) {
	type plain DecisionStep // no MarshalJSON: no recursion
	return marshalNoEscape(struct {
		plain
		ElapsedMS int64 `json:"elapsed_ms"`
	}{plain(s), int64(math.Round(s.ElapsedMS))})
}

// Prior is the decision so far, as the next policy in the chain sees it:
// empty (Verdict "") for the first policy, or when every earlier policy
// abstained. A plugin built before Prior existed never sees it.
type Prior struct {
	Verdict Verdict `json:"verdict,omitempty"`
	Choice  string  `json:"choice,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Policy  string  `json:"policy,omitempty"`
}

// AccountCandidate is one account that could carry a call.
type AccountCandidate struct {
	Name      string `json:"name"`
	Telephony bool   `json:"telephony"`
	Related   bool   `json:"related"` // has a CUSAX relationship (RFC 7081 §3.4)
	JID       string `json:"jid,omitempty"`
	AOR       string `json:"aor,omitempty"`
	IsDefault bool   `json:"is_default,omitempty"`
}

// ChooseAccountRequest asks which account a call goes through.
type ChooseAccountRequest struct {
	Target string `json:"target"`
	// ContactAccount is the account whose roster the contact came from.
	ContactAccount string             `json:"contact_account,omitempty"`
	Candidates     []AccountCandidate `json:"candidates"`
	Interactive    bool               `json:"interactive"`
	Requested      string             `json:"requested,omitempty"` // --via
	// Prior is the decision of the policies before this one.
	Prior Prior `json:"prior,omitzero"`
}

// CostRequest asks whether a call that may cost money may proceed.
type CostRequest struct {
	Target      string `json:"target"`
	URI         string `json:"uri"`
	Account     string `json:"account"`
	PSTN        bool   `json:"pstn"`         // a phone number rather than a SIP URI
	InterDomain bool   `json:"inter_domain"` // learned from a contact on another domain
	Interactive bool   `json:"interactive"`
	Confirmed   bool   `json:"confirmed"` // --yes
	// Allowlist holds the user's configured patterns of targets that may
	// be called without confirmation (config calls.cost_allow).
	Allowlist []string `json:"allowlist,omitempty"`
	// Region is the ISO 3166-1 alpha-2 country national numbers are
	// written in (config calls.region), or empty.
	Region string `json:"region,omitempty"`
	// Prior is the decision of the policies before this one.
	Prior Prior `json:"prior,omitzero"`
}

// BindingRequest asks how to treat a caller and its claimed JID.
type BindingRequest struct {
	Caller  string `json:"caller"`
	Hint    string `json:"hint,omitempty"`
	JID     string `json:"jid,omitempty"`
	Verdict string `json:"verdict"` // verified, mismatch, … as computed by the core
	// Prior is the decision of the policies before this one.
	Prior Prior `json:"prior,omitzero"`
}

// ParityRequest carries both aspects' connection reports.
type ParityRequest struct {
	Account   string           `json:"account"`
	Chat      ConnectionReport `json:"chat"`
	Telephony ConnectionReport `json:"telephony"`
	// Findings are the core's, as adjusted by the policies before this one.
	Findings []ParityFinding `json:"findings"`
	// Prior is the decision of the policies before this one.
	Prior Prior `json:"prior,omitzero"`
}

// ParityFinding is one difference between the aspects' protection.
type ParityFinding struct {
	ID       string `json:"id"`       // e.g. "parity.encryption"
	Severity string `json:"severity"` // info, warning, critical
	Message  string `json:"message"`
	// Fix names the exact flag or setting that brings both aspects to the
	// same level (RFC 7081 §7: "given the opportunity").
	Fix string `json:"fix,omitempty"`
}

// ParityDecision is a policy's view of the parity findings.
type ParityDecision struct {
	Decision
	// Findings may be adjusted (severity raised or lowered) by the policy.
	Findings []ParityFinding `json:"findings"`
}

// HostPIDEnv carries the host's pid to every plugin it starts. A plugin
// must not outlive its host: a plugin whose parent is no longer that pid
// (the host was killed and the plugin re-parented) logs out and exits
// (package plugin's Serve does this).
const HostPIDEnv = "CUSAX_PLUGIN_HOST_PID"

// LogLevelEnv carries the log level the host wants from a plugin (hclog
// level names: trace, debug, info, warn, error).
const LogLevelEnv = "CUSAX_PLUGIN_LOG_LEVEL"
