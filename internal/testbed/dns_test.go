package testbed

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestDNS(t *testing.T) {
	d := StartDNS(t, DNSZone{
		SRV:   []SRVRecord{{Name: "_xmpp-client._tcp.example.test", Target: "xmpp.example.test", Port: 5222, Priority: 5, Weight: 10}, {Name: "_xmpps-client._tcp.example.test"}},
		NAPTR: []NAPTRRecord{{Name: "example.test", Order: 10, Preference: 50, Flags: "s", Service: "SIPS+D2T", Repl: "_sips._tcp.example.test"}},
		Hosts: []HostRecord{{Name: "xmpp.example.test", Addrs: []string{"127.0.0.1", "::1"}}},
	})
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		in, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, d.Addr)
		if err != nil {
			t.Fatalf("%s %s: %v", dns.TypeToString[qtype], name, err)
		}
		return in
	}
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string
	}{
		{"_xmpp-client._tcp.example.test.", dns.TypeSRV, dns.RcodeSuccess, []string{"5 10 5222 xmpp.example.test."}},
		{"_xmpps-client._tcp.example.test.", dns.TypeSRV, dns.RcodeSuccess, []string{"0 0 1 ."}},
		{"example.test.", dns.TypeNAPTR, dns.RcodeSuccess, []string{`10 50 "s" "SIPS+D2T" "" _sips._tcp.example.test.`}},
		{"xmpp.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.1"}},
		{"xmpp.example.test.", dns.TypeAAAA, dns.RcodeSuccess, []string{"::1"}},
		{"example.test.", dns.TypeSRV, dns.RcodeSuccess, nil},
		{"missing.example.test.", dns.TypeSRV, dns.RcodeNameError, nil},
		{"elsewhere.invalid.", dns.TypeSRV, dns.RcodeRefused, nil},
	}
	for _, tt := range tests {
		in := ask(tt.name, tt.qtype)
		var got []string
		for _, rr := range in.Answer {
			got = append(got, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		if in.Rcode != tt.rcode || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s %s: %s %q, want %s %q", dns.TypeToString[tt.qtype], tt.name, dns.RcodeToString[in.Rcode], got, dns.RcodeToString[tt.rcode], tt.want)
		}
	}
	if q := d.Queries(); len(q) < len(tests) || q[len(q)-len(tests)] != "SRV _xmpp-client._tcp.example.test" {
		t.Errorf("queries %q", q)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestDNSZoneRefusesCommas(t *testing.T) {
	if _, err := (DNSZone{SRV: []SRVRecord{{Name: "_sip._tcp.a,b.test", Target: "x.test", Port: 1}}}).args(); err == nil {
		t.Error("a comma in a name was accepted")
	}
}
