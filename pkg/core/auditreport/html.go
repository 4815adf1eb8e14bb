package auditreport

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
)

// ContentTypeHTML is the media type of WriteHTML's output.
const ContentTypeHTML = "text/html; charset=utf-8"

//go:embed report.html.tmpl
var pageSource string

// pageTemplate is parsed once, on first use (parsing at package init
// cost every cusax process ~0.3 ms); html/template escapes every value by
// the context it lands in (text, attribute, CSS), so evidence, subjects
// and titles from servers can never become markup.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(pageSource))
})

// WriteHTML writes in as one self-contained HTML page: a summary table by
// target and severity, then per target the certificates seen and every
// failed or errored check (severity, aspect, endpoint, evidence, reference,
// fix, policy override), worst first, with the passed and skipped checks
// folded below. The page has no script and loads nothing: the CSS is
// inline, and its Content-Security-Policy (default-src 'none') forbids
// scripts and external resources even if a browser were tricked into
// seeing some.
func WriteHTML(w io.Writer, in Input) error {
	bw := bufio.NewWriter(w)
	if err := pageTemplate().Execute(bw, newPage(in)); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

// page is the template's data.
type page struct {
	Command    string
	Tool       audit.Tool
	Started    string
	Finished   string
	Duration   string
	Policy     audit.Policy
	Verdict    string
	Complete   bool
	Rows       []row
	Total      row
	Targets    []targetSection
	Severities []string // column heads, worst first
}

// row is one line of the summary table.
type row struct {
	Anchor, Target string
	// Failed counts failed checks by severity, worst first (critical …
	// info), as the columns.
	Failed  []int
	Errored int
	Passed  int
	Skipped int
	Verdict string
}

type targetSection struct {
	Anchor, Name string
	Verdict      string
	Certificates []certView
	Findings     []findingView // failed and errored
	Others       []findingView // passed and skipped
}

type certView struct {
	Aspect, Endpoint, Subject, Issuer, NotAfter, SHA256 string
	Expired                                             bool
}

type findingView struct {
	Severity, Status, ID, Title, Aspect, Endpoint string
	Evidence, Ref, Fix, Override                  string
}

// verdictNames are the monitoring-plugin names of the exit codes.
var verdictNames = map[int]string{audit.ExitOK: "OK", audit.ExitWarning: "WARNING",
	audit.ExitCritical: "CRITICAL", audit.ExitUnknown: "UNKNOWN"}

// worstSeverities is audit.Severities, worst first.
func worstSeverities() []audit.Severity {
	s := audit.Severities()
	slices.Reverse(s)
	return s
}

func newPage(in Input) page {
	r := in.Report
	p := page{Command: in.Command, Tool: r.Tool, Policy: r.Policy,
		Started: stamp(r.StartedAt), Finished: stamp(r.FinishedAt),
		Duration: r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String(),
		Verdict:  verdictNames[r.Summary.ExitCode], Complete: r.Summary.Complete}
	sevs := worstSeverities()
	for _, s := range sevs {
		p.Severities = append(p.Severities, s.String())
	}
	p.Total = row{Target: "all", Failed: make([]int, len(sevs)), Verdict: p.Verdict}
	for i, name := range in.targets() {
		anchor := fmt.Sprintf("target-%d", i+1)
		var mine []audit.Finding
		for _, f := range r.Findings {
			if f.Account == name {
				mine = append(mine, f)
			}
		}
		slices.SortStableFunc(mine, worstFirst)
		rw := row{Anchor: anchor, Target: utf8(name), Failed: make([]int, len(sevs)),
			Verdict: verdictNames[audit.ExitCode(mine, r.Policy.WarnOn, r.Policy.FailOn)]}
		sec := targetSection{Anchor: anchor, Name: utf8(name), Verdict: rw.Verdict}
		for _, f := range mine {
			switch f.Status {
			case audit.Fail:
				if i := slices.Index(sevs, f.Severity); i >= 0 {
					rw.Failed[i]++
					p.Total.Failed[i]++
				}
			case audit.Error:
				rw.Errored++
				p.Total.Errored++
			case audit.Pass:
				rw.Passed++
				p.Total.Passed++
			default:
				rw.Skipped++
				p.Total.Skipped++
			}
			v := viewOf(f)
			if f.Status == audit.Fail || f.Status == audit.Error {
				sec.Findings = append(sec.Findings, v)
			} else {
				sec.Others = append(sec.Others, v)
			}
		}
		for _, c := range in.Certificates {
			if c.Target == name {
				sec.Certificates = append(sec.Certificates, certView{Aspect: utf8(string(c.Aspect)), Endpoint: utf8(c.Endpoint),
					Subject: utf8(c.Subject), Issuer: utf8(c.Issuer), NotAfter: stamp(c.NotAfter), SHA256: utf8(c.SHA256),
					Expired: !r.FinishedAt.IsZero() && c.NotAfter.Before(r.FinishedAt)})
			}
		}
		p.Rows = append(p.Rows, rw)
		p.Targets = append(p.Targets, sec)
	}
	return p
}

func viewOf(f audit.Finding) findingView {
	v := findingView{Severity: sevName(f.Severity), Status: string(f.Status), ID: utf8(f.ID), Title: utf8(f.Title),
		Aspect: utf8(string(f.Aspect)), Endpoint: utf8(f.Endpoint), Evidence: utf8(f.Evidence), Ref: utf8(f.Ref), Fix: utf8(f.Fix)}
	if o := f.Override; o != nil {
		v.Override = fmt.Sprintf("%s under the profile; set by policy %s", sevName(o.FromSeverity), o.Policy)
		if o.Reason != "" {
			v.Override += ": " + o.Reason
		}
		v.Override = utf8(v.Override)
	}
	return v
}

// utf8 replaces invalid UTF-8 (a server's bytes) with U+FFFD, so the page
// is valid UTF-8 as its charset says, and every browser shows the same.
func utf8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
