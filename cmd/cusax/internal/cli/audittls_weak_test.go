package cli

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
)

// Deliberately weak endpoints (issue 6, "must show"): each case changes
// one property of an otherwise clean account and asserts exactly the
// failing checks and the exit code that property causes under the bcp195
// profile. The clean counterparts are Go servers from internal/testbed
// (weak.go) with certificates from a throwaway CA valid for 90 days, TLS
// 1.2–1.3 and ECDHE AEAD suites only: they give no finding at all (the
// "srv-id only" case shows it), so every failure listed is the weak
// property's.

// weakAccount writes a config with one account "lab" for example.test and
// returns its home.
func weakAccount(t *testing.T, caFile, jid, xmppServer, sipProxy string) string {
	t.Helper()
	home := t.TempDir()
	cfg := &config.Config{Default: "lab", Accounts: []config.Account{{
		Name: "lab", Related: true, CAFile: caFile,
		XMPP: &config.XMPPAspect{JID: jid, Server: xmppServer},
		SIP:  &config.SIPAspect{AOR: "sip:alice@example.test", Proxy: sipProxy},
	}}}
	if err := config.Save(filepath.Join(home, "cusax", "config.toml"), cfg); err != nil {
		t.Fatal(err)
	}
	return home
}

// weakFixture is a throwaway CA, its file, and the clean endpoints.
type weakFixture struct {
	ca     *testbed.WeakCA
	caFile string
}

func newWeakFixture(t *testing.T, extraCA ...[]byte) weakFixture {
	t.Helper()
	ca, err := testbed.NewWeakCA()
	if err != nil {
		t.Fatal(err)
	}
	file, err := testbed.WriteWeakCAFile(t.TempDir(), append([][]byte{ca.PEM}, extraCA...)...)
	if err != nil {
		t.Fatal(err)
	}
	return weakFixture{ca: ca, caFile: file}
}

func (w weakFixture) cert(t *testing.T, spec testbed.WeakCertSpec) tls.Certificate {
	t.Helper()
	c, err := w.ca.Issue(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w weakFixture) strong(t *testing.T) *tls.Config {
	return testbed.StrongTLSConfig(w.cert(t, testbed.WeakCertSpec{DNSNames: []string{"example.test"}}))
}

// cleanXMPP: STARTTLS advertised and required, no SASL before TLS, SCRAM
// after it.
func (w weakFixture) cleanXMPP(t *testing.T) string {
	return testbed.WeakXMPP{TLS: w.strong(t), AdvertiseStartTLS: true, RequireStartTLS: true,
		PostTLS: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}}.Serve(t)
}

func sipTLS(addr string) string { return "sip:" + addr + ";transport=tls" }

// auditWeak runs audit-tls on the account at home and checks the failed
// (or errored) checks, as "ID aspect", and the exit code.
func auditWeak(t *testing.T, home string, want []string, wantCode int) audit.Report {
	t.Helper()
	start := time.Now()
	r := runCLI(t, home, "", "audit-tls", "--json", "--no-state")
	t.Logf("audit took %s", time.Since(start).Round(time.Millisecond))
	rep := decodeAudit(t, r)
	bad := failed(t, rep)
	var got []string
	for k := range bad {
		got = append(got, k)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("failed checks:\n got %q\nwant %q", got, want)
	}
	if wantCode = withBuiltinMediaGap(t, rep, wantCode); r.code != wantCode {
		t.Errorf("exit %d, want %d", r.code, wantCode)
	}
	return rep
}

