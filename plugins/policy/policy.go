// Package policy is cusax's default policy plugin ("default"): the rules of
// RFC 7081 for choosing the account of a call (§3.4, strategies 6–7), for
// calls that may cost money (§5), for caller bindings (§3.5) and for
// security parity (§7). It leaves audit-tls severities to the profile.
package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/dialtarget"
	"github.com/cusax/cusax/pkg/protocol"
)

// Name is the policy's plugin name.
const Name = "default"

// Version is set at build time.
var Version = "dev"

// Default is the default policy.
type Default struct{}

var (
	_ protocol.Policy     = Default{}
	_ protocol.AuditJudge = Default{}
)

// New returns the default policy.
func New() Default { return Default{} }

// Info describes the policy.
func (Default) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindPolicy, Name: Name, Version: Version, APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapChooseAccount, protocol.CapApproveCost, protocol.CapCallerBinding, protocol.CapSecurityParity},
		Description:  "RFC 7081 defaults: related account first, cost gate, parity warnings",
	}, nil
}

// ChooseAccount follows RFC 7081 §3.4: an explicit --via wins; a contact
// from a CUSAX account's roster goes through the related SIP account; with
// a single telephony-capable account, call at once (strategy 6); otherwise
// the user chooses (strategy 7).
func (Default) ChooseAccount(_ context.Context, req protocol.ChooseAccountRequest) (protocol.Decision, error) {
	var tel []protocol.AccountCandidate
	for _, c := range req.Candidates {
		if c.Telephony {
			tel = append(tel, c)
		}
	}
	names := candidateNames(tel)
	if req.Requested != "" {
		for _, c := range tel {
			if c.Name == req.Requested {
				return protocol.Decision{Verdict: protocol.Allow, Choice: c.Name, Reason: "requested with --via"}, nil
			}
		}
		return protocol.Decision{Verdict: protocol.Deny, Reason: fmt.Sprintf("account %q cannot place calls (telephony-capable: %s)", req.Requested, names)}, nil
	}
	if len(tel) == 0 {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "no configured account can place calls"}, nil
	}
	if req.ContactAccount != "" {
		for _, c := range tel {
			if c.Name == req.ContactAccount && c.Related {
				return protocol.Decision{Verdict: protocol.Allow, Choice: c.Name, Reason: "the contact's roster account has a CUSAX relationship with this SIP account (RFC 7081 §3.4)"}, nil
			}
		}
	}
	if len(tel) == 1 {
		return protocol.Decision{Verdict: protocol.Allow, Choice: tel[0].Name, Reason: "the only telephony-capable account (RFC 7081 §3.4)"}, nil
	}
	return protocol.Decision{Verdict: protocol.Ask, Reason: "several telephony-capable accounts and no relationship: choose one with --via (" + names + ")"}, nil
}

func candidateNames(cs []protocol.AccountCandidate) string {
	n := make([]string, len(cs))
	for i, c := range cs {
		n[i] = c.Name
	}
	return strings.Join(n, ", ")
}

// ApproveCost is the RFC 7081 §5 cost gate: a phone number, or a number
// learned from a contact on another domain, may cost money. Such a call
// goes ahead at once when its URI matches one of the user's
// calls.cost_allow patterns (req.Allowlist, matched with
// dialtarget.MatchPattern; the Reason names the pattern) or with --yes;
// otherwise the user is asked on a terminal, and elsewhere it is denied
// with the hint to add --yes.
func (Default) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	if !req.PSTN && !req.InterDomain {
		return protocol.Decision{Verdict: protocol.Allow, Reason: "a SIP call within the service"}, nil
	}
	why := "calling a phone number may cost money (RFC 7081 §5)"
	switch {
	case req.InterDomain && req.PSTN:
		why = "calling a phone number learned from a contact on another domain may cost money (RFC 7081 §5)"
	case req.InterDomain:
		why = "the number was learned from a contact on another domain and may cost money (RFC 7081 §5)"
	}
	for _, p := range req.Allowlist {
		if dialtarget.MatchPattern(p, req.URI) {
			return protocol.Decision{Verdict: protocol.Allow, Reason: fmt.Sprintf("%s; allowed by calls.cost_allow pattern %q", why, p)}, nil
		}
	}
	switch {
	case req.Confirmed:
		return protocol.Decision{Verdict: protocol.Allow, Reason: why + "; confirmed with --yes"}, nil
	case req.Interactive:
		return protocol.Decision{Verdict: protocol.Ask, Reason: why}, nil
	}
	return protocol.Decision{Verdict: protocol.Deny, Reason: why + "; add --yes to allow it, or a matching pattern to calls.cost_allow in the config"}, nil
}

// JudgeCallerBinding flags a mismatch loudly: the Call-Info hint can be
// spoofed (RFC 6993 §4, RFC 7081 §3.5).
func (Default) JudgeCallerBinding(_ context.Context, req protocol.BindingRequest) (protocol.Decision, error) {
	if req.Verdict == "mismatch" {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "the caller's Call-Info hint is not confirmed by that contact's vCard: possible spoof"}, nil
	}
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}

// JudgeSecurityParity keeps the core's findings: the user is told and
// shown how to fix it (RFC 7081 §7), and the login goes on unless the user
// asked for --require-parity.
func (Default) JudgeSecurityParity(_ context.Context, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Allow}, Findings: req.Findings}, nil
}

// JudgeAuditFindings abstains: the audit profile (BCP 195 unless the user
// chose another) has already weighed every finding, and the default policy
// has nothing to add. It does not declare protocol.CapAuditFindings.
func (Default) JudgeAuditFindings(context.Context, protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	return protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Abstain, Reason: "the audit profile decides"}}, nil
}
