package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// reweighReport: account work has a medium failure (warning), a high pass,
// an error and a skip; account home has a high failure.
func reweighReport() Report {
	fs := []Finding{
		{ID: CheckTLS13, Account: "work", Aspect: Chat, Endpoint: "xmpp:a:5222", Severity: Medium, Status: Fail, Evidence: "no TLS 1.3", Fix: "enable TLS 1.3"},
		{ID: CheckTLS13, Account: "work", Aspect: Telephony, Endpoint: "sip:a:5061", Severity: Medium, Status: Pass, Evidence: "TLS 1.3"},
		{ID: CheckTLS10, Account: "work", Aspect: Chat, Endpoint: "xmpp:a:5222", Severity: High, Status: Pass},
		{ID: CheckCertTrust, Account: "work", Aspect: Telephony, Endpoint: "sip:a:5061", Severity: Critical, Status: Error, Evidence: "probe failed: timeout"},
		{ID: CheckCUSAXSuites, Account: "work", Aspect: CUSAX, Severity: Low, Status: Skipped, Evidence: "no TLS"},
		{ID: CheckTLS13, Account: "home", Aspect: Chat, Endpoint: "xmpp:b:5222", Severity: High, Status: Fail, Fix: "enable TLS 1.3"},
	}
	p := Profile{Name: "bcp195", Source: "builtin"}
	return NewReport(Tool{Name: "cusax", Version: "test"}, now, now.Add(time.Second), p, Medium, High, fs)
}

