package auditreport

import (
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
)

// hostile is text a server controls (evidence, certificate subjects) that
// must never become markup or break a metrics line.
const hostile = "<script>alert(1)</script>\"quoted\" back\\slash\nnew line"

// fixture is a batch of two targets: an account with failures on both
// aspects, an error and a policy override, and a domain target that
// passed; plus a target with no finding at all.
func fixture() Input {
	started := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	finished := started.Add(1234 * time.Millisecond)
	findings := []audit.Finding{
		{ID: "tls.tls10", Account: "work", Aspect: audit.Telephony, Endpoint: "sips:sip.example.com:5061",
			Severity: audit.High, Status: audit.Fail, Title: "TLS 1.0 accepted", Evidence: "handshake at TLS 1.0 completed",
			Ref: "RFC 8996 §2", Fix: "disable TLS 1.0"},
		{ID: "cert.expired", Account: "work", Aspect: audit.Chat, Endpoint: "xmpp-starttls:xmpp.example.com:5222",
			Severity: audit.Critical, Status: audit.Fail, Title: "certificate expired", Evidence: hostile,
			Ref: "RFC 5280 §4.1.2.5", Fix: "renew the certificate <b>now</b>"},
		{ID: "sip.digest-sha256", Account: "work", Aspect: audit.Telephony, Endpoint: "sips:sip.example.com:5061",
			Severity: audit.Medium, Status: audit.Fail, Title: "digest challenge offers only MD5", Evidence: "algorithm=MD5",
			Ref: "RFC 8760 §2", Fix: "offer SHA-256",
			Override: &audit.Override{Policy: "example", Reason: "legacy phones", FromSeverity: audit.High}},
		{ID: "xmpp.starttls-required", Account: "work", Aspect: audit.Chat, Endpoint: "xmpp-starttls:xmpp.example.com:5222",
			Severity: audit.High, Status: audit.Pass, Title: "STARTTLS required", Ref: "RFC 7590 §3.1"},
		{ID: "disc.srv", Account: "work", Aspect: audit.Chat, Endpoint: "dns:example.com",
			Severity: audit.Low, Status: audit.Error, Title: "SRV records could not be looked up", Evidence: "i/o timeout",
			Ref: "RFC 6120 §3.2"},
		{ID: "cusax.encryption", Account: "work", Aspect: audit.CUSAX, Severity: audit.Critical, Status: audit.Pass,
			Title: "both aspects encrypted", Ref: "RFC 7081 §7"},
		{ID: "tls.compression", Account: "work", Aspect: audit.Chat, Endpoint: "xmpp-starttls:xmpp.example.com:5222",
			Severity: audit.High, Status: audit.Skipped, Title: "TLS compression", Evidence: "not observable"},
		{ID: "tls.tls10", Account: "example.org", Aspect: audit.Chat, Endpoint: "xmpp-starttls:example.org:5222",
			Severity: audit.High, Status: audit.Pass, Title: "TLS 1.0 not accepted", Ref: "RFC 8996 §2"},
		{ID: "cert.subject", Account: "evil\"<i>target</i>\\", Aspect: audit.Chat, Endpoint: "x:1\xff",
			Severity: audit.Info, Status: audit.Fail, Title: "odd target name", Evidence: "\xff invalid utf-8"},
	}
	p := audit.Profile{Name: "bcp195", Source: "built-in"}
	r := audit.NewReport(audit.Tool{Name: "cusax", Version: "test"}, started, finished, p, audit.Medium, audit.High, findings)
	return Input{Command: "audit-tls", Report: r, Targets: []string{"work", "example.org", "quiet"},
		Certificates: []Certificate{
			{Target: "work", Aspect: audit.Chat, Endpoint: "xmpp-starttls:xmpp.example.com:5222",
				Subject: "CN=<img src=https://evil.example/x.png>", Issuer: "CN=Test CA",
				NotAfter: started.Add(-24 * time.Hour), SHA256: "ab12"},
			{Target: "work", Aspect: audit.Telephony, Endpoint: "sips:sip.example.com:5061",
				Subject: "CN=sip.example.com", Issuer: "CN=Test CA", NotAfter: started.Add(90 * 24 * time.Hour), SHA256: "cd34"},
		}}
}
