package discover

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// hostileDNS answers every question for a name with the lines listed for
// it, whatever their owner names and types: what a broken or hostile
// server may send, and what dnsmasq cannot be made to send. A name listed
// with the single line "SERVFAIL" gets that rcode.
func hostileDNS(t *testing.T, answers map[string][]string) string {
	t.Helper()
	zone := map[string][]dns.RR{}
	for name, lines := range answers {
		for _, l := range lines {
			if l == "SERVFAIL" {
				zone[dns.Fqdn(name)] = nil
				continue
			}
			rr, err := dns.NewRR(l)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			zone[dns.Fqdn(name)] = append(zone[dns.Fqdn(name)], rr)
		}
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		rrs, ok := zone[strings.ToLower(r.Question[0].Name)]
		m.Answer = rrs
		if ok && rrs == nil {
			m.Rcode = dns.RcodeServerFailure
		}
		if w.LocalAddr().Network() == "udp" {
			m.Truncate(dns.MinMsgSize) // sets TC: the client retries over TCP
		}
		_ = w.WriteMsg(m)
	})
	// The same port over UDP and TCP: a free UDP port may be taken over
	// TCP by another process, so try a few.
	var pc net.PacketConn
	var l net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if attempt == 9 {
			t.Fatal(err)
		}
	}
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: l, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func TestHostileAnswers(t *testing.T) {
	var naptrs []string
	for i := range 40 {
		naptrs = append(naptrs, fmt.Sprintf(`example.test. 60 IN NAPTR 10 %d "s" "SIP+D2T" "" srv%02d.example.test.`, i, i))
	}
	naptrs = append(naptrs,
		`example.test. 60 IN NAPTR 1 1 "u" "SIPS+D2T" "" evil.example.test.`,       // not terminal "s"
		`example.test. 60 IN NAPTR 1 1 "s" "SIPS+D2T" "!.*!x!" evil.example.test.`, // a regexp
		`other.test. 60 IN NAPTR 1 1 "s" "SIPS+D2T" "" evil.example.test.`,         // another owner
	)
	addr := hostileDNS(t, map[string][]string{
		"_xmpp-client._tcp.example.test": {
			`_xmpp-client._tcp.example.test. 60 IN CNAME alias.example.test.`,
			`alias.example.test. 60 IN CNAME _xmpp-client._tcp.example.test.`, // a loop
			`alias.example.test. 60 IN SRV 0 0 5222 via-cname.example.test.`,
			`elsewhere.test. 60 IN SRV 0 0 5222 injected.example.test.`,
			`_xmpp-client._tcp.example.test. 60 IN SRV 0 0 5222 bad\000name.example.test.`,
			`_xmpp-client._tcp.example.test. 60 IN SRV 0 0 0 port-zero.example.test.`,
			`_xmpp-client._tcp.example.test. 60 IN SRV 0 0 5222 .`,
			`_xmpp-client._tcp.example.test. 60 IN SRV 0 0 5222 ok.example.test.`,
			`_xmpp-client._tcp.example.test. 60 IN SRV 0 0 5222 OK.example.test.`,
			`_xmpp-client._tcp.example.test. 60 IN A 192.0.2.1`,
		},
		"example.test": naptrs,
	})
	r := &Resolver{Server: addr, Timeout: time.Second}
	s, err := r.Domain(context.Background(), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Chat
	var got []string
	for _, e := range c.Endpoints {
		got = append(got, e.ID())
	}
	if strings.Join(got, " ") != "xmpp-starttls:ok.example.test:5222 xmpp-starttls:via-cname.example.test:5222" {
		t.Errorf("chat endpoints %q", got)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"not a host name", "port 0", `"." target(s) among real ones`} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in %q", want, c.Notes)
		}
	}
	if slices.ContainsFunc(c.Records, func(s string) bool { return strings.Contains(s, "injected") }) {
		t.Errorf("record of another name kept: %q", c.Records)
	}
	tel := s.Telephony
	if n := strings.Join(tel.Notes, "\n"); !strings.Contains(n, "more than 8 NAPTR records") {
		t.Errorf("telephony notes %q", tel.Notes)
	}
	// 8 NAPTR replacements without SRV records, plus _sips._tcp: no SRV
	// record at all, so the fallback.
	if tel.Method != MethodFallback || len(tel.Endpoints) != 3 || tel.TLSPublished != No {
		t.Errorf("telephony %+v", tel)
	}
	if len(tel.Records) != 42 {
		t.Errorf("%d telephony records", len(tel.Records))
	}
}

