package cli

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
)

// aspectKeys reduces a report to what two audits of the same endpoints
// must agree on, modulo the target's name: check, endpoint, status and
// severity of every finding of one aspect.
func aspectKeys(rep audit.Report, aspect audit.Aspect) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Aspect == aspect {
			out = append(out, fmt.Sprintf("%s %s %s %s", f.ID, f.Endpoint, f.Status, f.Severity))
		}
	}
	slices.Sort(out)
	return out
}

// Issue 20: `audit-tls 127.0.0.1:PORT --starttls xmpp --sni example.test`
// gives the same findings as auditing the account's Chat aspect on the
// same Prosody (and `--sip` the same as its Telephony aspect on the same
// Kamailio): same checks, statuses and severities. The expected identity
// is really checked: --expect-name another domain fails the identity
// check, titled by what failed.
func TestAuditTLSEndpointBed(t *testing.T) {
	bed := testbed.Shared(t)
	home := auditAccount(t, bed, tlsProxy(bed))
	acct := decodeAudit(t, runCLI(t, home, "", "audit-tls", "--json", "--no-state"))

	for _, c := range []struct {
		aspect audit.Aspect
		args   []string
	}{
		{audit.Chat, []string{bed.XMPPAddr, "--starttls", "xmpp", "--sni", bed.Domain}},
		{audit.Telephony, []string{bed.SIPTLSAddr, "--sip", "--sni", bed.Domain}},
	} {
		r := runCLI(t, home, "", append([]string{"audit-tls", "--json", "--no-state", "--ca-file", bed.CAFile}, c.args...)...)
		ep := decodeAudit(t, r)
		want, got := aspectKeys(acct, c.aspect), aspectKeys(ep, c.aspect)
		if len(want) < 20 || !slices.Equal(got, want) {
			t.Errorf("%s: endpoint audit differs from the account's %s aspect\nendpoint: %q\naccount:  %q", c.args[0], c.aspect, got, want)
		}
		for _, f := range ep.Findings {
			if f.Account != c.args[0] {
				t.Errorf("finding %s labelled %q, want %q", f.ID, f.Account, c.args[0])
			}
			if f.Status == audit.Error {
				t.Errorf("%s could not run: %s", f.ID, f.Evidence)
			}
		}
		t.Logf("%s: %d findings of %s, same as the account's", c.args[0], len(got), c.aspect)
	}

	// Direct TLS (XEP-0368) needs SNI on the bed; the identity matches.
	r := runCLI(t, home, "", "audit-tls", "--json", "--no-state", "--ca-file", bed.CAFile, bed.XMPPDirectTLSAddr, "--starttls", "none", "--sni", bed.Domain)
	for _, f := range findingByID(decodeAudit(t, r), audit.CheckCertIDXMPP) {
		if f.Status != audit.Pass {
			t.Errorf("direct TLS: %s %s: %s", f.ID, f.Status, f.Evidence)
		}
	}

	// Another expected identity than the SNI: Kamailio serves the
	// certificate for the SNI, which does not name it. (For XMPP the
	// expected identity is also the stream's 'to', so Prosody would
	// answer as another host.)
	r = runCLI(t, home, "", "audit-tls", "--no-state", "--ca-file", bed.CAFile, bed.SIPTLSAddr, "--sip", "--sni", bed.Domain, "--expect-name", "other.example")
	idCheck, _ := audit.LookupCheck(audit.CheckCertIDSIP)
	if !strings.Contains(r.stdout, "cert.identity-sip  "+audit.TitleFor(idCheck, audit.Fail)) || r.code != audit.ExitCritical {
		t.Errorf("--expect-name other.example: exit %d\n%s", r.code, r.stdout)
	}
}

// Issue 20: a domain that does not exist (NXDOMAIN from a real DNS
// server) is one finding, one ERROR line, exit 3; an endpoint target
// naming it too. Before: 69 ERROR lines repeating "no such host".
func TestAuditTLSUnresolvedBed(t *testing.T) {
	bed := testbed.Shared(t)
	ns := testbed.StartDNS(t, bedZone(t, bed))
	home := t.TempDir()
	for _, target := range [][]string{{"--domain", "nosuch.test"}, {"nosuch.test:5222"}} {
		args := append([]string{"audit-tls", "--no-state", "--resolver", ns.Addr}, target...)
		r := runCLI(t, home, "", args...)
		if n := strings.Count(r.stdout, "ERROR"); n != 1 || r.code != audit.ExitUnknown {
			t.Errorf("%v: exit %d, %d ERROR lines:\n%s", target, r.code, n, r.stdout)
		}
		rep := decodeAudit(t, runCLI(t, home, "", append(args, "--json")...))
		if len(rep.Findings) != 1 || rep.Findings[0].ID != audit.CheckResolve || !strings.Contains(rep.Findings[0].Evidence, "no such host") {
			t.Errorf("%v: %+v", target, rep.Findings)
		}
	}
	// An account whose SIP proxy does not resolve (its chat server does):
	// one error, on that endpoint, rather than one per check.
	acct := auditAccount(t, bed, "sip:nosuch.test:5061;transport=tls")
	rep := decodeAudit(t, runCLI(t, acct, "", "audit-tls", "--json", "--no-state", "--resolver", ns.Addr))
	var errs []string
	for _, f := range rep.Findings {
		if f.Status == audit.Error {
			errs = append(errs, f.ID+" "+f.Endpoint+": "+f.Evidence)
		}
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], audit.CheckSIPTLS+" sip-tls:nosuch.test:5061: ") || !strings.Contains(errs[0], "no such host") {
		t.Errorf("errors %q, want one on sip-tls:nosuch.test:5061", errs)
	}

	// The bed's own domain resolves: no disc.resolve finding.
	rep = decodeAudit(t, runCLI(t, home, "", "audit-tls", "--json", "--no-state", "--resolver", ns.Addr, "--ca-file", bed.CAFile, "--domain", "example.test"))
	if f := findingByID(rep, audit.CheckResolve); len(f) != 0 {
		t.Errorf("example.test: %+v", f)
	}
}
