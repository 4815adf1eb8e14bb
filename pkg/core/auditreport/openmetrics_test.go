package auditreport

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport/reporttest"
)

func render(t *testing.T, in Input) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteOpenMetrics(&b, in); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestOpenMetricsSeries(t *testing.T) {
	out := render(t, fixture())
	for _, want := range []string{
		`cusax_audit_check_failed{command="audit-tls",target="work",aspect="telephony",endpoint="sips:sip.example.com:5061",check="tls.tls10",severity="high"} 1`,
		`cusax_audit_check_failed{command="audit-tls",target="work",aspect="cusax",check="cusax.encryption",severity="critical"} 0`,
		`cusax_audit_check_failed{command="audit-tls",target="example.org",aspect="chat",endpoint="xmpp-starttls:example.org:5222",check="tls.tls10",severity="high"} 0`,
		// The policy's severity, not the profile's.
		`check="sip.digest-sha256",severity="medium"} 1`,
		`cusax_audit_check_errored{command="audit-tls",target="work",aspect="chat",endpoint="dns:example.com",check="disc.srv",severity="low"} 1`,
		`cusax_audit_certificate_not_after_timestamp_seconds{command="audit-tls",target="work",aspect="chat",endpoint="xmpp-starttls:xmpp.example.com:5222"} 1796569200`,
		`cusax_audit_failed_checks{command="audit-tls",severity="critical"} 1`,
		`cusax_audit_failed_checks{command="audit-tls",severity="low"} 0`,
		`cusax_audit_errored_checks{command="audit-tls"} 1`,
		`cusax_audit_complete{command="audit-tls"} 0`,
		`cusax_audit_exit_code{command="audit-tls"} 2`,
		`cusax_audit_last_run_timestamp_seconds{command="audit-tls"} 1796655601.234`,
		`cusax_audit_run_duration_seconds{command="audit-tls"} 1.234`,
		// Hostile label values are escaped, invalid UTF-8 replaced.
		`target="evil\"<i>target</i>\\"`,
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want) {
			t.Errorf("missing %s\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n# EOF\n") {
		t.Errorf("does not end with # EOF")
	}
	if strings.Contains(out, "\n\n") {
		t.Errorf("blank line (not allowed in OpenMetrics)")
	}
	if strings.Contains(out, "tls.compression") {
		t.Errorf("skipped check has a series")
	}
	if !strings.Contains(out, "\uFFFD") || strings.Contains(out, "\xff") {
		t.Errorf("invalid UTF-8 not replaced")
	}
	// Families are not interleaved: each TYPE line once, its samples after it.
	seen := map[string]bool{}
	current := ""
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name = strings.TrimSuffix(name, " gauge")
			if seen[name] {
				t.Errorf("family %s twice", name)
			}
			seen[name], current = true, name
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if name, _, _ := strings.Cut(strings.SplitN(line, " ", 2)[0], "{"); name != current {
			t.Errorf("sample %q outside its family %s", line, current)
		}
	}
}

// Two findings with the same labels (a check reported twice) must not make
// two series with the same labels, which the textfile collector rejects;
// the failure wins.
func TestOpenMetricsDuplicateSeriesMerged(t *testing.T) {
	in := fixture()
	f := audit.Finding{ID: "x.dup", Account: "work", Aspect: audit.Chat, Endpoint: "e:1", Severity: audit.Low, Status: audit.Pass}
	g := f
	g.Status = audit.Fail
	in.Report.Findings = []audit.Finding{f, g, f}
	out := render(t, in)
	if n := strings.Count(out, `check="x.dup"`); n != 1 {
		t.Fatalf("%d series for one label set:\n%s", n, out)
	}
	if !strings.Contains(out, `check="x.dup",severity="low"} 1`) {
		t.Errorf("failure did not win:\n%s", out)
	}
}

// promtool (Debian package prometheus) parses the output with Prometheus's
// own parser and lints it; both must be silent.
func TestOpenMetricsPromtool(t *testing.T) {
	for name, in := range map[string]Input{
		"batch":        fixture(),
		"empty report": {Command: "audit-contacts", Report: audit.NewReport(audit.Tool{Name: "cusax"}, fixture().Report.StartedAt, fixture().Report.FinishedAt, audit.Profile{}, audit.Medium, audit.High, nil)},
	} {
		t.Run(name, func(t *testing.T) { reporttest.CheckMetrics(t, render(t, in)) })
	}
	promtool := reporttest.Tool(t, "promtool")
	// And promtool does reject a broken file, so its silence means something.
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader("cusax_audit_check_failed{target=\"unterminated} 1\n")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("promtool accepted a broken line: %s", out)
	}
}

// Whatever a target name or endpoint holds, it stays inside its label
// value: the output has the same lines as for a plain name, and the value
// reads back as written (invalid UTF-8 as U+FFFD).
func FuzzOpenMetricsLabels(f *testing.F) {
	for _, s := range []string{"plain", hostile, "a\"}\n# EOF\nx 1", "\\\"", "\xff\xfe", "{}=,", ""} {
		f.Add(s, "e:1")
	}
	f.Fuzz(func(t *testing.T, target, endpoint string) {
		in := Input{Command: "audit-tls", Report: audit.NewReport(audit.Tool{Name: "cusax"}, fixture().Report.StartedAt,
			fixture().Report.FinishedAt, audit.Profile{}, audit.Medium, audit.High, []audit.Finding{
				{ID: "x.y", Account: target, Aspect: audit.Chat, Endpoint: endpoint, Severity: audit.High, Status: audit.Fail},
			})}
		plain := in
		plain.Report.Findings = []audit.Finding{{ID: "x.y", Account: "t", Aspect: audit.Chat, Endpoint: "e", Severity: audit.High, Status: audit.Fail}}
		out, want := render(t, in), render(t, plain)
		if strings.Count(out, "\n") != strings.Count(want, "\n") || !strings.HasSuffix(out, "\n# EOF\n") {
			t.Fatalf("lines changed:\n%s", out)
		}
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, MetricCheckFailed+"{") {
				line = l
			}
		}
		got := parseLabels(t, strings.TrimPrefix(line, MetricCheckFailed))
		for name, v := range map[string]string{"target": target, "endpoint": endpoint} {
			if v = strings.ToValidUTF8(v, "\uFFFD"); got[name] != v {
				t.Fatalf("%s reads back as %q, want %q (line %q)", name, got[name], v, line)
			}
		}
	})
}

// parseLabels reads {a="x",b="y"} NNN with the OpenMetrics escapes.
func parseLabels(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if !strings.HasPrefix(s, "{") {
		t.Fatalf("no labels in %q", s)
	}
	s = s[1:]
	for !strings.HasPrefix(s, "}") {
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			t.Fatalf("bad label in %q", s)
		}
		var v strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' {
				i++
				switch rest[i] {
				case 'n':
					v.WriteByte('\n')
				case '\\', '"':
					v.WriteByte(rest[i])
				default:
					t.Fatalf("bad escape in %q", rest)
				}
				continue
			}
			v.WriteByte(rest[i])
		}
		out[name] = v.String()
		s = strings.TrimPrefix(rest[i+1:], ",")
	}
	return out
}
