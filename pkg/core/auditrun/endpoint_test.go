package auditrun

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/cusax/cusax/pkg/discover"
	"github.com/miekg/dns"
)

func TestEndpointPlan(t *testing.T) {
	tests := []struct {
		name   string
		e      EndpointTarget
		aspect audit.Aspect
		id     string
		ep     tlsprobe.Endpoint
	}{
		{"xmpp starttls", EndpointTarget{Host: "127.0.0.1", Port: 15222, Service: ServiceXMPPStartTLS, SNI: "example.test", Identity: "example.test"},
			audit.Chat, "xmpp-starttls:127.0.0.1:15222",
			tlsprobe.Endpoint{Addr: "127.0.0.1:15222", Mode: tlsprobe.ModeXMPPStartTLS, XMPPDomain: "example.test", ServerName: "example.test"}},
		{"xmpp direct tls, v6", EndpointTarget{Host: "::1", Port: 5223, Service: ServiceXMPPTLS, Identity: "example.test"},
			audit.Chat, "xmpp-tls:[::1]:5223",
			tlsprobe.Endpoint{Addr: "[::1]:5223", Mode: tlsprobe.ModeTLS, XMPPDomain: "example.test"}},
		{"sip, sni differs from the identity", EndpointTarget{Host: "sip.example.net", Port: 5061, Service: ServiceSIPTLS, SNI: "sni.example", Identity: "example.test"},
			audit.Telephony, "sip-tls:sip.example.net:5061",
			tlsprobe.Endpoint{Addr: "sip.example.net:5061", Mode: tlsprobe.ModeTLS, ServerName: "sni.example", Identity: "example.test", SIPAOR: "sip:cusax-audit@example.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := endpointPlan(tt.e)
			if err != nil {
				t.Fatal(err)
			}
			if p.aspect != tt.aspect || p.id != tt.id || p.ep != tt.ep || p.disc.Method != "endpoint" || p.domain != tt.e.Identity {
				t.Errorf("plan %+v", p)
			}
		})
	}
	for _, bad := range []EndpointTarget{
		{Host: "h", Port: 1, Service: ServiceSIPTLS},                     // no identity
		{Host: "h", Port: 0, Service: ServiceSIPTLS, Identity: "x.test"}, // no port
		{Host: "h", Port: 1, Service: "smtp", Identity: "x.test"},
	} {
		if _, err := endpointPlan(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// nxdomain serves NXDOMAIN for every name, on UDP.
func nxdomain(t *testing.T) string {
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

// Names that do not exist: each target is one Unresolved fact and nothing
// is dialled; an IP endpoint that refuses connections is a probe error,
// not unresolved.
func TestRunUnresolved(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var mu sync.Mutex
	var dialled []string
	r := &Runner{
		DNS: &discover.Resolver{Server: nxdomain(t), Timeout: time.Second},
		Options: Options{Probe: tlsprobe.Options{DialTimeout: time.Second, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, addr)
			mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}},
		Parallel: 1,
	}
	facts, err := r.Run(context.Background(), []Target{
		DomainTarget("nosuch.test"),
		{Name: "nosuch.test:5222", Endpoint: &EndpointTarget{Host: "nosuch.test", Port: 5222, Service: ServiceXMPPStartTLS, Identity: "nosuch.test"}},
		{Name: "closed", Endpoint: &EndpointTarget{Host: "127.0.0.1", Port: closed, Service: ServiceXMPPStartTLS, Identity: "example.test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range facts[:2] {
		u := f.Unresolved
		if u == nil || len(u.Hosts) != 1 || u.Hosts[0] != "nosuch.test" || !strings.Contains(u.Error, "no such host") {
			t.Errorf("%s: unresolved %+v", f.Account, u)
		}
	}
	if u := facts[2].Unresolved; u != nil {
		t.Errorf("an IP address is never unresolved: %+v", u)
	}
	if eps := facts[2].Chat.Endpoints; len(eps) != 1 || eps[0].Error == "" {
		t.Errorf("closed port: %+v", eps)
	}
	for _, a := range dialled {
		if strings.Contains(a, "nosuch") {
			t.Errorf("dialled %s although it does not resolve", a)
		}
	}
}