// TLS and certificate weaknesses of the SIP TLS endpoint, against a clean
// XMPP server; and the SRV-ID-only certificate on the XMPP side.
func TestAuditTLSWeakEndpoints(t *testing.T) {
	tests := []struct {
		name string
		// chat and sip return the account's XMPP server and SIP proxy.
		chat, sip func(t *testing.T, w weakFixture) string
		want      []string
		code      int
		// check, if set, looks further into the report.
		check func(t *testing.T, rep audit.Report)
	}{{
		// RFC 9325 §3.1.1, RFC 8996: TLS 1.0 and 1.1 MUST NOT be used
		// (high). Go offers only CBC suites below TLS 1.2, without
		// encrypt_then_mac, so tls.suites-cbc (low) fails too, and the
		// aspects now differ in versions and suite classes (RFC 7081 §7,
		// medium each).
		name: "TLS 1.0 and 1.1 allowed",
		sip: func(t *testing.T, w weakFixture) string {
			cfg := w.strong(t)
			cfg.MinVersion, cfg.CipherSuites = tls.VersionTLS10, nil
			return sipTLS(testbed.ServeWeakTLS(t, cfg))
		},
		want: []string{
			audit.CheckTLS10 + " telephony", audit.CheckTLS11 + " telephony", audit.CheckSuitesCBC + " telephony",
			audit.CheckCUSAXVersions + " cusax", audit.CheckCUSAXSuites + " cusax",
		},
		code: audit.ExitCritical,
	}, {
		// An expired leaf fails validity and the PKIX chain (both
		// critical); chat is authenticated and telephony is not, which
		// cusax.server-auth reports (RFC 7081 §7).
		name: "expired certificate",
		sip: func(t *testing.T, w weakFixture) string {
			c := w.cert(t, testbed.WeakCertSpec{DNSNames: []string{"example.test"},
				NotBefore: time.Now().Add(-60 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
			return sipTLS(testbed.ServeWeakTLS(t, testbed.StrongTLSConfig(c)))
		},
		want: []string{audit.CheckCertValidity + " telephony", audit.CheckCertTrust + " telephony", audit.CheckCUSAXSrvAuth + " cusax"},
		code: audit.ExitCritical,
	}, {
		// A trusted chain for another name: RFC 5922 §7.1 identity fails
		// (neither the AOR's domain nor the proxy host 127.0.0.1).
		name: "certificate for the wrong name",
		sip: func(t *testing.T, w weakFixture) string {
			c := w.cert(t, testbed.WeakCertSpec{DNSNames: []string{"wrong.test"}})
			return sipTLS(testbed.ServeWeakTLS(t, testbed.StrongTLSConfig(c)))
		},
		want: []string{audit.CheckCertIDSIP + " telephony", audit.CheckCUSAXSrvAuth + " cusax"},
		code: audit.ExitCritical,
	}, {
		// Self-signed for the right name: only the trust anchor is wrong.
		name: "self-signed certificate",
		sip: func(t *testing.T, w weakFixture) string {
			c := w.cert(t, testbed.WeakCertSpec{DNSNames: []string{"example.test"}, SelfSigned: true})
			return sipTLS(testbed.ServeWeakTLS(t, testbed.StrongTLSConfig(c)))
		},
		want: []string{audit.CheckCertTrust + " telephony", audit.CheckCUSAXSrvAuth + " cusax"},
		code: audit.ExitCritical,
	}, {
		// RFC 6120 §13.7.1.2: an SRV-ID _xmpp-client.<domain> is a valid
		// identity for XMPP clients, so this is not a finding: the whole
		// account is clean, exit 0.
		name: "SRV-ID only on XMPP",
		chat: func(t *testing.T, w weakFixture) string {
			c := w.cert(t, testbed.WeakCertSpec{SRVNames: []string{"_xmpp-client.example.test"}})
			return testbed.WeakXMPP{TLS: testbed.StrongTLSConfig(c), AdvertiseStartTLS: true, RequireStartTLS: true,
				PostTLS: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}}.Serve(t)
		},
		want: nil,
		code: audit.ExitOK,
		check: func(t *testing.T, rep audit.Report) {
			fs := findingByID(rep, audit.CheckCertIDXMPP)
			if len(fs) != 1 || fs[0].Status != audit.Pass || !strings.Contains(fs[0].Evidence, "SRV-ID") {
				t.Errorf("%s: %+v, want one pass by SRV-ID", audit.CheckCertIDXMPP, fs)
			}
		},
	}, {
		// RFC 6120 §5.3.4, §13.8: STARTTLS offered but not required, and
		// PLAIN offered before TLS. Chat is opportunistic while telephony
		// requires TLS: cusax.plaintext (RFC 7081 §7, high).
		name: "PLAIN before TLS",
		chat: func(t *testing.T, w weakFixture) string {
			return testbed.WeakXMPP{TLS: w.strong(t), AdvertiseStartTLS: true,
				PreTLS: []string{"PLAIN"}, PostTLS: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}}.Serve(t)
		},
		want: []string{
			audit.CheckXMPPRequired + " chat", audit.CheckXMPPSASLPre + " chat", audit.CheckXMPPPlainPre + " chat",
			audit.CheckCUSAXPlain + " cusax",
		},
		code: audit.ExitCritical,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWeakFixture(t)
			chat := w.cleanXMPP
			if tt.chat != nil {
				chat = func(t *testing.T) string { return tt.chat(t, w) }
			}
			sip := func(t *testing.T) string { return sipTLS(testbed.ServeWeakTLS(t, w.strong(t))) }
			if tt.sip != nil {
				sip = func(t *testing.T) string { return tt.sip(t, w) }
			}
			home := weakAccount(t, w.caFile, "alice@example.test", chat(t), sip(t))
			rep := auditWeak(t, home, tt.want, tt.code)
			if tt.check != nil {
				tt.check(t, rep)
			}
		})
	}
}

