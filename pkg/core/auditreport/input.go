package auditreport

import (
	"cmp"
	"slices"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
)

// Input is what the renderers read.
type Input struct {
	// Command names the audit that produced Report ("audit-tls",
	// "audit-contacts"): the "command" label of every metric and the title
	// of the page.
	Command string
	// Report is the audit's result, as written by --json.
	Report audit.Report
	// Targets lists the audited targets in the order they were given, so a
	// target without any finding still has its row. Targets named by
	// findings but missing here are added in order of appearance.
	Targets []string
	// Certificates are the certificates the audit saw (CertificatesOf), for
	// the expiry gauge and the page; nil for audits without TLS facts.
	Certificates []Certificate
}

// Certificate is the leaf certificate one endpoint of one target served.
type Certificate struct {
	Target   string
	Aspect   audit.Aspect
	Endpoint string
	Subject  string
	Issuer   string
	NotAfter time.Time
	// SHA256 is the lowercase hex SHA-256 of the leaf certificate.
	SHA256 string
}

// CertificatesOf lists the certificates in an audit-tls run's facts, per
// target, chat before telephony, in endpoint order.
func CertificatesOf(facts []audit.AccountFacts) []Certificate {
	var out []Certificate
	for _, a := range facts {
		for _, asp := range []struct {
			aspect audit.Aspect
			facts  audit.AspectFacts
		}{{audit.Chat, a.Chat}, {audit.Telephony, a.Telephony}} {
			for _, ep := range asp.facts.Endpoints {
				if c := ep.Cert; c != nil {
					out = append(out, Certificate{Target: a.Account, Aspect: asp.aspect, Endpoint: ep.ID,
						Subject: c.Subject, Issuer: c.Issuer, NotAfter: c.NotAfter, SHA256: c.LeafSHA256})
				}
			}
		}
	}
	return out
}

// targets is in.Targets plus any target only the findings or certificates
// name, in order of first appearance.
func (in Input) targets() []string {
	out := slices.Clone(in.Targets)
	add := func(t string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, f := range in.Report.Findings {
		add(f.Account)
	}
	for _, c := range in.Certificates {
		add(c.Target)
	}
	return out
}

// statusRank orders statuses for display and for merging duplicates:
// failed first, then errored, passed, skipped.
func statusRank(s audit.Status) int {
	switch s {
	case audit.Fail:
		return 0
	case audit.Error:
		return 1
	case audit.Pass:
		return 2
	}
	return 3
}

// worstFirst orders findings: failed and errored before the rest, then by
// severity (highest first), then by check id, aspect and endpoint, so the
// output does not depend on probe timing.
func worstFirst(a, b audit.Finding) int {
	if c := cmp.Compare(statusRank(a.Status), statusRank(b.Status)); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Aspect, b.Aspect); c != 0 {
		return c
	}
	return cmp.Compare(a.Endpoint, b.Endpoint)
}
