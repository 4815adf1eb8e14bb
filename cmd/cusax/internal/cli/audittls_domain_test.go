package cli

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
)

// bedZone publishes the test bed's services for example.test the way a
// provider would: SRV for both XMPP records, NAPTR → SRV for SIP over TLS
// and UDP (RFC 3263 §4.1), the targets' addresses by name.
func bedZone(t *testing.T, bed *testbed.Bed) testbed.DNSZone {
	t.Helper()
	port := func(addr string) int {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	return testbed.DNSZone{
		SRV: []testbed.SRVRecord{
			{Name: "_xmpp-client._tcp.example.test", Target: "xmpp.example.test", Port: port(bed.XMPPAddr), Priority: 5},
			{Name: "_xmpps-client._tcp.example.test", Target: "xmpp.example.test", Port: port(bed.XMPPDirectTLSAddr), Priority: 5},
			{Name: "_sips._tcp.example.test", Target: "sip.example.test", Port: port(bed.SIPTLSAddr), Priority: 10},
			{Name: "_sip._udp.example.test", Target: "sip.example.test", Port: port(bed.SIPUDPAddr), Priority: 10},
		},
		NAPTR: []testbed.NAPTRRecord{
			{Name: "example.test", Order: 10, Preference: 50, Flags: "s", Service: "SIPS+D2T", Repl: "_sips._tcp.example.test"},
			{Name: "example.test", Order: 20, Preference: 50, Flags: "s", Service: "SIP+D2U", Repl: "_sip._udp.example.test"},
		},
		Hosts: []testbed.HostRecord{
			{Name: "xmpp.example.test", Addrs: []string{"127.0.0.1"}},
			{Name: "sip.example.test", Addrs: []string{"127.0.0.1"}},
		},
	}
}

// registersOverTLS counts the REGISTERs Kamailio received over TLS, from
// its per-request log line.
func registersOverTLS(t *testing.T, bed *testbed.Bed) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bed.Dir, "kamailio", "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "REGISTER sip:example.test from") && strings.HasSuffix(l, "/tls") {
			n++
		}
	}
	return n
}

// --domain: both aspects found through a real DNS server (dnsmasq), every
// published endpoint probed: XMPP STARTTLS and direct TLS, SIP over TLS
// and over UDP. SIP answers on UDP, so telephony allows plaintext while
// chat requires TLS (cusax.plaintext, RFC 7081 §7): CRITICAL. With
// --targets naming the same domain twice (once as a pair) and an account
// on the same servers, the SIP TLS endpoint is still probed once.
func TestAuditTLSDomain(t *testing.T) {
	bed := testbed.Shared(t)
	ns := testbed.StartDNS(t, bedZone(t, bed))
	home := auditAccount(t, bed, tlsProxy(bed))

	r := runCLI(t, home, "", "audit-tls", "--domain", "example.test", "--resolver", ns.Addr, "--ca-file", bed.CAFile, "--json", "--no-state")
	rep := decodeAudit(t, r)
	bad := failed(t, rep)
	if _, ok := bad[audit.CheckCUSAXPlain+" cusax"]; !ok || r.code != audit.ExitCritical {
		t.Errorf("exit %d; want 2 with %s failing", r.code, audit.CheckCUSAXPlain)
	}
	var endpoints []string
	for _, f := range rep.Findings {
		if f.Endpoint != "" && !strings.HasPrefix(f.Endpoint, "dns:") && !slices.Contains(endpoints, f.Endpoint) {
			endpoints = append(endpoints, f.Endpoint)
		}
		if f.Account != "example.test" {
			t.Errorf("finding %s labelled %q, want example.test", f.ID, f.Account)
		}
		if f.Status == audit.Error {
			t.Errorf("%s could not run: %s", f.ID, f.Evidence)
		}
	}
	slices.Sort(endpoints)
	want := []string{
		"sip-tls:sip.example.test:" + portOf(bed.SIPTLSAddr), "sip-udp:sip.example.test:" + portOf(bed.SIPUDPAddr),
		"xmpp-starttls:xmpp.example.test:" + portOf(bed.XMPPAddr), "xmpp-tls:xmpp.example.test:" + portOf(bed.XMPPDirectTLSAddr),
	}
	if !slices.Equal(endpoints, want) {
		t.Errorf("endpoints %q\nwant %q", endpoints, want)
	}
	for _, id := range []string{audit.CheckCertTrust, audit.CheckSIPAnswers, audit.CheckSIPDigestAlg} {
		for _, f := range findingByID(rep, id) {
			if f.Status == audit.Fail {
				t.Errorf("%s on %s: %s", id, f.Endpoint, f.Evidence)
			}
		}
	}
	if strings.Contains(r.stderr, "endpoints probed") {
		t.Errorf("progress on a non-terminal stderr: %q", r.stderr)
	}

	// Shared endpoints are probed once.
	targets := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(targets, []byte("# providers\nexample.test\nexample.test example.test  # the pair form\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := registersOverTLS(t, bed)
	r = runCLI(t, home, "", "audit-tls", "--targets", targets, "--resolver", ns.Addr, "--ca-file", bed.CAFile, "--json", "--no-state")
	rep = decodeAudit(t, r)
	accounts := map[string]bool{}
	for _, f := range rep.Findings {
		accounts[f.Account] = true
	}
	if len(accounts) != 2 || !accounts["example.test"] || !accounts["example.test/example.test"] {
		t.Errorf("targets audited: %v", accounts)
	}
	if n := registersOverTLS(t, bed) - before; n != 1 {
		t.Errorf("Kamailio got %d REGISTERs over TLS for two targets sharing the endpoint, want 1", n)
	}

	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--domain", "not a domain"}, "is not a domain name"},
		{[]string{"--domain", "127.0.0.1"}, "is not a domain name"},
		{[]string{"--targets", "/nonexistent"}, "no such file"},
		{[]string{"--domain", "example.test", "--resolver", "nohostport"}, "HOST:PORT"},
		{[]string{"--domain", "example.test", "--parallel", "0"}, "--parallel"},
	} {
		r := runCLI(t, home, "", append([]string{"audit-tls", "--no-state"}, bad.args...)...)
		if r.code != audit.ExitUnknown || !strings.Contains(r.stderr, bad.msg) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q; want 3 and %q", bad.args, r.code, r.stderr, bad.msg)
		}
	}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
