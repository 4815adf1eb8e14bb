package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Reweighing is the decision of one account's policy chain on that
// account's findings (Issue 6: "a policy plugin may override them"), as
// pkg/core/session.JudgeAudit returns it.
type Reweighing struct {
	// Account is the audited account (Finding.Account) the changes apply
	// to; findings of other accounts are left alone.
	Account string
	// Policy names the policy that decided. It is recorded in every
	// finding it changed and named in errors.
	Policy string
	// Changes apply in order; a later change to the same finding wins.
	Changes []SeverityChange
}

// SeverityChange re-weighs the findings of one check.
type SeverityChange struct {
	// ID is a check ID from the catalogue.
	ID string
	// Aspect and Endpoint narrow the change; empty means every aspect or
	// endpoint.
	Aspect   Aspect
	Endpoint string
	// Severity is a severity name (info, low, medium, high, critical) or
	// SeverityOff.
	Severity string
	// Reason is the policy's explanation, recorded in Override.Reason.
	Reason string
}

// Reweigh returns a copy of r with the policies' severity changes applied,
// and its summary and exit code recomputed under r's warn-on and fail-on.
// r is not modified.
//
// A policy changes severities only. Status, evidence and the rest of a
// finding stay as the rules found them, with one exception that mirrors a
// profile: SeverityOff turns a check off, so its findings become Skipped
// (and lose their Fix) and no longer count towards the exit code or
// completeness. Every finding whose severity or status ends up different
// carries an Override naming the policy, its reason and the values before.
// A change that matches no finding (a check that did not apply to this
// account) changes nothing.
//
// Error contract: if any change names a check outside the catalogue, a
// value that is not a severity or "off" (a status such as "pass" is called
// out as such), or an unknown aspect, nothing is applied and the error
// names the policy, the account and every bad change.
func (r Report) Reweigh(rs ...Reweighing) (Report, error) {
	var errs []error
	for _, rw := range rs {
		if err := rw.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	out := r
	out.Findings = slices.Clone(r.Findings)
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	for _, rw := range rs {
		for i := range out.Findings {
			rw.apply(&out.Findings[i])
		}
	}
	out.Summary = summarize(out.Findings, r.Policy.WarnOn, r.Policy.FailOn)
	return out, nil
}

// validate checks every change and names all the bad ones.
func (rw Reweighing) validate() error {
	var unknown, bad, aspects []string
	for _, c := range rw.Changes {
		if _, ok := LookupCheck(c.ID); !ok {
			unknown = append(unknown, fmt.Sprintf("%q", c.ID))
		}
		if _, _, err := parseChange(c.Severity); err != nil {
			s := fmt.Sprintf("%s = %q", c.ID, c.Severity)
			if isStatus(c.Severity) {
				s += " (a status: a policy changes severities only)"
			}
			bad = append(bad, s)
		}
		switch c.Aspect {
		case "", Chat, Telephony, CUSAX:
		default:
			aspects = append(aspects, fmt.Sprintf("%s for %q", c.ID, c.Aspect))
		}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, "unknown check IDs: "+strings.Join(unknown, ", "))
	}
	if len(bad) > 0 {
		msgs = append(msgs, "bad severities (want info, low, medium, high, critical or off): "+strings.Join(bad, ", "))
	}
	if len(aspects) > 0 {
		msgs = append(msgs, "unknown aspects (want chat, telephony or cusax): "+strings.Join(aspects, ", "))
	}
	if len(msgs) == 0 {
		return nil
	}
	name := rw.Policy
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Errorf("policy %q re-weighing the audit of account %s: %s", name, rw.Account, strings.Join(msgs, "; "))
}

// parseChange reads a change's value: a severity, or off.
func parseChange(v string) (sev Severity, off bool, err error) {
	if strings.EqualFold(v, SeverityOff) {
		return 0, true, nil
	}
	sev, err = ParseSeverity(v)
	return sev, false, err
}

func isStatus(v string) bool {
	switch Status(strings.ToLower(v)) {
	case Pass, Fail, Error, Skipped:
		return true
	}
	return false
}

func (c SeverityChange) matches(account string, f Finding) bool {
	return f.Account == account && f.ID == c.ID &&
		(c.Aspect == "" || f.Aspect == c.Aspect) &&
		(c.Endpoint == "" || f.Endpoint == c.Endpoint)
}

// apply applies rw's changes to f (validated before).
func (rw Reweighing) apply(f *Finding) {
	// What the profile made of f; a finding re-weighed before keeps its
	// first origin.
	fromSev, fromStatus := f.Severity, f.Status
	if f.Override != nil {
		fromSev = f.Override.FromSeverity
		if f.Override.FromStatus != "" {
			fromStatus = f.Override.FromStatus
		}
	}
	sev, status, reason, matched := f.Severity, f.Status, "", false
	for _, c := range rw.Changes {
		if !c.matches(rw.Account, *f) {
			continue
		}
		s, off, _ := parseChange(c.Severity)
		matched, reason = true, c.Reason
		if off {
			// As a check turned off in a profile (Evaluate): skipped. Its
			// severity stays what the profile said.
			status = Skipped
			continue
		}
		sev, status = s, fromStatus
	}
	if !matched || (sev == f.Severity && status == f.Status) {
		return
	}
	f.Severity, f.Status = sev, status
	if _, ok := LookupCheck(f.ID); ok && f.Requirement != "" {
		f.retitle() // a failure turned off is titled by its requirement again
	}
	if status == Skipped && fromStatus != Skipped {
		f.Fix = ""
	} else if status == Fail && f.Fix == "" {
		if c, ok := LookupCheck(f.ID); ok {
			f.Fix = c.Fix // turned off by an earlier Reweigh, on again now
		}
	}
	if sev == fromSev && status == fromStatus {
		f.Override = nil // changed back to what the profile said
		return
	}
	o := &Override{Policy: rw.Policy, Reason: reason, FromSeverity: fromSev}
	if status != fromStatus {
		o.FromStatus = fromStatus
	}
	f.Override = o
}
