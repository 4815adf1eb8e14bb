package discover_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/discover"
	"github.com/cusax/cusax/pkg/protocol"
)

func eps(d discover.Discovery) []string {
	var out []string
	for _, e := range d.Endpoints {
		out = append(out, fmt.Sprintf("%s %s %s", e.Transport, e.Addr(), e.Method))
	}
	return out
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func srv(name, target string, port, prio, weight int) testbed.SRVRecord {
	return testbed.SRVRecord{Name: name, Target: target, Port: port, Priority: prio, Weight: weight}
}

func naptr(order, pref int, service, repl string) testbed.NAPTRRecord {
	return testbed.NAPTRRecord{Name: "example.test", Order: order, Preference: pref, Flags: "s", Service: service, Repl: repl}
}

func lookup(t *testing.T, zone testbed.DNSZone, domain string) (discover.Service, *testbed.DNS) {
	t.Helper()
	d := testbed.StartDNS(t, zone)
	r := &discover.Resolver{Server: d.Addr, Timeout: 2 * time.Second}
	s, err := r.Domain(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return s, d
}

func TestChatSRV(t *testing.T) {
	s, _ := lookup(t, testbed.DNSZone{SRV: []testbed.SRVRecord{
		srv("_xmpp-client._tcp.example.test", "backup.example.test", 5222, 20, 0),
		srv("_xmpp-client._tcp.example.test", "light.example.test", 5222, 10, 10),
		srv("_xmpp-client._tcp.example.test", "heavy.example.test", 5322, 10, 90),
		srv("_xmpps-client._tcp.example.test", "xmpp.example.test", 5223, 5, 0),
		srv("_xmpps-client._tcp.example.test", "xmpp2.example.test", 443, 5, 0),
	}}, "Example.Test.")
	c := s.Chat
	if s.Domain != "example.test" || c.Domain != "example.test" {
		t.Errorf("domain %q / %q", s.Domain, c.Domain)
	}
	same(t, "endpoints", eps(c), []string{
		"xmpp-starttls heavy.example.test:5322 srv",
		"xmpp-starttls light.example.test:5222 srv",
		"xmpp-starttls backup.example.test:5222 srv",
		"xmpp-tls xmpp.example.test:5223 srv",
		"xmpp-tls xmpp2.example.test:443 srv",
	})
	if c.Method != discover.MethodSRV || c.TLSPublished != discover.Yes || c.Err != nil || c.Unavailable || c.Omitted != 0 {
		t.Errorf("discovery %+v", c)
	}
	if !slices.Contains(c.Records, "_xmpp-client._tcp.example.test. SRV 10 90 5322 heavy.example.test.") || len(c.Records) != 5 {
		t.Errorf("records %q", c.Records)
	}
	e := c.Endpoints[0]
	if e.ID() != "xmpp-starttls:heavy.example.test:5322" || e.Priority != 10 || e.Weight != 90 || e.Record != "_xmpp-client._tcp.example.test. SRV 10 90 5322 heavy.example.test." || e.Transport.DirectTLS() {
		t.Errorf("endpoint %+v", e)
	}
	if !c.Endpoints[3].Transport.DirectTLS() {
		t.Errorf("xmpps endpoint not direct TLS")
	}
}

func TestTelephonyNAPTR(t *testing.T) {
	s, d := lookup(t, testbed.DNSZone{
		NAPTR: []testbed.NAPTRRecord{
			naptr(20, 10, "SIP+D2U", "_sip._udp.example.test"),
			naptr(10, 50, "SIPS+D2T", "_sips._tcp.example.test"),
			naptr(10, 10, "SIP+D2S", "_sip._sctp.example.test"),
			naptr(30, 10, "SIP+D2T", "_sip._tcp.example.test"),
		},
		SRV: []testbed.SRVRecord{
			srv("_sips._tcp.example.test", "sip1.example.test", 5061, 10, 0),
			srv("_sips._tcp.example.test", "sip2.example.test", 5061, 20, 0),
			srv("_sip._udp.example.test", "sip1.example.test", 5060, 10, 0),
			// not pointed to by any usable NAPTR record: not used
			srv("_sip._sctp.example.test", "sctp.example.test", 5060, 10, 0),
		},
	}, "example.test")
	tel := s.Telephony
	same(t, "endpoints", eps(tel), []string{
		"sip-tls sip1.example.test:5061 naptr",
		"sip-tls sip2.example.test:5061 naptr",
		"sip-udp sip1.example.test:5060 naptr",
	})
	if tel.Method != discover.MethodNAPTR || tel.TLSPublished != discover.Yes || tel.Err != nil {
		t.Errorf("discovery %+v", tel)
	}
	records := slices.Sorted(slices.Values(tel.Records))
	same(t, "records", records, []string{
		`_sip._udp.example.test. SRV 10 0 5060 sip1.example.test.`,
		`_sips._tcp.example.test. SRV 10 0 5061 sip1.example.test.`,
		`_sips._tcp.example.test. SRV 20 0 5061 sip2.example.test.`,
		`example.test. NAPTR 10 10 "s" "SIP+D2S" "" _sip._sctp.example.test.`,
		`example.test. NAPTR 10 50 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
		`example.test. NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.example.test.`,
		`example.test. NAPTR 30 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
	})
	if len(tel.Notes) != 1 || !strings.Contains(tel.Notes[0], "SIP+D2S") {
		t.Errorf("notes %q", tel.Notes)
	}
	// RFC 3263 §4.1: NAPTR present, so the well-known SRV names are not asked;
	// _sip._tcp is empty (NXDOMAIN) and simply yields nothing.
	q := d.Queries()
	for _, n := range []string{"NAPTR example.test", "SRV _sips._tcp.example.test", "SRV _sip._udp.example.test", "SRV _sip._tcp.example.test"} {
		if !slices.Contains(q, n) {
			t.Errorf("query %q not asked: %q", n, q)
		}
	}
	if slices.Contains(q, "SRV _sip._sctp.example.test") {
		t.Errorf("unsupported NAPTR service followed: %q", q)
	}
}

func TestTelephonyNAPTRWithoutSIPS(t *testing.T) {
	s, _ := lookup(t, testbed.DNSZone{
		NAPTR: []testbed.NAPTRRecord{naptr(10, 10, "SIP+D2T", "sip-tcp.example.test")},
		SRV: []testbed.SRVRecord{
			srv("sip-tcp.example.test", "sip1.example.test", 5070, 0, 0),
			srv("_sips._tcp.example.test", "tls.example.test", 5061, 0, 0),
			srv("_sip._udp.example.test", "udp.example.test", 5060, 0, 0), // not asked: NAPTR wins
		},
	}, "example.test")
	tel := s.Telephony
	same(t, "endpoints", eps(tel), []string{
		"sip-tcp sip1.example.test:5070 naptr",
		"sip-tls tls.example.test:5061 srv",
	})
	if tel.Method != discover.MethodNAPTR || tel.TLSPublished != discover.Yes {
		t.Errorf("discovery %+v", tel)
	}
}

func TestTelephonySRVWithoutNAPTR(t *testing.T) {
	s, d := lookup(t, testbed.DNSZone{SRV: []testbed.SRVRecord{
		srv("_sip._udp.example.test", "udp.example.test", 5060, 0, 0),
		srv("_sip._tcp.example.test", "tcp.example.test", 5060, 0, 0),
	}}, "example.test")
	tel := s.Telephony
	same(t, "endpoints", eps(tel), []string{"sip-tcp tcp.example.test:5060 srv", "sip-udp udp.example.test:5060 srv"})
	if tel.Method != discover.MethodSRV || tel.TLSPublished != discover.No || tel.Err != nil {
		t.Errorf("discovery %+v", tel)
	}
	q := d.Queries()
	for _, n := range []string{"NAPTR example.test", "SRV _sips._tcp.example.test", "SRV _sip._tcp.example.test", "SRV _sip._udp.example.test"} {
		if !slices.Contains(q, n) {
			t.Errorf("query %q not asked: %q", n, q)
		}
	}
}

func TestFallback(t *testing.T) {
	// Records of other types only: NODATA for SRV and NAPTR, NXDOMAIN for
	// the _service names.
	s, _ := lookup(t, testbed.DNSZone{Hosts: []testbed.HostRecord{{Name: "example.test", Addrs: []string{"127.0.0.1"}}}}, "example.test")
	same(t, "chat", eps(s.Chat), []string{"xmpp-starttls example.test:5222 fallback"})
	same(t, "telephony", eps(s.Telephony), []string{
		"sip-tls example.test:5061 fallback", "sip-tcp example.test:5060 fallback", "sip-udp example.test:5060 fallback",
	})
	for _, d := range []discover.Discovery{s.Chat, s.Telephony} {
		if d.Method != discover.MethodFallback || d.TLSPublished != discover.No || d.Err != nil || len(d.Records) != 0 || d.Unavailable {
			t.Errorf("discovery %+v", d)
		}
	}
}

func TestNotOffered(t *testing.T) {
	s, _ := lookup(t, testbed.DNSZone{SRV: []testbed.SRVRecord{
		srv("_xmpp-client._tcp.example.test", ".", 0, 0, 0),
		srv("_sip._udp.example.test", ".", 0, 0, 0),
	}}, "example.test")
	c := s.Chat
	if len(c.Endpoints) != 0 || !c.Unavailable || c.Method != discover.MethodSRV || c.TLSPublished != discover.No ||
		strings.Join(c.NotOffered, " ") != "_xmpp-client._tcp.example.test." {
		t.Errorf("chat %+v", c)
	}
	same(t, "chat records", c.Records, []string{"_xmpp-client._tcp.example.test. SRV 0 0 1 ."})
	// UDP is declared not offered; TLS and TCP fall back to the domain.
	tel := s.Telephony
	same(t, "telephony", eps(tel), []string{"sip-tls example.test:5061 fallback", "sip-tcp example.test:5060 fallback"})
	if tel.Unavailable || tel.Method != discover.MethodFallback || strings.Join(tel.NotOffered, " ") != "_sip._udp.example.test." {
		t.Errorf("telephony %+v", tel)
	}
}

func TestNotOfferedTelephony(t *testing.T) {
	s, _ := lookup(t, testbed.DNSZone{SRV: []testbed.SRVRecord{
		srv("_sips._tcp.example.test", ".", 0, 0, 0),
		srv("_sip._tcp.example.test", ".", 0, 0, 0),
		srv("_sip._udp.example.test", ".", 0, 0, 0),
	}}, "example.test")
	if tel := s.Telephony; !tel.Unavailable || len(tel.Endpoints) != 0 || len(tel.NotOffered) != 3 || tel.TLSPublished != discover.No {
		t.Errorf("telephony %+v", tel)
	}
}

func TestLookupFailures(t *testing.T) {
	// dnsmasq answers REFUSED outside its local domains, and forwards
	// slow.test to a port where nothing answers.
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	d := testbed.StartDNS(t, testbed.DNSZone{Extra: []string{"--server=/slow.test/" + strings.Replace(dead.LocalAddr().String(), ":", "#", 1)}})
	r := &discover.Resolver{Server: d.Addr, Timeout: 300 * time.Millisecond}

	t.Run("refused", func(t *testing.T) {
		s, err := r.Domain(context.Background(), "elsewhere.invalid")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []discover.Discovery{s.Chat, s.Telephony} {
			if !errors.Is(d.Err, protocol.ErrUnreachable) || !strings.Contains(d.Err.Error(), "REFUSED") || d.TLSPublished != discover.Unknown || d.Method != discover.MethodFallback || d.Unavailable {
				t.Errorf("discovery %+v", d)
			}
		}
		same(t, "chat fallback", eps(s.Chat), []string{"xmpp-starttls elsewhere.invalid:5222 fallback"})
	})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		s, err := r.Domain(context.Background(), "slow.test")
		if err != nil {
			t.Fatal(err)
		}
		// Chat: two queries at once; telephony: NAPTR, then three SRV at once.
		if took := time.Since(start); took > 2*300*time.Millisecond+time.Second {
			t.Errorf("took %s", took)
		}
		for _, d := range []discover.Discovery{s.Chat, s.Telephony} {
			if !errors.Is(d.Err, protocol.ErrUnreachable) || !strings.Contains(d.Err.Error(), "timeout") || d.TLSPublished != discover.Unknown {
				t.Errorf("discovery %+v (err %v)", d, d.Err)
			}
		}
	})
	t.Run("no server", func(t *testing.T) {
		r := &discover.Resolver{Server: dead.LocalAddr().String(), Timeout: 200 * time.Millisecond}
		start := time.Now()
		c, err := r.LookupChat(context.Background(), "example.test")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("took %s", took)
		}
		if !errors.Is(c.Err, protocol.ErrUnreachable) || len(c.Endpoints) != 1 {
			t.Errorf("chat %+v", c)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := r.LookupTelephony(ctx, "example.test"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestHugeAnswer(t *testing.T) {
	var recs []testbed.SRVRecord
	for i := range 200 {
		recs = append(recs, srv("_xmpp-client._tcp.example.test", fmt.Sprintf("host%03d.example.test", i), 5222, i%3, 0))
	}
	recs = append(recs, srv("_xmpps-client._tcp.example.test", "tls1.example.test", 5223, 0, 0), srv("_xmpps-client._tcp.example.test", "tls2.example.test", 5223, 0, 0))
	s, d := lookup(t, testbed.DNSZone{SRV: recs}, "example.test")
	// The answer does not fit in UDP: Query retried over TCP.
	m := new(dns.Msg)
	m.SetQuestion("_xmpp-client._tcp.example.test.", dns.TypeSRV)
	if in, _, err := (&dns.Client{}).Exchange(m, d.Addr); err != nil || !in.Truncated {
		t.Errorf("UDP answer not truncated (%v)", err)
	}
	c := s.Chat
	if len(c.Endpoints) != discover.MaxEndpoints || c.Omitted != 202-discover.MaxEndpoints {
		t.Fatalf("%d endpoints, %d omitted", len(c.Endpoints), c.Omitted)
	}
	// The cap is shared: both direct TLS endpoints survive.
	got := eps(c)
	if !slices.Contains(got, "xmpp-tls tls1.example.test:5223 srv") || !slices.Contains(got, "xmpp-tls tls2.example.test:5223 srv") || got[0] != "xmpp-starttls host000.example.test:5222 srv" {
		t.Errorf("endpoints %q", got)
	}
	if len(c.Records) != 65 || c.Records[64] != "; 138 more records not shown" {
		t.Errorf("%d records, last %q", len(c.Records), c.Records[len(c.Records)-1])
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "202 endpoints published") {
		t.Errorf("notes %q", c.Notes)
	}
}

func TestBadInput(t *testing.T) {
	r := &discover.Resolver{Server: "127.0.0.1:1"}
	for _, d := range []string{"", "192.0.2.1", "[2001:db8::1]", "a b.test", "bad..test", strings.Repeat("a", 64) + ".test"} {
		if _, err := r.Domain(context.Background(), d); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", d, err)
		}
	}
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("search example.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&discover.Resolver{ResolvConf: conf}).LookupChat(context.Background(), "example.test"); !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("no nameserver: err = %v, want ErrUnreachable", err)
	}
}
