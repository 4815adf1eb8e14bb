package auditreport

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
)

// ContentTypeOpenMetrics is the media type of WriteOpenMetrics's output
// (OpenMetrics 1.0.0 text format).
const ContentTypeOpenMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8"

// Metric names. Every family is a gauge and every name is shared by all
// audit commands (the "command" label tells them apart), so that the
// node-exporter textfile collector, which merges the families of all its
// files, sees one HELP text per name.
const (
	MetricCheckFailed   = "cusax_audit_check_failed"
	MetricCheckErrored  = "cusax_audit_check_errored"
	MetricCertNotAfter  = "cusax_audit_certificate_not_after_timestamp_seconds"
	MetricFailedChecks  = "cusax_audit_failed_checks"
	MetricErroredChecks = "cusax_audit_errored_checks"
	MetricComplete      = "cusax_audit_complete"
	MetricExitCode      = "cusax_audit_exit_code"
	MetricLastRun       = "cusax_audit_last_run_timestamp_seconds"
	MetricRunDuration   = "cusax_audit_run_duration_seconds"
)

// WriteOpenMetrics writes in as OpenMetrics text (one gauge family after
// the other, ending with "# EOF"):
//
//   - cusax_audit_check_failed{command,target,aspect,endpoint,check,severity}:
//     1 for a failed check, 0 for a passed one. severity is what a failure
//     weighs under the profile (after any policy plugin), so an alert can
//     select `cusax_audit_check_failed{severity=~"high|critical"} == 1`.
//   - cusax_audit_check_errored{…same labels}: 1 for each check that could
//     not run (the audit is incomplete). Skipped checks (not asked, or not
//     applicable) have no series; they are in --json.
//   - cusax_audit_certificate_not_after_timestamp_seconds{command,target,
//     aspect,endpoint}: the leaf certificate's notAfter as a Unix time, so
//     `… - time() < 14*86400` keeps working while the file ages.
//   - cusax_audit_failed_checks{command,severity} (every severity, zeros
//     included), cusax_audit_errored_checks, cusax_audit_complete (1 or 0),
//     cusax_audit_exit_code, cusax_audit_last_run_timestamp_seconds and
//     cusax_audit_run_duration_seconds{command}.
//
// An empty label value (endpoint of a cross-aspect check) is left out, as
// Prometheus treats it. Two findings with the same labels (possible when a
// policy re-weighs only one of them) become one series, the failure
// winning. The output is also valid in the Prometheus text format 0.0.4
// (no UNIT, no timestamps, no types but gauge; "# EOF" is a comment there),
// which is what the textfile collector parses.
func WriteOpenMetrics(w io.Writer, in Input) error {
	bw := bufio.NewWriter(w)
	cmdLabel := label{"command", in.Command}
	order := map[string]int{}
	for i, t := range in.targets() {
		order[t] = i
	}

	type series struct {
		labels []label
		key    string
		value  float64
		target int
	}
	collect := func(status audit.Status) []series {
		byKey := map[string]*series{}
		var out []*series
		for _, f := range in.Report.Findings {
			var v float64
			switch {
			case status == audit.Error && f.Status == audit.Error:
				v = 1
			case status == audit.Fail && f.Status == audit.Fail:
				v = 1
			case status == audit.Fail && f.Status == audit.Pass:
				v = 0
			default:
				continue
			}
			ls := []label{cmdLabel, {"target", f.Account}, {"aspect", string(f.Aspect)},
				{"endpoint", f.Endpoint}, {"check", f.ID}, {"severity", sevName(f.Severity)}}
			key := formatLabels(ls)
			if s, ok := byKey[key]; ok {
				s.value = max(s.value, v)
				continue
			}
			s := &series{labels: ls, key: key, value: v, target: order[f.Account]}
			byKey[key] = s
			out = append(out, s)
		}
		res := make([]series, len(out))
		for i, s := range out {
			res[i] = *s
		}
		slices.SortStableFunc(res, func(a, b series) int {
			return cmp.Or(cmp.Compare(a.target, b.target), cmp.Compare(a.key, b.key))
		})
		return res
	}

	family := func(name, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	sample := func(name string, ls []label, v float64) {
		fmt.Fprintf(bw, "%s%s %s\n", name, formatLabels(ls), formatValue(v))
	}

	family(MetricCheckFailed, "Result of one audit check: 1 failed, 0 passed; severity is what a failure weighs.")
	for _, s := range collect(audit.Fail) {
		sample(MetricCheckFailed, s.labels, s.value)
	}
	family(MetricCheckErrored, "An audit check that could not run (1); the audit is incomplete.")
	for _, s := range collect(audit.Error) {
		sample(MetricCheckErrored, s.labels, s.value)
	}
	if len(in.Certificates) > 0 {
		family(MetricCertNotAfter, "Expiry (notAfter) of the certificate an audited endpoint served, as a Unix time.")
		seen := map[string]bool{}
		certs := slices.Clone(in.Certificates)
		slices.SortStableFunc(certs, func(a, b Certificate) int { return cmp.Compare(order[a.Target], order[b.Target]) })
		for _, c := range certs {
			ls := []label{cmdLabel, {"target", c.Target}, {"aspect", string(c.Aspect)}, {"endpoint", c.Endpoint}}
			if key := formatLabels(ls); !seen[key] {
				seen[key] = true
				sample(MetricCertNotAfter, ls, unixSeconds(c.NotAfter))
			}
		}
	}
	sum := in.Report.Summary
	family(MetricFailedChecks, "Failed audit checks of the last run, by severity.")
	for _, sev := range audit.Severities() {
		sample(MetricFailedChecks, []label{cmdLabel, {"severity", sev.String()}}, float64(sum.Failed[sev]))
	}
	family(MetricErroredChecks, "Audit checks of the last run that could not run.")
	sample(MetricErroredChecks, []label{cmdLabel}, float64(sum.Status[audit.Error]))
	family(MetricComplete, "1 if every check of the last audit run could run, else 0.")
	sample(MetricComplete, []label{cmdLabel}, boolValue(sum.Complete))
	family(MetricExitCode, "Exit code of the last audit run (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).")
	sample(MetricExitCode, []label{cmdLabel}, float64(sum.ExitCode))
	family(MetricLastRun, "When the last audit run finished, as a Unix time.")
	sample(MetricLastRun, []label{cmdLabel}, unixSeconds(in.Report.FinishedAt))
	family(MetricRunDuration, "How long the last audit run took.")
	sample(MetricRunDuration, []label{cmdLabel}, in.Report.FinishedAt.Sub(in.Report.StartedAt).Seconds())
	bw.WriteString("# EOF\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

type label struct{ name, value string }

// formatLabels renders {a="x",b="y"}, leaving out empty values; "" when
// none is left.
func formatLabels(ls []label) string {
	var b strings.Builder
	for _, l := range ls {
		if l.value == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(l.name)
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(l.value))
		b.WriteByte('"')
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteByte('}')
	return b.String()
}

// labelEscaper escapes what OpenMetrics (and the 0.0.4 text format) require
// in a label value: backslash, double quote and line feed.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// escapeLabelValue escapes v; invalid UTF-8 (a label value must be UTF-8)
// becomes U+FFFD.
func escapeLabelValue(v string) string {
	return labelEscaper.Replace(strings.ToValidUTF8(v, "\uFFFD"))
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// unixSeconds is t as fractional Unix seconds, to the millisecond.
func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sevName is the severity's name, or "" (label left out) for an invalid
// one rather than "Severity(0)".
func sevName(s audit.Severity) string {
	if s.Valid() {
		return s.String()
	}
	return ""
}
