package sip

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/pkg/protocol"
)

// fakeDNS is an authoritative-looking DNS server on 127.0.0.1:0 that
// answers from a list of zone-file lines; names absent get NXDOMAIN.
type fakeDNS struct {
	addr string
	mu   sync.Mutex
	rrs  []dns.RR
	seen []string // "TYPE name" of every question, in order
	// servfail makes every answer SERVFAIL.
	servfail bool
}

func startDNS(t *testing.T, zone ...string) *fakeDNS {
	t.Helper()
	f := &fakeDNS{}
	for _, line := range zone {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("zone line %q: %v", line, err)
		}
		f.rrs = append(f.rrs, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: f, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return f
}

func (f *fakeDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	f.mu.Lock()
	f.seen = append(f.seen, dns.TypeToString[q.Qtype]+" "+strings.TrimSuffix(q.Name, "."))
	servfail := f.servfail
	exists := false
	for _, rr := range f.rrs {
		h := rr.Header()
		if !strings.EqualFold(h.Name, q.Name) {
			continue
		}
		exists = true
		if h.Rrtype == q.Qtype {
			m.Answer = append(m.Answer, rr)
		}
	}
	f.mu.Unlock()
	switch {
	case servfail:
		m.Rcode = dns.RcodeServerFailure
	case !exists:
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func (f *fakeDNS) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func targetStrings(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Transport + " " + t.Addr.String() + " " + t.Via
	}
	return out
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name      string
		zone      []string
		host      string
		port      int
		transport string
		secure    bool
		want      []string
		err       error
	}{
		{
			name: "NAPTR prefers TLS by order",
			zone: []string{
				`example.test. 60 IN NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.example.test.`,
				`example.test. 60 IN NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
				`example.test. 60 IN NAPTR 15 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
				`_sips._tcp.example.test. 60 IN SRV 10 0 5061 sip1.example.test.`,
				`_sip._udp.example.test. 60 IN SRV 10 0 5060 sip1.example.test.`,
				`sip1.example.test. 60 IN A 192.0.2.1`,
			},
			host: "example.test",
			want: []string{"tls 192.0.2.1:5061 naptr"},
		},
		{
			name: "NAPTR preference breaks order ties; SRV without records falls through",
			zone: []string{
				`example.test. 60 IN NAPTR 10 20 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
				`example.test. 60 IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
				`example.test. 60 IN NAPTR 10 30 "s" "SIP+D2U" "" _sip._udp.example.test.`,
				`_sip._tcp.example.test. 60 IN TXT "no srv here"`,
				`_sips._tcp.example.test. 60 IN SRV 10 0 5061 sip1.example.test.`,
				`sip1.example.test. 60 IN A 192.0.2.1`,
			},
			host: "example.test",
			want: []string{"tls 192.0.2.1:5061 naptr"},
		},
		{
			name: "NAPTR for unsupported services is ignored",
			zone: []string{
				`example.test. 60 IN NAPTR 10 10 "s" "SIP+D2S" "" _sip._sctp.example.test.`,
				`example.test. 60 IN NAPTR 20 10 "s" "SIPS+D2W" "" _sips._ws.example.test.`,
				`_sip._tcp.example.test. 60 IN SRV 10 0 5070 sip1.example.test.`,
				`sip1.example.test. 60 IN A 192.0.2.1`,
			},
			host: "example.test",
			want: []string{"tcp 192.0.2.1:5070 srv"},
		},
		{
			name: "sips only follows SIPS+D2T",
			zone: []string{
				`example.test. 60 IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.example.test.`,
				`example.test. 60 IN NAPTR 20 10 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
				`_sip._udp.example.test. 60 IN SRV 10 0 5060 sip1.example.test.`,
				`_sips._tcp.example.test. 60 IN SRV 10 0 5061 sip1.example.test.`,
				`sip1.example.test. 60 IN A 192.0.2.1`,
			},
			host: "example.test", secure: true,
			want: []string{"tls 192.0.2.1:5061 naptr"},
		},
		{
			name: "no NAPTR: SRV in client order, priority then failover list",
			zone: []string{
				`_sip._udp.example.test. 60 IN SRV 10 0 5060 udp.example.test.`,
				`_sip._tcp.example.test. 60 IN SRV 20 0 5062 b.example.test.`,
				`_sip._tcp.example.test. 60 IN SRV 10 0 5061 a.example.test.`,
				`a.example.test. 60 IN A 192.0.2.1`,
				`a.example.test. 60 IN AAAA 2001:db8::1`,
				`b.example.test. 60 IN A 192.0.2.2`,
				`udp.example.test. 60 IN A 192.0.2.9`,
			},
			host: "example.test",
			want: []string{"tcp 192.0.2.1:5061 srv", "tcp [2001:db8::1]:5061 srv", "tcp 192.0.2.2:5062 srv"},
		},
		{
			name: "no NAPTR: _sips._tcp first",
			zone: []string{
				`_sips._tcp.example.test. 60 IN SRV 0 0 5061 tls.example.test.`,
				`_sip._udp.example.test. 60 IN SRV 0 0 5060 udp.example.test.`,
				`tls.example.test. 60 IN A 192.0.2.3`,
				`udp.example.test. 60 IN A 192.0.2.9`,
			},
			host: "example.test",
			want: []string{"tls 192.0.2.3:5061 srv"},
		},
		{
			name: "SRV target without address is skipped",
			zone: []string{
				`_sip._udp.example.test. 60 IN SRV 10 0 5060 gone.example.test.`,
				`_sip._udp.example.test. 60 IN SRV 20 0 5060 there.example.test.`,
				`there.example.test. 60 IN A 192.0.2.4`,
			},
			host: "example.test",
			want: []string{"udp 192.0.2.4:5060 srv"},
		},
		{
			name: "SRV dot target means no service, then A",
			zone: []string{
				`_sips._tcp.example.test. 60 IN SRV 0 0 0 .`,
				`example.test. 60 IN A 192.0.2.5`,
			},
			host: "example.test",
			want: []string{"udp 192.0.2.5:5060 a"},
		},
		{
			name: "no NAPTR, no SRV: A/AAAA, UDP 5060 for sip",
			zone: []string{`example.test. 60 IN A 192.0.2.6`, `example.test. 60 IN AAAA 2001:db8::6`},
			host: "example.test",
			want: []string{"udp 192.0.2.6:5060 a", "udp [2001:db8::6]:5060 a"},
		},
		{
			name:   "no NAPTR, no SRV: TLS 5061 for sips",
			zone:   []string{`example.test. 60 IN A 192.0.2.6`},
			host:   "example.test",
			secure: true,
			want:   []string{"tls 192.0.2.6:5061 a"},
		},
		{
			name: "explicit port skips NAPTR and SRV",
			zone: []string{
				`_sip._udp.proxy.example.test. 60 IN SRV 0 0 9999 other.example.test.`,
				`proxy.example.test. 60 IN A 192.0.2.7`,
			},
			host: "proxy.example.test", port: 5080, transport: "tcp",
			want: []string{"tcp 192.0.2.7:5080 a"},
		},
		{
			name: "explicit transport: its SRV only",
			zone: []string{
				`_sips._tcp.proxy.example.test. 60 IN SRV 0 0 5061 a.example.test.`,
				`_sip._tcp.proxy.example.test. 60 IN SRV 0 0 5090 a.example.test.`,
				`a.example.test. 60 IN A 192.0.2.8`,
			},
			host: "proxy.example.test", transport: "tcp",
			want: []string{"tcp 192.0.2.8:5090 srv"},
		},
		{
			name: "explicit TLS without SRV: A with 5061",
			zone: []string{`proxy.example.test. 60 IN A 192.0.2.8`},
			host: "proxy.example.test", transport: "tls",
			want: []string{"tls 192.0.2.8:5061 a"},
		},
		{
			name: "IP literal: no DNS",
			host: "198.51.100.1",
			want: []string{"udp 198.51.100.1:5060 ip"},
		},
		{
			name: "IPv6 literal with sips",
			host: "[2001:db8::2]", port: 5071, secure: true,
			want: []string{"tls [2001:db8::2]:5071 ip"},
		},
		{
			name: "nothing at all",
			host: "nowhere.example.test",
			err:  protocol.ErrUnreachable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startDNS(t, tt.zone...)
			r := &Resolver{Server: f.addr, Timeout: time.Second}
			got, err := r.Resolve(context.Background(), tt.host, tt.port, tt.transport, tt.secure)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v (got %v)", err, tt.err, targetStrings(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v\nqueries: %v", err, f.queries())
			}
			if g := targetStrings(got); strings.Join(g, "|") != strings.Join(tt.want, "|") {
				t.Errorf("targets\n got %q\nwant %q\nqueries: %v", g, tt.want, f.queries())
			}
		})
	}
}

func TestResolveQueryOrder(t *testing.T) {
	f := startDNS(t, `example.test. 60 IN A 192.0.2.6`)
	r := &Resolver{Server: f.addr}
	if _, err := r.Resolve(context.Background(), "example.test", 0, "", false); err != nil {
		t.Fatal(err)
	}
	want := []string{"NAPTR example.test", "SRV _sips._tcp.example.test", "SRV _sip._tcp.example.test",
		"SRV _sip._udp.example.test", "A example.test", "AAAA example.test"}
	if got := f.queries(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("queries\n got %q\nwant %q", got, want)
	}
}

func TestResolveSRVWeights(t *testing.T) {
	f := startDNS(t,
		`_sip._udp.example.test. 60 IN SRV 10 0 5060 zero.example.test.`,
		`_sip._udp.example.test. 60 IN SRV 10 60 5060 heavy.example.test.`,
		`_sip._udp.example.test. 60 IN SRV 10 40 5060 light.example.test.`,
		`_sip._udp.example.test. 60 IN SRV 5 0 5060 first.example.test.`,
		`zero.example.test. 60 IN A 192.0.2.10`,
		`heavy.example.test. 60 IN A 192.0.2.60`,
		`light.example.test. 60 IN A 192.0.2.40`,
		`first.example.test. 60 IN A 192.0.2.5`,
	)
	tests := []struct {
		name string
		pick []int // successive random draws
		want []string
	}{
		// Running sums in RFC 2782 order (zero weight first): zero 0, heavy 60, light 100.
		{"draw 0 picks the zero-weight record", []int{0, 100}, []string{"192.0.2.5", "192.0.2.10", "192.0.2.40", "192.0.2.60"}},
		{"draw 30 picks heavy", []int{30, 10}, []string{"192.0.2.5", "192.0.2.60", "192.0.2.40", "192.0.2.10"}},
		{"draw 80 picks light", []int{80, 0}, []string{"192.0.2.5", "192.0.2.40", "192.0.2.10", "192.0.2.60"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			draws := append([]int(nil), tt.pick...)
			r := &Resolver{Server: f.addr, intn: func(n int) int {
				if len(draws) == 0 {
					return 0
				}
				d := draws[0]
				draws = draws[1:]
				return d % n
			}}
			ts, err := r.Resolve(context.Background(), "example.test", 0, "udp", false)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, t := range ts {
				got = append(got, t.Addr.Addr().String())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("order %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResolveServerFailure(t *testing.T) {
	f := startDNS(t, `example.test. 60 IN A 192.0.2.6`)
	f.mu.Lock()
	f.servfail = true
	f.mu.Unlock()
	r := &Resolver{Server: f.addr, Timeout: time.Second}
	if _, err := r.Resolve(context.Background(), "example.test", 0, "", false); !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
}

func TestResolveNoServerAnswers(t *testing.T) {
	// A bound socket that never answers.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r := &Resolver{Server: pc.LocalAddr().String(), Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err = r.Resolve(context.Background(), "example.test", 0, "", false)
	if !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestResolverServersFromResolvConf(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("search example.test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	servers, err := (&Resolver{ResolvConf: conf}).servers()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(servers, " ") != "192.0.2.53:53 [2001:db8::53]:53" {
		t.Errorf("servers = %v", servers)
	}
	if _, err := (&Resolver{ResolvConf: filepath.Join(t.TempDir(), "missing")}).servers(); !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("missing file: %v", err)
	}
}

func TestConnectUsesDNSServerOption(t *testing.T) {
	f := startDNS(t,
		`_sip._tcp.example.test. 60 IN SRV 0 0 5099 sip.example.test.`,
		`sip.example.test. 60 IN A 127.0.0.1`,
	)
	s, err := New(nil).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@example.test",
		Options: map[string]string{OptionDNSServer: f.addr},
		Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	got := targetStrings(s.(*session).targets)
	if strings.Join(got, "|") != "tcp 127.0.0.1:5099 srv" {
		t.Errorf("targets %v", got)
	}
	_, err = New(nil).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@nowhere.test",
		Options: map[string]string{OptionDNSServer: f.addr},
		Timeout: 2 * time.Second,
	})
	if !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("unknown domain: %v, want ErrUnreachable", err)
	}
}