func TestReweigh(t *testing.T) {
	tests := []struct {
		name    string
		rw      Reweighing
		changed map[int]Finding // index → the finding afterwards
		exit    int
	}{
		{
			name:    "nothing decided",
			rw:      Reweighing{Account: "work", Policy: "strict"},
			changed: nil, exit: ExitCritical, // home's high failure
		},
		{
			name: "raise one check on every aspect of one account",
			rw: Reweighing{Account: "work", Policy: "strict", Changes: []SeverityChange{
				{ID: CheckTLS13, Severity: "high", Reason: "we require TLS 1.3"}}},
			changed: map[int]Finding{
				0: {ID: CheckTLS13, Account: "work", Aspect: Chat, Endpoint: "xmpp:a:5222", Severity: High, Status: Fail, Evidence: "no TLS 1.3", Fix: "enable TLS 1.3",
					Override: &Override{Policy: "strict", Reason: "we require TLS 1.3", FromSeverity: Medium}},
				1: {ID: CheckTLS13, Account: "work", Aspect: Telephony, Endpoint: "sip:a:5061", Severity: High, Status: Pass, Evidence: "TLS 1.3",
					Override: &Override{Policy: "strict", Reason: "we require TLS 1.3", FromSeverity: Medium}},
			},
			exit: ExitCritical,
		},
		{
			name: "narrowed to one aspect",
			rw: Reweighing{Account: "work", Policy: "strict", Changes: []SeverityChange{
				{ID: CheckTLS13, Aspect: Telephony, Severity: "critical", Reason: "r"}}},
			changed: map[int]Finding{
				1: {ID: CheckTLS13, Account: "work", Aspect: Telephony, Endpoint: "sip:a:5061", Severity: Critical, Status: Pass, Evidence: "TLS 1.3",
					Override: &Override{Policy: "strict", Reason: "r", FromSeverity: Medium}},
			},
			exit: ExitCritical,
		},
		{
			name: "narrowed to one endpoint, lowered",
			rw: Reweighing{Account: "home", Policy: "lenient", Changes: []SeverityChange{
				{ID: CheckTLS13, Endpoint: "xmpp:b:5222", Severity: "LOW", Reason: "legacy server until March"}}},
			changed: map[int]Finding{
				5: {ID: CheckTLS13, Account: "home", Aspect: Chat, Endpoint: "xmpp:b:5222", Severity: Low, Status: Fail, Fix: "enable TLS 1.3",
					Override: &Override{Policy: "lenient", Reason: "legacy server until March", FromSeverity: High}},
			},
			// The error on work's cert.trust now decides: UNKNOWN.
			exit: ExitUnknown,
		},
		{
			name: "off skips, also an error",
			rw: Reweighing{Account: "work", Policy: "lenient", Changes: []SeverityChange{
				{ID: CheckTLS13, Aspect: Chat, Severity: "off", Reason: "chat is internal"},
				{ID: CheckCertTrust, Severity: "off", Reason: "private CA"},
				{ID: CheckCUSAXSuites, Severity: "off", Reason: "already skipped"}}},
			changed: map[int]Finding{
				0: {ID: CheckTLS13, Account: "work", Aspect: Chat, Endpoint: "xmpp:a:5222", Severity: Medium, Status: Skipped, Evidence: "no TLS 1.3",
					Override: &Override{Policy: "lenient", Reason: "chat is internal", FromSeverity: Medium, FromStatus: Fail}},
				3: {ID: CheckCertTrust, Account: "work", Aspect: Telephony, Endpoint: "sip:a:5061", Severity: Critical, Status: Skipped, Evidence: "probe failed: timeout",
					Override: &Override{Policy: "lenient", Reason: "private CA", FromSeverity: Critical, FromStatus: Error}},
			},
			exit: ExitCritical, // home's high failure still counts
		},
		{
			name: "later change wins; back to the profile's value is no change",
			rw: Reweighing{Account: "work", Policy: "p", Changes: []SeverityChange{
				{ID: CheckTLS10, Severity: "info", Reason: "first"},
				{ID: CheckTLS10, Severity: "high", Reason: "second"},
				{ID: CheckTLS13, Aspect: Chat, Severity: "off", Reason: "off"},
				{ID: CheckTLS13, Aspect: Chat, Severity: "critical", Reason: "on again"}}},
			changed: map[int]Finding{
				0: {ID: CheckTLS13, Account: "work", Aspect: Chat, Endpoint: "xmpp:a:5222", Severity: Critical, Status: Fail, Evidence: "no TLS 1.3", Fix: "enable TLS 1.3",
					Override: &Override{Policy: "p", Reason: "on again", FromSeverity: Medium}},
			},
			exit: ExitCritical,
		},
		{
			name: "same severity is no change",
			rw: Reweighing{Account: "work", Policy: "p", Changes: []SeverityChange{
				{ID: CheckTLS10, Severity: "high", Reason: "as is"}}},
			exit: ExitCritical,
		},
		{
			name: "a check the account does not have changes nothing",
			rw: Reweighing{Account: "work", Policy: "p", Changes: []SeverityChange{
				{ID: CheckSIPDigestQOP, Severity: "critical", Reason: "r"}}},
			exit: ExitCritical,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := reweighReport()
			before := slices.Clone(in.Findings)
			got, err := in.Reweigh(tt.rw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in.Findings, before) {
				t.Error("Reweigh modified its input")
			}
			for i, f := range got.Findings {
				want, ok := tt.changed[i]
				if !ok {
					want = before[i]
				}
				if !reflect.DeepEqual(f, want) {
					t.Errorf("finding %d:\n got %+v %+v\nwant %+v %+v", i, f, f.Override, want, want.Override)
				}
			}
			if got.Summary.ExitCode != tt.exit {
				t.Errorf("exit code %d, want %d", got.Summary.ExitCode, tt.exit)
			}
			if want := summarize(got.Findings, Medium, High); !reflect.DeepEqual(got.Summary, want) {
				t.Errorf("summary not recomputed: %+v, want %+v", got.Summary, want)
			}
		})
	}
}

