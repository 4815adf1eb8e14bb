package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Schema names the JSON report format. The major version changes only when
// a field is removed or changes meaning; fields are only ever added.
const Schema = "cusax.audit-tls/v1"

// Exit codes, in the monitoring-plugin convention (Nagios / Monitoring
// Plugins guidelines) that operators already script against.
const (
	ExitOK       = 0 // every check ran; no failure at or above warn-on
	ExitWarning  = 1 // a failure at or above warn-on, below fail-on
	ExitCritical = 2 // a failure at or above fail-on (wins over Unknown)
	ExitUnknown  = 3 // a check errored and nothing reached fail-on
)

// ExitCode maps findings to the audit's exit code:
//
//	2 CRITICAL  some failed finding has Severity >= failOn
//	3 UNKNOWN   otherwise, some finding has Status Error (the audit is
//	            incomplete, so "OK" or "WARNING" cannot be claimed)
//	1 WARNING   otherwise, some failed finding has Severity >= warnOn
//	0 OK        otherwise
//
// CRITICAL wins over UNKNOWN: a confirmed failure stays a failure even if
// other probes did not finish. Passed and skipped findings never count.
// If warnOn > failOn, failOn decides alone. Defaults for the command:
// warnOn Medium, failOn High.
//
// How this fits cusax's global table (cmd/cusax/internal/cmdutil/exit.go,
// `cusax help exit-codes`): code 3 is reserved there for audit findings,
// and audit-tls is the one command whose codes 0–3 follow this
// convention instead of the global meanings (1 error, 2 usage). So that a
// monitoring system never reads a usage error as CRITICAL, audit-tls maps
// anything that prevents the audit itself (bad flags, an unreadable
// profile or targets file, no account) to 3 UNKNOWN, as the Monitoring
// Plugins guidelines prescribe for invalid arguments, with the error on
// stderr. 130 (interrupted) keeps its global meaning. The other global
// codes (4–13) are not used by audit-tls: an authentication failure or a
// TLS failure is a finding here, not an error.
func ExitCode(findings []Finding, warnOn, failOn Severity) int {
	worst, errored := Severity(0), false
	for _, f := range findings {
		switch f.Status {
		case Fail:
			worst = max(worst, f.Severity)
		case Error:
			errored = true
		}
	}
	switch {
	case worst != 0 && worst >= failOn:
		return ExitCritical
	case errored:
		return ExitUnknown
	case worst != 0 && worst >= warnOn:
		return ExitWarning
	}
	return ExitOK
}

// Report is the JSON document of one audit run (--json).
type Report struct {
	// Schema is always the constant Schema.
	Schema     string    `json:"schema"`
	Tool       Tool      `json:"tool"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Policy     Policy    `json:"policy"`
	Summary    Summary   `json:"summary"`
	// Findings are all per-check results, passes and skips included.
	Findings []Finding `json:"findings"`
}

// Tool identifies the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Policy records the profile and thresholds in force.
type Policy struct {
	Profile string   `json:"profile"`
	Source  string   `json:"source"`
	WarnOn  Severity `json:"warn_on"`
	FailOn  Severity `json:"fail_on"`
}

// Summary counts findings.
type Summary struct {
	// Complete is false when any check errored (exit code 3 unless a
	// failure reached fail-on).
	Complete bool `json:"complete"`
	// Status counts findings by status.
	Status map[Status]int `json:"status"`
	// Failed counts failed findings by severity.
	Failed map[Severity]int `json:"failed"`
	// MaxSeverity is the highest severity among failed findings; absent
	// when nothing failed.
	MaxSeverity *Severity `json:"max_severity,omitempty"`
	// ExitCode repeats the process exit code (see ExitCode).
	ExitCode int `json:"exit_code"`
}

// NewReport builds a report from the findings of all audited accounts.
func NewReport(tool Tool, started, finished time.Time, p Profile, warnOn, failOn Severity, findings []Finding) Report {
	if findings == nil {
		findings = []Finding{}
	}
	return Report{Schema: Schema, Tool: tool, StartedAt: started.UTC(), FinishedAt: finished.UTC(),
		Policy:  Policy{Profile: p.Name, Source: p.Source, WarnOn: warnOn, FailOn: failOn},
		Summary: summarize(findings, warnOn, failOn), Findings: findings}
}

// summarize counts findings and computes the exit code.
func summarize(findings []Finding, warnOn, failOn Severity) Summary {
	s := Summary{Complete: true, Status: map[Status]int{}, Failed: map[Severity]int{},
		ExitCode: ExitCode(findings, warnOn, failOn)}
	for _, f := range findings {
		s.Status[f.Status]++
		switch f.Status {
		case Fail:
			s.Failed[f.Severity]++
			if s.MaxSeverity == nil || f.Severity > *s.MaxSeverity {
				sev := f.Severity
				s.MaxSeverity = &sev
			}
		case Error:
			s.Complete = false
		}
	}
	return s
}

// WriteJSON writes r as one indented JSON document followed by a newline.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// ndjsonLine is one line of --format ndjson: the finding with the schema
// name, so each line stands alone in a log pipeline.
type ndjsonLine struct {
	Schema string `json:"schema"`
	Finding
}

// WriteNDJSON writes one JSON object per finding per line (--format
// ndjson), each carrying "schema", for log pipelines and SIEMs.
func WriteNDJSON(w io.Writer, findings []Finding) error {
	enc := json.NewEncoder(w) // Encode ends each value with '\n' and never indents
	for _, f := range findings {
		if err := enc.Encode(ndjsonLine{Schema: Schema, Finding: f}); err != nil {
			return fmt.Errorf("write finding %s: %w", f.ID, err)
		}
	}
	return nil
}
