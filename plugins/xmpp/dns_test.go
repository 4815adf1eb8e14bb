package xmpp

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/pkg/protocol"
)

// fakeDNS serves SRV records for example.test and an A record for the
// target xmpp.example.test (127.0.0.1), and returns a resolver using it.
// srv maps "_xmpps-client" / "_xmpp-client" to a 127.0.0.1:port address.
func fakeDNS(t *testing.T, srv map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		switch {
		case q.Qtype == dns.TypeSRV && strings.HasSuffix(name, "._tcp.example.test."):
			service := strings.TrimSuffix(name, "._tcp.example.test.")
			addr, ok := srv[service]
			if !ok {
				m.Rcode = dns.RcodeNameError
				break
			}
			_, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			m.Answer = append(m.Answer, &dns.SRV{
				Hdr:    dns.RR_Header{Name: q.Name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 60},
				Target: "xmpp.example.test.", Port: uint16(p),
			})
		case name == "xmpp.example.test." && q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A:   net.IPv4(127, 0, 0, 1),
			})
		case name == "xmpp.example.test.":
			// No AAAA: an empty NOERROR answer.
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	server := &dns.Server{PacketConn: pc, Handler: handler}
	go func() { _ = server.ActivateAndServe() }()
	t.Cleanup(func() { _ = server.Shutdown() })
	addr := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

// Server empty: SRV discovery through mellium.im/xmpp/dial, against Prosody.
func TestLoginDNS(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name          string
		srv           map[string]string
		wantTransport string
		wantServer    string
	}{
		// XEP-0368 §3: _xmpps-client is tried first.
		{"both services", map[string]string{"_xmpps-client": f.bed.XMPPDirectTLSAddr, "_xmpp-client": f.bed.XMPPAddr},
			"direct-tls", f.bed.XMPPDirectTLSAddr},
		{"starttls only", map[string]string{"_xmpp-client": f.bed.XMPPAddr}, "tcp+starttls", f.bed.XMPPAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(testLogger(t))
			b.Resolver = fakeDNS(t, tc.srv)
			req := f.req("alice")
			req.Server = ""
			s, err := b.Connect(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			r := s.Report()
			if r.Transport != tc.wantTransport || r.Server != tc.wantServer || r.TLS == nil || !r.TLS.Verified {
				t.Errorf("Transport %q, Server %q, TLS %+v; want %q via %s, verified", r.Transport, r.Server, r.TLS, tc.wantTransport, tc.wantServer)
			}
			if tc.wantTransport == "direct-tls" && r.TLS.ALPN != "" && r.TLS.ALPN != "xmpp-client" {
				t.Errorf("ALPN = %q", r.TLS.ALPN)
			}
		})
	}
}

func TestLoginDNSNoRecords(t *testing.T) {
	b := New(testLogger(t))
	b.Resolver = fakeDNS(t, nil)
	start := time.Now()
	_, err := b.Connect(context.Background(), protocol.ConnectRequest{
		Address: "alice@example.test", Password: "x", Timeout: 3 * time.Second,
	})
	t.Logf("%v after %v", err, time.Since(start))
	if !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
}
