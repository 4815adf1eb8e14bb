package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
)

// auditAccount writes a config with one account "lab" against the test
// bed (the bed's CA trusted) and returns its home. No login is needed:
// audit-tls sends no credentials.
func auditAccount(t *testing.T, bed *testbed.Bed, sipProxy string) string {
	t.Helper()
	home := t.TempDir()
	cfg := &config.Config{Default: "lab", Accounts: []config.Account{{
		Name: "lab", Related: true, CAFile: bed.CAFile,
		XMPP: &config.XMPPAspect{JID: "alice@" + bed.Domain, Server: bed.XMPPAddr},
		SIP:  &config.SIPAspect{AOR: "sip:alice@" + bed.Domain, Proxy: sipProxy},
	}}}
	if err := config.Save(filepath.Join(home, "cusax", "config.toml"), cfg); err != nil {
		t.Fatal(err)
	}
	return home
}

func decodeAudit(t *testing.T, r cliResult) audit.Report {
	t.Helper()
	jsoncheck.Validate(t, r.stdout)
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("audit-tls --json output is not JSON: %v\n%s", err, r.stdout)
	}
	if rep.Schema != audit.Schema {
		t.Fatalf("schema %q, want %q", rep.Schema, audit.Schema)
	}
	if rep.Summary.ExitCode != r.code {
		t.Errorf("summary exit code %d, process exit %d", rep.Summary.ExitCode, r.code)
	}
	return rep
}

// failed returns the failed and errored findings, logged for the reader.
func failed(t *testing.T, rep audit.Report) map[string]audit.Finding {
	t.Helper()
	out := map[string]audit.Finding{}
	for _, f := range rep.Findings {
		if builtinMediaGap(t, f) {
			t.Logf("expected while the built-in sip backend does not declare SRTP: %s %s: %s", f.Status, f.ID, f.Evidence)
			continue
		}
		if f.Status == audit.Fail || f.Status == audit.Error {
			t.Logf("%s %s %s [%s %s]: %s", f.Status, f.Severity, f.ID, f.Aspect, f.Endpoint, f.Evidence)
			out[f.ID+" "+string(f.Aspect)] = f
		}
	}
	return out
}

func findingByID(rep audit.Report, id string) []audit.Finding {
	var out []audit.Finding
	for _, f := range rep.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

// The bed with SIP over TLS: both aspects encrypted and authenticated by
// the test CA, so no critical finding. The exit code is 1 (WARNING), not
// 0, and each failure that causes it is a property of the test bed that
// BCP 195 rates medium or high; the test names them so a change in the bed
// or the rules shows up here. A second audit sees the same certificates;
// after the state file's fingerprint is edited, the next audit reports
// cert.changed.
func TestAuditTLSBedOverTLS(t *testing.T) {
	bed := testbed.Shared(t)
	home := auditAccount(t, bed, tlsProxy(bed))
	state := filepath.Join(t.TempDir(), "audit-state.json")

	r := runCLI(t, home, "", "audit-tls", "--json", "--state", state)
	rep := decodeAudit(t, r)
	bad := failed(t, rep)
	for _, f := range bad {
		if f.Status == audit.Fail && f.Severity == audit.Critical {
			t.Errorf("critical finding on the test bed: %s: %s", f.ID, f.Evidence)
		}
		if f.Status == audit.Error {
			t.Errorf("check could not run: %s: %s", f.ID, f.Evidence)
		}
	}
	for _, id := range []string{audit.CheckXMPPStartTLS, audit.CheckSIPTLS, audit.CheckCertTrust, audit.CheckCUSAXEnc, audit.CheckCUSAXSrvAuth} {
		for _, f := range findingByID(rep, id) {
			if f.Status != audit.Pass {
				t.Errorf("%s on %s: %s, want pass: %s", id, f.Aspect, f.Status, f.Evidence)
			}
		}
	}
	// Exit 1 (WARNING), for exactly these reasons, all properties of the bed:
	//   - cert.expires-soon (medium) on both aspects: the bed issues per-run
	//     certificates valid for at most a day (internal/testbed/certs.go);
	//   - tls.suites-cbc (low) on telephony: Kamailio also accepts ECDHE
	//     CBC suites, Prosody does not;
	//   - cusax.suites (medium): hence the aspects accept different suite
	//     classes (RFC 7081 §3.2, §7).
	want := []string{
		audit.CheckCertSoon + " chat", audit.CheckCertSoon + " telephony",
		audit.CheckSuitesCBC + " telephony", audit.CheckCUSAXSuites + " cusax",
	}
	for _, key := range want {
		if _, ok := bad[key]; !ok {
			t.Errorf("expected failure %s is missing", key)
		}
	}
	if len(bad) != len(want) {
		t.Errorf("%d failed or errored checks, want exactly %d (%v)", len(bad), len(want), want)
	}
	if want := withBuiltinMediaGap(t, rep, audit.ExitWarning); r.code != want {
		t.Errorf("exit %d, want %d (WARNING: medium failures, none at fail-on high)", r.code, want)
	}
	for _, f := range findingByID(rep, audit.CheckCertChanged) {
		if f.Status != audit.Pass || !strings.Contains(f.Evidence, "first audit") {
			t.Errorf("first audit: cert.changed %s: %s", f.Status, f.Evidence)
		}
	}

	// Second audit: same certificates.
	r = runCLI(t, home, "", "audit-tls", "--json", "--state", state)
	rep = decodeAudit(t, r)
	changed := findingByID(rep, audit.CheckCertChanged)
	if len(changed) != 2 {
		t.Fatalf("cert.changed findings: %d, want one per aspect", len(changed))
	}
	for _, f := range changed {
		if f.Status != audit.Pass || !strings.Contains(f.Evidence, "same certificate") {
			t.Errorf("second audit: cert.changed on %s: %s: %s", f.Aspect, f.Status, f.Evidence)
		}
	}

	// Edit the stored fingerprint of the chat endpoint: the next audit
	// reports the change.
	st, err := audit.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	edited := ""
	for k, rec := range st.Certificates {
		if strings.HasPrefix(rec.Endpoint, "xmpp-") {
			rec.LeafSHA256 = strings.Repeat("ab", 32)
			st.Certificates[k] = rec
			edited = rec.Endpoint
		}
	}
	if edited == "" {
		t.Fatalf("no chat endpoint in the state file: %+v", st.Certificates)
	}
	if err := st.Save(state); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, home, "", "audit-tls", "--json", "--state", state)
	rep = decodeAudit(t, r)
	var seen bool
	for _, f := range findingByID(rep, audit.CheckCertChanged) {
		if f.Endpoint == edited {
			seen = true
			if f.Status != audit.Fail || !strings.Contains(f.Evidence, strings.Repeat("ab", 32)) {
				t.Errorf("after edit: cert.changed %s: %s", f.Status, f.Evidence)
			}
		} else if f.Status != audit.Pass {
			t.Errorf("cert.changed on untouched %s: %s", f.Endpoint, f.Status)
		}
	}
	if !seen {
		t.Errorf("no cert.changed finding for %s", edited)
	}
	if r.code < audit.ExitWarning {
		t.Errorf("a changed certificate (medium) exits %d, want at least 1", r.code)
	}

	// The readable report shows the RFC 7590 §3.6 human factors.
	r = runCLI(t, home, "", "audit-tls", "--no-state")
	for _, want := range []string{"Chat", "Telephony", "encrypted", "TLS 1.", "server auth", "PKIX", "certificate", "expires", "Result"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}
}

