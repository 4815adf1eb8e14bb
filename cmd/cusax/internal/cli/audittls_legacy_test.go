package cli

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
)

// Legacy probes (issue 20, item 3): hand-built SSL 3.0, SSL 2.0 and
// TLS 1.2 + DEFLATE ClientHellos (pkg/core/tlsprobe/legacy.go), judged by
// tls.ssl (RFC 9325 §3.1.1, critical) and tls.compression (RFC 9325 §3.3,
// RFC 7590 §3.2, medium).

// The test bed's real servers, Prosody (after STARTTLS) and Kamailio (SIP
// over TLS), both on Debian's OpenSSL 3 (built with no-ssl3 and no-zlib):
// both checks pass on both aspects, from an answer the server gave (an
// alert or a closed connection, quoted in the evidence), never skipped.
func TestAuditTLSLegacyBed(t *testing.T) {
	bed := testbed.Shared(t)
	home := auditAccount(t, bed, tlsProxy(bed))
	rep := decodeAudit(t, runCLI(t, home, "", "audit-tls", "--json", "--no-state"))
	for _, c := range []struct{ id, evidence string }{
		{audit.CheckTLSSSL, "refused: SSL 3.0 ("},
		{audit.CheckCompression, "DEFLATE offered and not selected: "},
	} {
		fs := findingByID(rep, c.id)
		if len(fs) != 2 {
			t.Fatalf("%s: %d findings, want one per aspect", c.id, len(fs))
		}
		for _, f := range fs {
			t.Logf("%s %s [%s]: %s", f.ID, f.Status, f.Aspect, f.Evidence)
			if f.Status != audit.Pass || !strings.HasPrefix(f.Evidence, c.evidence) {
				t.Errorf("%s on %s: %s %q, want pass with %q…", f.ID, f.Aspect, f.Status, f.Evidence, c.evidence)
			}
		}
	}
	for _, f := range findingByID(rep, audit.CheckTLSSSL) {
		if !strings.Contains(f.Evidence, "SSL 2.0 (") {
			t.Errorf("%s on %s: SSL 2.0 not judged: %s", f.ID, f.Aspect, f.Evidence)
		}
	}
}

// A server that still accepts SSL 3.0, SSL 2.0 and DEFLATE, on both aspects: the
// scripted responder testbed.LegacyTLS (no real one can be installed here,
// see its doc), behind the XMPP STARTTLS dialog and as SIP over TLS. Both
// checks fail on both aspects with the server's ServerHello as evidence;
// tls.ssl is critical: exit 2. Everything else about the endpoints is
// clean (TLS 1.2–1.3, AEAD suites), so these are the only failures.
func TestAuditTLSLegacyEndpoints(t *testing.T) {
	w := newWeakFixture(t)
	legacy := testbed.LegacyTLS{SSL3: true, SSL2: true, Deflate: true}
	chat := testbed.WeakXMPP{TLS: w.strong(t), AdvertiseStartTLS: true, RequireStartTLS: true,
		PostTLS: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}, Legacy: legacy}.Serve(t)
	sip := sipTLS(testbed.ServeLegacyTLS(t, w.strong(t), legacy))
	home := weakAccount(t, w.caFile, "alice@example.test", chat, sip)
	rep := auditWeak(t, home, []string{
		audit.CheckTLSSSL + " chat", audit.CheckTLSSSL + " telephony",
		audit.CheckCompression + " chat", audit.CheckCompression + " telephony",
	}, audit.ExitCritical)
	for _, f := range findingByID(rep, audit.CheckTLSSSL) {
		if f.Severity != audit.Critical || !strings.Contains(f.Evidence, "accepted: SSL 3.0 (ServerHello SSL 3.0 ") ||
			!strings.Contains(f.Evidence, "; SSL 2.0 (SSL 2.0 SERVER-HELLO version SSL 2.0)") ||
			f.Ref == "" || f.Fix == "" {
			t.Errorf("%s on %s: %s %s %q ref %q fix %q", f.ID, f.Aspect, f.Status, f.Severity, f.Evidence, f.Ref, f.Fix)
		}
	}
	for _, f := range findingByID(rep, audit.CheckCompression) {
		if f.Severity != audit.Medium || !strings.Contains(f.Evidence, "compression=1") {
			t.Errorf("%s on %s: %s %s %q", f.ID, f.Aspect, f.Status, f.Severity, f.Evidence)
		}
	}
}

// A SIP server that speaks only SSL 3.0 (no TLS handshake succeeds): it
// is not "no TLS, nothing to say": tls.ssl fails with the ServerHello,
// and sip.tls's no-TLS evidence says what the server accepts instead.
func TestAuditTLSLegacySSLOnly(t *testing.T) {
	w := newWeakFixture(t)
	sslOnly := &tls.Config{} // no certificate: every TLS 1.0–1.3 handshake fails
	sip := sipTLS(testbed.ServeLegacyTLS(t, sslOnly, testbed.LegacyTLS{SSL3: true}))
	home := weakAccount(t, w.caFile, "alice@example.test", w.cleanXMPP(t), sip)
	rep := auditWeak(t, home, []string{
		audit.CheckTLSSSL + " telephony", audit.CheckSIPTLS + " telephony", audit.CheckCUSAXEnc + " cusax",
	}, audit.ExitCritical)
	for _, id := range []string{audit.CheckTLSSSL, audit.CheckSIPTLS} {
		for _, f := range findingByID(rep, id) {
			if f.Aspect == audit.Telephony && !strings.Contains(f.Evidence, "SSL 3.0 (ServerHello SSL 3.0 ") {
				t.Errorf("%s: %q", f.ID, f.Evidence)
			}
		}
	}
}
