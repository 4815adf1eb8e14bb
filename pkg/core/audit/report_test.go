package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestExitCode(t *testing.T) {
	f := func(st Status, s Severity) Finding { return Finding{ID: "x", Status: st, Severity: s} }
	tests := []struct {
		name           string
		findings       []Finding
		warnOn, failOn Severity
		want           int
	}{
		{"nothing", nil, Medium, High, ExitOK},
		{"passes of any severity", []Finding{f(Pass, Critical), f(Skipped, Critical)}, Medium, High, ExitOK},
		{"low failure below warn-on", []Finding{f(Fail, Low)}, Medium, High, ExitOK},
		{"medium failure", []Finding{f(Fail, Medium)}, Medium, High, ExitWarning},
		{"high failure", []Finding{f(Fail, High)}, Medium, High, ExitCritical},
		{"critical failure", []Finding{f(Fail, Critical), f(Fail, Low)}, Medium, High, ExitCritical},
		{"error alone", []Finding{f(Error, Info)}, Medium, High, ExitUnknown},
		{"error beats warning", []Finding{f(Fail, Medium), f(Error, High)}, Medium, High, ExitUnknown},
		{"critical beats error", []Finding{f(Error, Low), f(Fail, High)}, Medium, High, ExitCritical},
		{"warn-on low", []Finding{f(Fail, Low)}, Low, High, ExitWarning},
		{"fail-on critical", []Finding{f(Fail, High)}, Medium, Critical, ExitWarning},
		{"fail-on info", []Finding{f(Fail, Info)}, Info, Info, ExitCritical},
		{"warn-on above fail-on", []Finding{f(Fail, Medium)}, Critical, Medium, ExitCritical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.findings, tt.warnOn, tt.failOn); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	p := bcp195(t)
	facts := good()
	facts.Telephony.Endpoints[0].TLS.Versions[VersionTLS10] = true
	fs := Evaluate(facts, p)
	r := NewReport(Tool{Name: "cusax", Version: "test"}, now, now.Add(2*time.Second), p, Medium, High, fs)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema string `json:"schema"`
		Policy struct {
			Profile string `json:"profile"`
			WarnOn  string `json:"warn_on"`
			FailOn  string `json:"fail_on"`
		} `json:"policy"`
		Summary struct {
			Complete    bool           `json:"complete"`
			Status      map[string]int `json:"status"`
			Failed      map[string]int `json:"failed"`
			MaxSeverity string         `json:"max_severity"`
			ExitCode    int            `json:"exit_code"`
		} `json:"summary"`
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "cusax.audit-tls/v1" {
		t.Errorf("schema %q", doc.Schema)
	}
	if doc.Policy.Profile != "bcp195" || doc.Policy.WarnOn != "medium" || doc.Policy.FailOn != "high" {
		t.Errorf("policy %+v", doc.Policy)
	}
	s := doc.Summary
	if !s.Complete || s.ExitCode != ExitCritical || s.MaxSeverity != "high" || s.Failed["high"] != 1 || s.Failed["medium"] != 1 || s.Status["fail"] != 2 {
		t.Errorf("summary %+v", s)
	}
	if len(doc.Findings) != len(fs) {
		t.Errorf("%d findings, want %d", len(doc.Findings), len(fs))
	}
	empty := NewReport(Tool{}, now, now, p, Medium, High, nil)
	buf.Reset()
	empty.WriteJSON(&buf)
	if !bytes.Contains(buf.Bytes(), []byte(`"findings": []`)) || bytes.Contains(buf.Bytes(), []byte("max_severity")) {
		t.Errorf("empty report: %s", buf.Bytes())
	}
}

func TestWriteNDJSON(t *testing.T) {
	fs := Evaluate(good(), bcp195(t))
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, fs); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Bytes())
		}
		if line["schema"] != Schema || line["id"] != fs[n].ID || line["status"] != string(fs[n].Status) ||
			line["severity"] != fs[n].Severity.String() || line["account"] != "alice" || line["ref"] == "" {
			t.Errorf("line %d: %v", n+1, line)
		}
		n++
	}
	if n != len(fs) {
		t.Errorf("%d lines, want %d", n, len(fs))
	}
}

func TestSeverityText(t *testing.T) {
	for _, s := range Severities() {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%s round-trips to %s, %v", s, back, err)
		}
	}
	if _, err := Severity(0).MarshalText(); err == nil {
		t.Error("zero severity marshalled")
	}
	if _, err := ParseSeverity("warning"); err == nil {
		t.Error("parsed \"warning\"")
	}
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		if seen[c.ID] {
			t.Errorf("duplicate %s", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Ref == "" || c.Fix == "" {
			t.Errorf("incomplete %+v", c)
		}
		_, isEndpoint := endpointRules[c.ID]
		_, isDisc := discoveryRules[c.ID]
		_, isCross := crossRules[c.ID]
		if !isEndpoint && !isDisc && !isCross && c.ID != CheckCertChanged && c.ID != CheckCUSAXMedia && c.ID != CheckResolve {
			t.Errorf("%s has no rule", c.ID)
		}
	}
}
