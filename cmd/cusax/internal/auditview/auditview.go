// Package auditview is what audit-tls and audit-contacts print alike for
// people: an account's failed checks, worst first, each with evidence,
// reference, fix and policy override, and the one-line verdict on stderr.
package auditview

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/audit"
)

// Failed returns account's failed and errored findings, worst first.
func Failed(r audit.Report, account string) []audit.Finding {
	var shown []audit.Finding
	for _, sev := range []audit.Severity{audit.Critical, audit.High, audit.Medium, audit.Low, audit.Info} {
		for _, f := range r.Findings {
			if f.Account == account && f.Severity == sev && (f.Status == audit.Fail || f.Status == audit.Error) {
				shown = append(shown, f)
			}
		}
	}
	return shown
}

// WriteFindings prints the "Findings" heading and each finding.
func WriteFindings(w io.Writer, s *iostreams.IOStreams, shown []audit.Finding) {
	if len(shown) == 0 {
		fmt.Fprintf(w, "%s none failed\n", s.Bold("Findings"))
	} else {
		fmt.Fprintf(w, "%s %d\n", s.Bold("Findings"), len(shown))
	}
	for _, f := range shown {
		Finding(w, s, f)
	}
}

// Finding prints one finding; what came from a server passes TermSafe.
func Finding(w io.Writer, s *iostreams.IOStreams, f audit.Finding) {
	sev := strings.ToUpper(f.Severity.String())
	switch {
	case f.Status == audit.Error:
		sev = s.Yellow("ERROR")
	case f.Severity >= audit.High:
		sev = s.Red(sev)
	case f.Severity == audit.Medium:
		sev = s.Yellow(sev)
	}
	where := string(f.Aspect)
	if f.Endpoint != "" {
		where += " " + cmdutil.TermSafe(f.Endpoint)
	}
	fmt.Fprintf(w, "  %-8s %s  %s  [%s]\n", sev, f.ID, f.Title, where)
	if f.Evidence != "" {
		fmt.Fprintf(w, "           evidence: %s\n", cmdutil.TermSafe(f.Evidence))
	}
	if f.Ref != "" {
		fmt.Fprintf(w, "           ref:      %s\n", f.Ref)
	}
	if f.Fix != "" {
		fmt.Fprintf(w, "           fix:      %s\n", f.Fix)
	}
	if o := f.Override; o != nil {
		line := fmt.Sprintf("%s under the profile; set by policy %s", o.FromSeverity, o.Policy)
		if o.Reason != "" {
			line += ": " + o.Reason
		}
		fmt.Fprintf(w, "           policy:   %s\n", line)
	}
}

// Verdict is the one-line summary on stderr for a non-zero exit, naming
// the worst failure by what failed (its failure title).
func Verdict(command string, r audit.Report) string {
	name := map[int]string{audit.ExitWarning: "WARNING", audit.ExitCritical: "CRITICAL", audit.ExitUnknown: "UNKNOWN"}[r.Summary.ExitCode]
	msg := fmt.Sprintf("%s %s: %d failed check(s)", command, name, r.Summary.Status[audit.Fail])
	if r.Summary.MaxSeverity != nil {
		msg += ", worst " + r.Summary.MaxSeverity.String()
		for _, f := range r.Findings {
			if f.Status == audit.Fail && f.Severity == *r.Summary.MaxSeverity {
				msg += ": " + f.Title + " (" + f.ID + ")"
				break
			}
		}
	}
	if errs := r.Summary.Status[audit.Error]; errs > 0 {
		msg += fmt.Sprintf(", %d check(s) could not run", errs)
	}
	return msg
}

// Formats are the values of an audit's --format.
var Formats = []string{"text", "json", "ndjson", "openmetrics", "html"}

// Resolve checks an audit's --json/--format pair and --warn-on/--fail-on:
// the format ("text" when none is asked), and the two severities.
func Resolve(asJSON bool, format, warnOn, failOn string) (f string, warn, fail audit.Severity, err error) {
	f = strings.ToLower(format)
	switch {
	case asJSON && f != "" && f != "json":
		return "", 0, 0, cmdutil.Usagef("--json and --format %s disagree", format)
	case asJSON:
		f = "json"
	case f == "":
		f = "text"
	case !slices.Contains(Formats, f):
		return "", 0, 0, cmdutil.Usagef("--format %q: want %s", format, strings.Join(Formats, ", "))
	}
	if warn, err = audit.ParseSeverity(warnOn); err != nil {
		return "", 0, 0, cmdutil.Usagef("--warn-on: %v", err)
	}
	if fail, err = audit.ParseSeverity(failOn); err != nil {
		return "", 0, 0, cmdutil.Usagef("--fail-on: %v", err)
	}
	return f, warn, fail, nil
}
