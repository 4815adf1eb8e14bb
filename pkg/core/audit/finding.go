package audit

import (
	"fmt"
	"strings"
)

// Severity says how much a failed check weighs. The scale is the one the
// research recommends (docs: ../shared/research/audit-tls-checks.md §4), tied
// to the RFC 2119 keyword the check enforces so that a severity can be
// argued from the spec rather than from taste:
//
//   - Critical: a MUST whose violation breaks confidentiality or server
//     authentication outright (no TLS possible, untrusted or wrong-name
//     certificate, NULL/EXPORT suites).
//   - High: any other MUST / MUST NOT (TLS 1.0 accepted, no extended master
//     secret, PLAIN before TLS).
//   - Medium: SHOULD / SHOULD NOT.
//   - Low: RECOMMENDED or best current practice.
//   - Info: inventory, no verdict.
//
// The names are testssl.sh's (minus its OK/DEBUG/WARN), so findings can be
// compared side by side; the calibration is not (testssl rates TLS 1.0 LOW
// although RFC 9325 §3.1.1 says MUST NOT).
//
// The zero value is not a severity; it marshals as an error.
type Severity int

// Severities, weakest first; the order is the numeric order.
const (
	Info Severity = iota + 1
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{Info: "info", Low: "low", Medium: "medium", High: "high", Critical: "critical"}

// Severities lists every severity, weakest first.
func Severities() []Severity { return []Severity{Info, Low, Medium, High, Critical} }

// String returns the lowercase name ("high"), or "Severity(N)" for an
// invalid value.
func (s Severity) String() string {
	if s.Valid() {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Valid reports whether s is one of the five severities.
func (s Severity) Valid() bool { return s >= Info && s <= Critical }

// ParseSeverity parses a severity name, case-insensitively. The error names
// the valid values.
func ParseSeverity(name string) (Severity, error) {
	for _, s := range Severities() {
		if strings.EqualFold(name, severityNames[s]) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", name)
}

// MarshalText implements encoding.TextMarshaler; an invalid severity is an
// error, so no report carries "Severity(0)".
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("marshal severity: invalid value %d", int(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is the outcome of one check, as in sslyze's per-command status: a
// check that did not run is never reported as passed.
type Status string

// Statuses.
const (
	// Pass: the check ran and the requirement holds.
	Pass Status = "pass"
	// Fail: the check ran and the requirement does not hold; Severity says
	// how much that weighs.
	Fail Status = "fail"
	// Error: the check should have run but could not (timeout, DNS failure,
	// a broken STARTTLS dialog). Any Error makes the audit incomplete.
	Error Status = "error"
	// Skipped: the check does not apply or was not asked for (no TLS to
	// inspect, a probe mode that was off, disabled by the profile).
	Skipped Status = "skipped"
)

// Aspect names the part of the account a finding is about. "chat" is the
// XMPP aspect and "telephony" the SIP aspect, as everywhere in cusax;
// "cusax" marks the cross-aspect checks of RFC 7081 §7.
type Aspect string

// Aspects.
const (
	Chat      Aspect = "chat"
	Telephony Aspect = "telephony"
	CUSAX     Aspect = "cusax"
)

// Finding is the result of one check on one endpoint (or, for discovery and
// cross-aspect checks, on one account).
type Finding struct {
	// ID is a check ID from the catalogue (Checks), e.g. "tls.tls10".
	ID string `json:"id"`
	// Account names the audited account; set by Evaluate from
	// AccountFacts.Account.
	Account string `json:"account,omitempty"`
	Aspect  Aspect `json:"aspect"`
	// Endpoint is the endpoint ID (EndpointFacts.ID), or "dns:<domain>" for
	// discovery checks, or "" for cross-aspect checks.
	Endpoint string `json:"endpoint,omitempty"`
	// Severity is what a failure of this check weighs under the profile. It
	// is set whatever the Status, so a reader sees what passed at which
	// weight; only failed findings count towards exit codes.
	Severity Severity `json:"severity"`
	Status   Status   `json:"status"`
	// Title says what was found: for a failure what failed ("TLS 1.0
	// accepted"), otherwise the requirement ("TLS 1.0 not accepted").
	Title string `json:"title"`
	// Requirement is the requirement the check enforces, whatever the
	// status (the catalogue's Check.Title).
	Requirement string `json:"requirement,omitempty"`
	// Evidence is what was observed, or why the check errored or was
	// skipped.
	Evidence string `json:"evidence,omitempty"`
	// Ref is the spec section the requirement comes from.
	Ref string `json:"ref"`
	// Fix says what the operator changes to pass; empty for passes.
	Fix string `json:"fix,omitempty"`
	// Override is set when a policy plugin re-weighed this finding
	// (Reweigh); absent otherwise.
	Override *Override `json:"override,omitempty"`
}

// Override records a policy plugin's change to a finding, and what the
// finding was before it, so a report shows the profile's verdict and the
// policy's side by side.
type Override struct {
	// Policy names the policy plugin that changed the finding.
	Policy string `json:"policy"`
	// Reason is the policy's own explanation.
	Reason string `json:"reason,omitempty"`
	// FromSeverity is the severity under the profile.
	FromSeverity Severity `json:"from_severity"`
	// FromStatus is set when the policy turned the check off, making the
	// finding Skipped: the status it had.
	FromStatus Status `json:"from_status,omitempty"`
}