// Weak endpoints that involve the test bed's servers: the bed's Prosody
// with STARTTLS stripped by a proxy, and SIP over the bed's Kamailio UDP.
func TestAuditTLSWeakBed(t *testing.T) {
	bed := testbed.Shared(t)
	caPEM, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("STARTTLS not advertised but accepted", func(t *testing.T) {
		// RFC 7590 §3.1: a client sends <starttls/> anyway, and the
		// server (Prosody) accepts it. Not advertised means not required:
		// chat is opportunistic while telephony requires TLS. The bed's
		// certificates are valid for a day, hence cert.expires-soon on
		// chat (as in TestAuditTLSBedOverTLS).
		w := newWeakFixture(t, caPEM)
		p := testbed.NewProxy(t, bed.XMPPAddr, testbed.ProxyOptions{StripStartTLS: true})
		home := weakAccount(t, w.caFile, "alice@"+bed.Domain, p.Addr, sipTLS(testbed.ServeWeakTLS(t, w.strong(t))))
		rep := auditWeak(t, home, []string{
			audit.CheckXMPPOffered + " chat", audit.CheckXMPPRequired + " chat", audit.CheckCUSAXPlain + " cusax",
			audit.CheckCertSoon + " chat",
		}, audit.ExitCritical)
		for _, f := range findingByID(rep, audit.CheckXMPPStartTLS) {
			if f.Status != audit.Pass {
				t.Errorf("%s: %s, want pass (accepted although not advertised): %s", f.ID, f.Status, f.Evidence)
			}
		}
	})

	t.Run("PLAIN before TLS, no STARTTLS (Prosody)", func(t *testing.T) {
		// The bed's notls.test host has no certificate: no STARTTLS
		// (Prosody answers <starttls/> with a stream error) and SASL,
		// PLAIN included, in the clear. Chat is unencrypted while
		// telephony is encrypted: cusax.encryption (critical), not
		// cusax.plaintext, which compares opportunistic with required.
		w := newWeakFixture(t, caPEM)
		home := weakAccount(t, w.caFile, "eve@"+bed.NoTLSDomain, bed.XMPPAddr, sipTLS(testbed.ServeWeakTLS(t, w.strong(t))))
		auditWeak(t, home, []string{
			audit.CheckXMPPOffered + " chat", audit.CheckXMPPStartTLS + " chat", audit.CheckXMPPRequired + " chat",
			audit.CheckXMPPSASLPre + " chat", audit.CheckXMPPPlainPre + " chat", audit.CheckCUSAXEnc + " cusax",
		}, audit.ExitCritical)
	})

	t.Run("SIP on UDP only", func(t *testing.T) {
		// RFC 7081 §7: one aspect encrypted, the other not (critical),
		// and no SIP over TLS (critical).
		w := newWeakFixture(t)
		home := weakAccount(t, w.caFile, "alice@example.test", w.cleanXMPP(t), "sip:"+bed.SIPUDPAddr+";transport=udp")
		auditWeak(t, home, []string{audit.CheckSIPTLS + " telephony", audit.CheckCUSAXEnc + " cusax"}, audit.ExitCritical)
	})
}

