package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// cusax.media-encryption: setting × SIP transport × backend capability,
// with the same decision as login's parity.media-encryption; a failure
// carries the account's exact config line as its fix.
func TestEvaluateMedia(t *testing.T) {
	tests := []struct {
		name     string
		media    *MediaFacts
		status   Status
		evidence string
		fix      string
	}{
		{"default, TLS, SRTP backend", &MediaFacts{SIPTransport: "tls", Backend: "sip", BackendSRTP: Yes}, Pass, `media_encryption not set (SRTP over TLS); SIP over TLS; telephony backend "sip" declares srtp`, ""},
		{"srtp, TLS, SRTP backend", &MediaFacts{Setting: "srtp", SIPTransport: "tls", Backend: "sip", BackendSRTP: Yes}, Pass, `media_encryption "srtp"`, ""},
		{"none, TLS", &MediaFacts{Setting: "none", SIPTransport: "tls", Backend: "sip", BackendSRTP: Yes}, Fail, `media_encryption "none"; SIP over TLS`,
			`set media_encryption = "srtp" in the [account.sip] table of account "alice" (or remove the line`},
		{"none, TLS, backend not asked", &MediaFacts{Setting: "none", SIPTransport: "tls", Backend: "sip"}, Fail, "plain RTP", `media_encryption = "srtp"`},
		{"optional, TLS", &MediaFacts{Setting: "optional", SIPTransport: "tls", Backend: "sip", BackendSRTP: Yes}, Fail, "may go as plain RTP", `media_encryption = "srtp"`},
		{"default, TLS, backend without SRTP", &MediaFacts{SIPTransport: "tls", Backend: "sip", BackendSRTP: No}, Fail, `"sip" does not declare SRTP`, `backend = "NAME"`},
		{"srtp, TLS, backend without SRTP", &MediaFacts{Setting: "srtp", SIPTransport: "tls", Backend: "sip", BackendSRTP: No}, Fail, "every call is refused", `backend = "NAME"`},
		{"default, TLS, backend not asked", &MediaFacts{SIPTransport: "tls", Backend: "sip"}, Skipped, "not asked", ""},
		{"default, TLS, backend failed", &MediaFacts{SIPTransport: "tls", Backend: "sip", BackendError: "plugin not found"}, Error, "plugin not found", ""},
		{"none over UDP", &MediaFacts{Setting: "none", SIPTransport: "udp", Backend: "sip", BackendSRTP: Yes}, Skipped, "SIP over UDP", ""},
		{"default over TCP, no SRTP", &MediaFacts{SIPTransport: "tcp", Backend: "sip", BackendSRTP: No}, Skipped, "RFC 4568 §8.3", ""},
		{"not an account", nil, Skipped, "not an account", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			f.Media = tt.media
			got, ok := find(Evaluate(f, bcp195(t)), CheckCUSAXMedia, "")
			if !ok {
				t.Fatal("no cusax.media-encryption finding")
			}
			if got.Status != tt.status || !strings.Contains(got.Evidence, tt.evidence) || got.Aspect != CUSAX || got.Severity != High {
				t.Errorf("got %s %s %q, want %s high ~ %q", got.Status, got.Severity, got.Evidence, tt.status, tt.evidence)
			}
			if got.Ref != "RFC 7081 §7; RFC 4568 §8.3" {
				t.Errorf("ref %q", got.Ref)
			}
			if (tt.fix == "") != (got.Fix == "") || !strings.Contains(got.Fix, tt.fix) {
				t.Errorf("fix %q, want ~ %q", got.Fix, tt.fix)
			}
		})
	}
}

// The check is a finding like the others: in the JSON document and the
// NDJSON lines with its fix, counted in the monitoring exit code (high
// fails at the default --fail-on high), and re-weighed by a policy.
func TestMediaFindingReported(t *testing.T) {
	f := good()
	f.Media = &MediaFacts{Setting: "none", SIPTransport: "tls", Backend: "sip", BackendSRTP: Yes}
	fs := Evaluate(f, bcp195(t))
	r := NewReport(Tool{Name: "cusax", Version: "test"}, now, now.Add(time.Second), bcp195(t), Medium, High, fs)
	if r.Summary.ExitCode != ExitCritical {
		t.Errorf("exit code %d, want %d", r.Summary.ExitCode, ExitCritical)
	}
	var doc bytes.Buffer
	if err := r.WriteJSON(&doc); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(doc.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	m, ok := find(back.Findings, CheckCUSAXMedia, "")
	if !ok || m.Status != Fail || !strings.Contains(m.Fix, `media_encryption = "srtp"`) {
		t.Errorf("JSON finding %+v", m)
	}
	var lines bytes.Buffer
	if err := WriteNDJSON(&lines, r.Findings); err != nil {
		t.Fatal(err)
	}
	var seen bool
	for _, l := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
		var x Finding
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("NDJSON line %q: %v", l, err)
		}
		if x.ID == CheckCUSAXMedia {
			seen = x.Status == Fail && strings.Contains(x.Fix, `[account.sip] table of account "alice"`)
		}
	}
	if !seen {
		t.Errorf("NDJSON lacks the failed check with its fix:\n%s", lines.String())
	}
	low, err := r.Reweigh(Reweighing{Account: "alice", Policy: "lab", Changes: []SeverityChange{{ID: CheckCUSAXMedia, Severity: "low", Reason: "lab calls are local"}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = find(low.Findings, CheckCUSAXMedia, "")
	if m.Severity != Low || m.Override == nil || m.Override.FromSeverity != High || low.Summary.ExitCode != ExitOK {
		t.Errorf("re-weighed: %+v (override %+v), exit %d", m, m.Override, low.Summary.ExitCode)
	}
}