// FuzzParseSRV feeds arbitrary DNS messages to the answer parsing: no
// panic, and every endpoint is a valid host with a real port.
func FuzzParseSRV(f *testing.F) {
	m := new(dns.Msg)
	m.SetQuestion("_xmpp-client._tcp.example.test.", dns.TypeSRV)
	for _, l := range []string{
		`_xmpp-client._tcp.example.test. 60 IN SRV 5 0 5222 xmpp.example.test.`,
		`_xmpp-client._tcp.example.test. 60 IN SRV 0 0 1 .`,
		`_xmpp-client._tcp.example.test. 60 IN CNAME a.example.test.`,
		`a.example.test. 60 IN SRV 5 0 5222 b\046c.example.test.`,
	} {
		rr, _ := dns.NewRR(l)
		m.Answer = append(m.Answer, rr)
	}
	seed, _ := m.Pack()
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var in dns.Msg
		if in.Unpack(data) != nil {
			return
		}
		for _, tr := range []Transport{XMPPStartTLS, SIPTLS} {
			s := parseSRV(srvQuery{"_xmpp-client._tcp.example.test", tr, MethodSRV}, in.Answer)
			for _, e := range s.eps {
				if !validHost(e.Host) || e.Port <= 0 || e.Port > 65535 || e.Transport != tr {
					t.Errorf("bad endpoint %+v", e)
				}
			}
			d := assemble("example.test", nil, []srvSet{s, s}, []Endpoint{{Transport: tr, Host: "example.test", Port: 1, Method: MethodFallback}})
			if len(d.Endpoints) > MaxEndpoints || len(d.Records) > maxRecords+1 {
				t.Errorf("%d endpoints, %d records", len(d.Endpoints), len(d.Records))
			}
		}
	})
}

func TestServfail(t *testing.T) {
	addr := hostileDNS(t, map[string][]string{
		"_xmpp-client._tcp.example.test":  {"SERVFAIL"},
		"_xmpps-client._tcp.example.test": {`_xmpps-client._tcp.example.test. 60 IN SRV 0 0 5223 tls.example.test.`},
		"example.test":                    {"SERVFAIL"},
		"_sips._tcp.example.test":         {"SERVFAIL"},
	})
	s, err := (&Resolver{Server: addr, Timeout: time.Second}).Domain(context.Background(), "example.test")
	if err != nil {
		t.Fatal(err)
	}
	// Chat: the STARTTLS lookup failed, the direct TLS one found a target:
	// no fallback, an error, TLS published.
	c := s.Chat
	if c.Err == nil || !strings.Contains(c.Err.Error(), "SERVFAIL") || c.Method != MethodSRV || c.TLSPublished != Yes ||
		len(c.Endpoints) != 1 || c.Endpoints[0].ID() != "xmpp-tls:tls.example.test:5223" {
		t.Errorf("chat %+v", c)
	}
	// Telephony: NAPTR and _sips._tcp failed, _sip._tcp/_sip._udp empty:
	// the fallback, TLS publication unknown.
	tel := s.Telephony
	if tel.Err == nil || tel.Method != MethodFallback || tel.TLSPublished != Unknown || len(tel.Endpoints) != 3 {
		t.Errorf("telephony %+v", tel)
	}
}