// SIP digest MD5 only: a second bed whose Kamailio challenges with MD5
// alone. Against the bed's own Prosody, the failures are exactly those of
// the SHA-256 bed (TestAuditTLSBedOverTLS) plus sip.digest-algorithm
// (RFC 8760, medium: exit 1): SCRAM-SHA-1 and digest MD5 are one rank apart, so
// cusax.client-auth passes. Against a chat server offering SCRAM-SHA-256,
// the gap is two ranks, RFC 7081 §7's own example, and cusax.client-auth
// fails too. The REGISTER that obtains the challenge carries no
// credentials: Kamailio logs no REGISTER accepted for it.
func TestAuditTLSWeakSIPDigestMD5(t *testing.T) {
	md5 := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	sha := testbed.Shared(t)

	base := failed(t, decodeAudit(t, runCLI(t, auditAccount(t, sha, tlsProxy(sha)), "", "audit-tls", "--json", "--no-state")))
	var want []string
	for k := range base {
		want = append(want, k)
	}
	want = append(want, audit.CheckSIPDigestAlg+" telephony")
	rep := auditWeak(t, auditAccount(t, md5, tlsProxy(md5)), want, audit.ExitWarning)
	for _, f := range findingByID(rep, audit.CheckSIPDigestAlg) {
		if f.Evidence != "challenge offers only Digest MD5" {
			t.Errorf("evidence %q", f.Evidence)
		}
	}
	for _, f := range findingByID(rep, audit.CheckCUSAXCliAuth) {
		if f.Status != audit.Pass {
			t.Errorf("%s: %s, want pass (SCRAM-SHA-1 vs MD5 is a gap of one rank): %s", f.ID, f.Status, f.Evidence)
		}
	}

	caPEM, err := os.ReadFile(md5.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	w := newWeakFixture(t, caPEM)
	home := weakAccount(t, w.caFile, "alice@example.test", w.cleanXMPP(t), tlsProxy(md5))
	auditWeak(t, home, []string{
		audit.CheckSIPDigestAlg + " telephony", audit.CheckCUSAXCliAuth + " cusax",
		// Kamailio's TLS as on the SHA-256 bed, now next to a chat server
		// with AEAD suites only and a 90-day certificate:
		audit.CheckCertSoon + " telephony", audit.CheckSuitesCBC + " telephony", audit.CheckCUSAXSuites + " cusax",
	}, audit.ExitWarning)
	log, err := os.ReadFile(filepath.Join(md5.Dir, "kamailio", "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "cusax-testbed: REGISTER "); n != 0 {
		t.Errorf("Kamailio accepted %d REGISTERs; the audit must not authenticate", n)
	}
}

// A policy plugin re-weighs the profile's severities (issue 6: "a policy
// plugin may override them"). The SIP endpoint stops at TLS 1.2: under
// bcp195 tls.tls13 is low, so next to the aspects' different versions
// (cusax.versions, medium) the audit is a WARNING. The example policy,
// built as its own binary and named by the account, raises tls.tls13 to
// high: CRITICAL, and the finding says who changed it and why.
func TestAuditTLSPolicyOverride(t *testing.T) {
	w := newWeakFixture(t)
	cfg := w.strong(t)
	cfg.MaxVersion = tls.VersionTLS12
	home := weakAccount(t, w.caFile, "alice@example.test", w.cleanXMPP(t), sipTLS(testbed.ServeWeakTLS(t, cfg)))
	want := []string{audit.CheckTLS13 + " telephony", audit.CheckCUSAXVersions + " cusax"}
	rep := auditWeak(t, home, want, audit.ExitWarning)
	for _, f := range findingByID(rep, audit.CheckTLS13) {
		if f.Aspect == audit.Telephony && (f.Severity != audit.Low || f.Override != nil) {
			t.Errorf("without the policy: %s %s %+v", f.ID, f.Severity, f.Override)
		}
	}

	path := filepath.Join(home, "cusax", "config.toml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Accounts[0].Policy = []string{"example"}
	if err := config.Save(path, c); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, home, "", "--plugin-dir", pluginDir(t), "audit-tls", "--json", "--no-state")
	rep = decodeAudit(t, r)
	if r.code != audit.ExitCritical {
		t.Errorf("with the example policy: exit %d, want 2", r.code)
	}
	fs := findingByID(rep, audit.CheckTLS13)
	var raised bool
	for _, f := range fs {
		if f.Aspect != audit.Telephony {
			continue
		}
		raised = f.Severity == audit.High && f.Status == audit.Fail && f.Override != nil &&
			f.Override.Policy == "example" && f.Override.FromSeverity == audit.Low && f.Override.Reason != ""
		if !raised {
			t.Errorf("with the example policy: %s %s %s %+v", f.ID, f.Status, f.Severity, f.Override)
		}
	}
	if !raised {
		t.Errorf("no telephony %s finding", audit.CheckTLS13)
	}
	text := runCLI(t, home, "", "--plugin-dir", pluginDir(t), "audit-tls", "--no-state")
	if !strings.Contains(text.stdout, "policy:   low under the profile; set by policy example") {
		t.Errorf("text report does not show the override:\n%s", text.stdout)
	}
}