// SIP over UDP: telephony is unencrypted while chat is encrypted, so the
// cross-aspect check cusax.encryption (RFC 7081 §7) and sip.tls fail, both
// critical under BCP 195: exit 2.
func TestAuditTLSSIPOverUDP(t *testing.T) {
	bed := testbed.Shared(t)
	home := auditAccount(t, bed, "sip:"+bed.SIPUDPAddr+";transport=udp")
	r := runCLI(t, home, "", "audit-tls", "--json", "--no-state")
	rep := decodeAudit(t, r)
	bad := failed(t, rep)
	for _, key := range []string{audit.CheckCUSAXEnc + " cusax", audit.CheckSIPTLS + " telephony"} {
		f, ok := bad[key]
		if !ok || f.Status != audit.Fail || f.Severity != audit.Critical {
			t.Errorf("%s: %+v, want a critical failure", key, f)
		}
	}
	if f := bad[audit.CheckCUSAXEnc+" cusax"]; !strings.Contains(f.Evidence, "UDP") && !strings.Contains(f.Evidence, "udp") {
		t.Errorf("cusax.encryption evidence does not name the plaintext transport: %s", f.Evidence)
	}
	if r.code != audit.ExitCritical {
		t.Errorf("exit %d, want 2 (CRITICAL)", r.code)
	}
	if !strings.Contains(r.stderr, "CRITICAL") {
		t.Errorf("stderr lacks the verdict: %s", r.stderr)
	}
}

// Anything that stops the audit itself exits 3 (UNKNOWN), never 2, so a
// monitor does not read a typo as CRITICAL.
func TestAuditTLSUsageIsUnknown(t *testing.T) {
	tests := []struct {
		name string
		args []string
		has  string
	}{
		{"unknown flag", []string{"audit-tls", "--frob"}, "unknown flag"},
		{"bad severity", []string{"audit-tls", "--fail-on", "dire", "--no-state"}, "--fail-on"},
		{"bad format", []string{"audit-tls", "--format", "xml", "--no-state"}, "--format"},
		{"no accounts", []string{"audit-tls", "--no-state"}, "no accounts"},
		{"missing profile", []string{"audit-tls", "--profile", "/nonexistent.toml", "--no-state"}, "nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, t.TempDir(), "", tt.args...)
			if r.code != audit.ExitUnknown {
				t.Errorf("exit %d, want 3", r.code)
			}
			first := strings.SplitN(r.stderr, "\n", 2)[0]
			if !strings.HasPrefix(first, "cusax: error: ") || !strings.Contains(first, tt.has) {
				t.Errorf("first stderr line %q, want a one-line error containing %q", first, tt.has)
			}
		})
	}
}