func TestReweighSummary(t *testing.T) {
	r := reweighReport()
	got, err := r.Reweigh(
		Reweighing{Account: "work", Policy: "a", Changes: []SeverityChange{{ID: CheckCertTrust, Severity: "off", Reason: "r"}}},
		Reweighing{Account: "home", Policy: "b", Changes: []SeverityChange{{ID: CheckTLS13, Severity: "medium", Reason: "r"}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	s := got.Summary
	if !s.Complete || s.ExitCode != ExitWarning || *s.MaxSeverity != Medium || s.Failed[Medium] != 2 || s.Failed[High] != 0 ||
		s.Status[Skipped] != 2 || s.Status[Error] != 0 {
		t.Errorf("summary %+v (max %v)", s, *s.MaxSeverity)
	}
	if r.Summary.ExitCode != ExitCritical || r.Summary.Complete {
		t.Errorf("input summary changed: %+v", r.Summary)
	}
}

func TestReweighRejects(t *testing.T) {
	tests := []struct {
		name    string
		changes []SeverityChange
		want    []string
	}{
		{"unknown check", []SeverityChange{{ID: "tls.tls09", Severity: "high"}, {ID: "", Severity: "low"}},
			[]string{`policy "strict"`, "account work", `unknown check IDs: "tls.tls09", ""`}},
		{"unknown severity", []SeverityChange{{ID: CheckTLS10, Severity: "severe"}, {ID: CheckTLS11, Severity: ""}},
			[]string{`bad severities (want info, low, medium, high, critical or off): tls.tls10 = "severe", tls.tls11 = ""`}},
		{"status instead of severity", []SeverityChange{{ID: CheckTLS10, Severity: "pass"}},
			[]string{`tls.tls10 = "pass" (a status: a policy changes severities only)`}},
		{"unknown aspect", []SeverityChange{{ID: CheckTLS10, Aspect: "xmpp", Severity: "low"}},
			[]string{`unknown aspects (want chat, telephony or cusax): tls.tls10 for "xmpp"`}},
		{"all at once, good ones not applied", []SeverityChange{{ID: CheckTLS13, Severity: "critical"}, {ID: "nope", Severity: "fail"}},
			[]string{`unknown check IDs: "nope"`, `nope = "fail" (a status`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reweighReport().Reweigh(Reweighing{Account: "work", Policy: "strict", Changes: tt.changes})
			if err == nil {
				t.Fatalf("no error; findings %+v", got.Findings)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Errors of several policies are all named.
	_, err := reweighReport().Reweigh(
		Reweighing{Account: "work", Policy: "a", Changes: []SeverityChange{{ID: "x", Severity: "low"}}},
		Reweighing{Account: "home", Changes: []SeverityChange{{ID: CheckTLS10, Severity: "x"}}})
	if err == nil || !strings.Contains(err.Error(), `policy "a"`) || !strings.Contains(err.Error(), `policy "(unnamed)" re-weighing the audit of account home`) {
		t.Errorf("error %v", err)
	}
}

// The report stays "cusax.audit-tls/v1": findings nobody re-weighed have
// no "override" key; re-weighed ones gain it.
func TestReweighJSON(t *testing.T) {
	r, err := reweighReport().Reweigh(Reweighing{Account: "work", Policy: "strict",
		Changes: []SeverityChange{{ID: CheckTLS13, Aspect: Chat, Severity: "off", Reason: "internal"}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema   string                       `json:"schema"`
		Findings []map[string]json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != Schema {
		t.Errorf("schema %q", doc.Schema)
	}
	var got bytes.Buffer
	if err := json.Compact(&got, doc.Findings[0]["override"]); err != nil {
		t.Fatal(err)
	}
	if want := `{"policy":"strict","reason":"internal","from_severity":"medium","from_status":"fail"}`; got.String() != want {
		t.Errorf("override = %s, want %s", got.String(), want)
	}
	for i, f := range doc.Findings[1:] {
		if _, ok := f["override"]; ok {
			t.Errorf("finding %d has an override: %s", i+1, f["override"])
		}
	}
}

// protocol.AuditSeverities is the contract's copy of this package's scale.
func TestProtocolSeveritiesMatch(t *testing.T) {
	var want []string
	for _, s := range Severities() {
		want = append(want, s.String())
	}
	want = append(want, SeverityOff)
	if !reflect.DeepEqual(protocol.AuditSeverities, want) {
		t.Errorf("protocol.AuditSeverities = %v, want %v", protocol.AuditSeverities, want)
	}
}

// A failure a policy turns off is skipped, so it is titled by its
// requirement again, like any skipped check.
func TestReweighRetitles(t *testing.T) {
	c, _ := LookupCheck(CheckTLS13)
	f := Finding{ID: CheckTLS13, Account: "work", Aspect: Chat, Endpoint: "xmpp:a:5222", Severity: Medium, Status: Fail, Evidence: "no TLS 1.3", Fix: c.Fix}
	f.retitle()
	if f.Title != failTitles[CheckTLS13] || f.Requirement != c.Title {
		t.Fatalf("before: %+v", f)
	}
	r := NewReport(Tool{Name: "cusax"}, now, now, Profile{Name: "bcp195"}, Medium, High, []Finding{f})
	off, err := r.Reweigh(Reweighing{Account: "work", Policy: "lenient", Changes: []SeverityChange{{ID: CheckTLS13, Severity: "off"}}})
	if err != nil {
		t.Fatal(err)
	}
	if g := off.Findings[0]; g.Status != Skipped || g.Title != c.Title || g.Requirement != c.Title {
		t.Errorf("turned off: %+v", g)
	}
}
