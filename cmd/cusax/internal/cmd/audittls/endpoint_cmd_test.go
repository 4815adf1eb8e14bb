package audittls

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/miekg/dns"
)

// key is what two audits of one endpoint must agree on: check, status and
// severity (the target's name differs).
func keys(t *testing.T, out string, aspect audit.Aspect) map[string]string {
	t.Helper()
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := map[string]string{}
	for _, f := range rep.Findings {
		if f.Aspect == aspect {
			m[f.ID+" "+f.Endpoint] = string(f.Status) + " " + f.Severity.String()
		}
	}
	return m
}

// HOST:PORT --starttls none --sni NAME audits the endpoint as the chat
// aspect of an account on it: the same checks, statuses and severities.
func TestAuditTLSEndpointMatchesAccount(t *testing.T) {
	addr := tlsListener(t, "example.com")
	cfg := &config.Config{Accounts: []config.Account{{
		Name: "local", XMPP: &config.XMPPAspect{JID: "alice@example.com", Server: addr, DirectTLS: true},
	}}}
	e := cmdtest.New(t, cfg, nil, nil)
	acct := e.Run(newCmd, "local", "--json", "--no-state", "--timeout", "5s")
	ep := e.Run(newCmd, addr, "--starttls", "none", "--sni", "example.com", "--json", "--no-state", "--timeout", "5s")
	jsoncheck.Validate(t, ep.Stdout)
	want, got := keys(t, acct.Stdout, audit.Chat), keys(t, ep.Stdout, audit.Chat)
	if len(want) < 20 {
		t.Fatalf("account audit has only %d chat findings", len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: endpoint %q, account %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s only in the endpoint audit", k)
		}
	}
	if ep.Code != acct.Code || ep.Code != audit.ExitCritical {
		t.Errorf("exit %d, account %d", ep.Code, acct.Code)
	}
	if !strings.Contains(ep.Stdout, `"account": "`+addr+`"`) {
		t.Errorf("findings not labelled %s", addr)
	}
	// The untrusted certificate, in text and in the verdict, is titled by
	// what failed, not by the requirement.
	txt := e.Run(newCmd, addr, "--starttls", "none", "--sni", "example.com", "--no-state", "--timeout", "5s")
	trust, _ := audit.LookupCheck(audit.CheckCertTrust)
	failTitle := audit.TitleFor(trust, audit.Fail)
	if !strings.Contains(txt.Stdout, "cert.trust  "+failTitle) || strings.Contains(txt.Stdout, trust.Title) {
		t.Errorf("text report does not title cert.trust %q:\n%s", failTitle, txt.Stdout)
	}
	if !strings.Contains(txt.Err.Error(), "worst critical: ") {
		t.Errorf("verdict %q does not name the worst failure", txt.Err)
	}
}

// nxdomainServer answers NXDOMAIN to everything.
func nxdomainServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// A domain or an endpoint that does not resolve is one finding, one
// ERROR line, exit 3 (UNKNOWN), in every format.
func TestAuditTLSUnresolvedIsOneFinding(t *testing.T) {
	ns := nxdomainServer(t)
	e := cmdtest.New(t, cmdtest.Standard(), nil, nil)
	for _, target := range [][]string{{"--domain", "nosuch.test"}, {"nosuch.test:5222"}} {
		args := append([]string{"--resolver", ns, "--no-state", "--timeout", "2s"}, target...)
		r := e.Run(newCmd, append(args, "--json")...)
		jsoncheck.Validate(t, r.Stdout)
		var rep audit.Report
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Findings) != 1 || r.Code != audit.ExitUnknown {
			t.Fatalf("%v: exit %d, %d findings:\n%s", target, r.Code, len(rep.Findings), r.Stdout)
		}
		f := rep.Findings[0]
		if f.ID != audit.CheckResolve || f.Status != audit.Error || !strings.Contains(f.Evidence, "nosuch.test: no such host") {
			t.Errorf("%v: %+v", target, f)
		}
		txt := e.Run(newCmd, args...)
		if n := strings.Count(txt.Stdout, "ERROR"); n != 1 || txt.Code != audit.ExitUnknown {
			t.Errorf("%v: exit %d, %d ERROR lines:\n%s", target, txt.Code, n, txt.Stdout)
		}
		nd := e.Run(newCmd, append(args, "--format", "ndjson")...)
		if n := strings.Count(nd.Stdout, "\n"); n != 1 {
			t.Errorf("%v: %d ndjson lines", target, n)
		}
	}
}

// What used to say "account not found" or "not a domain name" now works
// or says exactly what to type.
func TestAuditTLSEndpointUsage(t *testing.T) {
	for _, c := range []struct {
		args       []string
		want, hint string
	}{
		{[]string{"127.0.0.1:15222"}, "say what the endpoint serves", "cusax audit-tls 127.0.0.1:15222 --starttls xmpp"},
		{[]string{"127.0.0.1:5222"}, "names no service", "--starttls xmpp --sni DOMAIN"},
		{[]string{"--domain", "127.0.0.1:15222"}, "not a domain name but an endpoint", "cusax audit-tls 127.0.0.1:15222 --starttls xmpp --sni DOMAIN"},
		{[]string{"--sni", "example.com"}, "describe HOST:PORT targets", "cusax audit-tls HOST:PORT"},
		{[]string{"example.org"}, "example.org", "cusax audit-tls --domain example.org"},
	} {
		e := cmdtest.New(t, cmdtest.Standard(), nil, nil)
		r := e.Run(newCmd, append(c.args, "--no-state")...)
		if r.Code != audit.ExitUnknown || r.Stdout != "" || !strings.Contains(r.Err.Error(), c.want) {
			t.Errorf("%v: exit %d, error %v, want 3 and %q", c.args, r.Code, r.Err, c.want)
			continue
		}
		if h := strings.Join(cmdutil.Hints(r.Err), "\n"); !strings.Contains(h, c.hint) {
			t.Errorf("%v: hints %q lack %q", c.args, h, c.hint)
		}
	}
}
