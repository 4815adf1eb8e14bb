package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbed.StopShared()
	os.Exit(code)
}

// testLogger sends the backend's log to t.Log (Trace with -v and
// CUSAX_TEST_TRACE=1).
func testLogger(t *testing.T) hclog.Logger {
	level := hclog.Debug
	if os.Getenv("CUSAX_TEST_TRACE") != "" {
		level = hclog.Trace
	}
	w := &testWriter{t: t}
	// sipgo's reader goroutines may still log after the test returns;
	// t.Log then is a data race, so stop forwarding when the test ends.
	t.Cleanup(w.close)
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: level, Output: w})
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Helper()
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bedRequest is a ConnectRequest for user at the bed, through server.
func bedRequest(t *testing.T, bed *testbed.Bed, user, server string) protocol.ConnectRequest {
	return protocol.ConnectRequest{
		Address:  "sip:" + user + "@" + bed.Domain,
		Password: bed.Users[user].Password,
		Server:   server,
		CAPEM:    readFile(t, bed.CAFile),
		Timeout:  5 * time.Second,
	}
}

func bedServer(bed *testbed.Bed, transport string) string {
	switch transport {
	case "udp":
		return "sip:" + bed.SIPUDPAddr + ";transport=udp"
	case "tcp":
		return "sip:" + bed.SIPTCPAddr + ";transport=tcp"
	default:
		return "sip:" + bed.SIPTLSAddr + ";transport=tls"
	}
}

func connect(t *testing.T, req protocol.ConnectRequest) protocol.TelephonySession {
	t.Helper()
	s, err := New(testLogger(t)).Connect(context.Background(), req)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

var timings = struct {
	sync.Mutex
	m map[string][]time.Duration
}{m: map[string][]time.Duration{}}

func TestRegisterTransports(t *testing.T) {
	bed := testbed.Shared(t)
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			user := map[string]string{"udp": "alice", "tcp": "bob", "tls": "carol"}[tr]
			s := connect(t, bedRequest(t, bed, user, bedServer(bed, tr)))
			var elapsed []time.Duration
			for i := range 5 {
				rep, err := s.Register(context.Background(), protocol.RegisterRequest{Expires: 120 * time.Second})
				if err != nil {
					t.Fatalf("Register #%d: %v\n%s", i, err, bed.Logs())
				}
				elapsed = append(elapsed, rep.Elapsed)
				if i > 0 {
					continue
				}
				t.Logf("report: %+v", rep)
				checkReport(t, rep, tr, "SHA-256")
				if rep.Expires != 120*time.Second {
					t.Errorf("Expires = %s, want 120s", rep.Expires)
				}
			}
			if err := s.Unregister(context.Background()); err != nil {
				t.Fatalf("Unregister: %v", err)
			}
			if err := s.Unregister(context.Background()); err != nil {
				t.Errorf("second Unregister: %v", err)
			}
			slices.Sort(elapsed)
			t.Logf("REGISTER over %s: median %s (min %s, max %s)", tr, elapsed[len(elapsed)/2], elapsed[0], elapsed[len(elapsed)-1])
			timings.Lock()
			timings.m[tr] = elapsed
			timings.Unlock()
		})
	}
}

func checkReport(t *testing.T, rep protocol.ConnectionReport, transport, alg string) {
	t.Helper()
	if rep.Aspect != protocol.AspectTelephony || rep.Backend != "sip" || rep.State != "registered" {
		t.Errorf("aspect/backend/state = %s/%s/%s", rep.Aspect, rep.Backend, rep.State)
	}
	if rep.Transport != transport {
		t.Errorf("Transport = %q, want %q", rep.Transport, transport)
	}
	wantContact := "transport=" + transport
	if !strings.HasPrefix(rep.Address, "sip:") || !strings.Contains(rep.Address, wantContact) || !strings.Contains(rep.Address, "@127.0.0.1:") {
		t.Errorf("Address (contact) = %q, want sip:…@127.0.0.1:…;%s", rep.Address, wantContact)
	}
	if host, _, err := net.SplitHostPort(rep.Server); err != nil || host != "127.0.0.1" {
		t.Errorf("Server = %q", rep.Server)
	}
	if rep.AuthMechanism != "digest "+alg {
		t.Errorf("AuthMechanism = %q, want digest %s", rep.AuthMechanism, alg)
	}
	if !slices.Contains(rep.AuthOffered, alg) {
		t.Errorf("AuthOffered = %q, want %s in it", rep.AuthOffered, alg)
	}
	if rep.Expires <= 0 || rep.Elapsed <= 0 {
		t.Errorf("Expires %s, Elapsed %s", rep.Expires, rep.Elapsed)
	}
	if transport != "tls" {
		if rep.Encrypted || rep.TLS != nil || len(rep.Notes) == 0 {
			t.Errorf("plaintext: Encrypted %v, TLS %+v, Notes %q", rep.Encrypted, rep.TLS, rep.Notes)
		}
		return
	}
	if !rep.Encrypted || rep.TLS == nil {
		t.Fatalf("TLS: Encrypted %v, TLS %+v", rep.Encrypted, rep.TLS)
	}
	tl := rep.TLS
	t.Logf("TLS: %s %s, server name %s, verified %v by %q, leaf %s", tl.Version, tl.CipherSuite, tl.ServerName, tl.Verified, tl.ServerAuth, tl.Leaf().Subject)
	if tl.Version != "TLS 1.3" && tl.Version != "TLS 1.2" {
		t.Errorf("TLS version %q", tl.Version)
	}
	if tl.CipherSuite == "" || strings.HasPrefix(tl.CipherSuite, "0x") {
		t.Errorf("cipher %q", tl.CipherSuite)
	}
	if !tl.Verified || tl.ServerName != "example.test" || !strings.Contains(tl.ServerAuth, "example.test") {
		t.Errorf("TLS verified %v, server name %q, auth %q", tl.Verified, tl.ServerName, tl.ServerAuth)
	}
	if len(tl.Chain) == 0 || tl.Leaf().Subject == "" {
		t.Errorf("chain %+v", tl.Chain)
	}
}

// TestRegisterSIPS registers a sips: AOR through a sips: proxy URI given as
// an IP: TLS is chosen from the scheme alone, and the certificate is still
// checked against example.test.
func TestRegisterSIPS(t *testing.T) {
	bed := testbed.Shared(t)
	t.Parallel()
	req := bedRequest(t, bed, "alice", "sips:"+bed.SIPTLSAddr)
	req.Address = "sips:alice@" + bed.Domain
	s := connect(t, req)
	rep, err := s.Register(context.Background(), protocol.RegisterRequest{Expires: 60 * time.Second})
	if err != nil {
		t.Fatalf("Register: %v\n%s", err, bed.Logs())
	}
	if rep.Transport != "tls" || !strings.HasPrefix(rep.Address, "sips:alice@127.0.0.1:") || !rep.TLS.Verified {
		t.Errorf("report %+v / %+v", rep, rep.TLS)
	}
	if rep.TLS.ServerAuth != "pkix sip-uri sip:example.test" {
		t.Errorf("ServerAuth = %q", rep.TLS.ServerAuth)
	}
	// Close unregisters.
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRegisterMD5Bed(t *testing.T) {
	t.Parallel()
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	for _, tr := range []string{"udp", "tls"} {
		s := connect(t, bedRequest(t, bed, "alice", bedServer(bed, tr)))
		rep, err := s.Register(context.Background(), protocol.RegisterRequest{})
		if err != nil {
			t.Fatalf("Register over %s: %v\n%s", tr, err, bed.Logs())
		}
		checkReport(t, rep, tr, "MD5")
		if !slices.Equal(rep.AuthOffered, []string{"MD5"}) {
			t.Errorf("AuthOffered = %q", rep.AuthOffered)
		}
		if rep.Expires != 3600*time.Second {
			t.Errorf("Expires = %s, want the default 3600s", rep.Expires)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestRegisterWrongPassword(t *testing.T) {
	bed := testbed.Shared(t)
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			req := bedRequest(t, bed, "alice", bedServer(bed, tr))
			req.Password = "wrong"
			s := connect(t, req)
			start := time.Now()
			rep, err := s.Register(context.Background(), protocol.RegisterRequest{})
			if !errors.Is(err, protocol.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			if want := "sip register sip:alice@example.test: 401 Unauthorized"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("the password leaked into the error: %v", err)
			}
			if rep.State != "failed" || rep.AuthMechanism != "digest SHA-256" {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestRegisterWrongAuthUser(t *testing.T) {
	bed := testbed.Shared(t)
	t.Parallel()
	req := bedRequest(t, bed, "alice", bedServer(bed, "udp"))
	req.Username = "bob"
	req.Password = bed.Users["bob"].Password
	s := connect(t, req)
	_, err := s.Register(context.Background(), protocol.RegisterRequest{})
	// The bed's Kamailio checks the password against the To user, so bob's
	// password is wrong for alice: 401 again. Either way, ErrAuth.
	if !errors.Is(err, protocol.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
}

func TestRegisterOtherCA(t *testing.T) {
	bed := testbed.Shared(t)
	for _, server := range []string{bedServer(bed, "tls"), "sips:" + bed.SIPTLSAddr} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			req := bedRequest(t, bed, "alice", server)
			req.CAPEM = readFile(t, bed.OtherCAFile)
			s := connect(t, req)
			start := time.Now()
			rep, err := s.Register(context.Background(), protocol.RegisterRequest{})
			if !errors.Is(err, protocol.ErrCertificate) {
				t.Fatalf("err = %v, want ErrCertificate", err)
			}
			if !strings.Contains(err.Error(), "unknown authority") {
				t.Errorf("error %q does not say why", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			if rep.State != "failed" || rep.AuthMechanism != "" || rep.AuthOffered != nil {
				t.Errorf("credentials were involved: %+v", rep)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestRegisterUnreachable(t *testing.T) {
	t.Parallel()
	closedTCP := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	closedUDP := func(t *testing.T) string {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		pc.Close()
		return addr
	}
	silentUDP := func(t *testing.T) string {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		return pc.LocalAddr().String()
	}
	// tlsPeer accepts TCP and then says nothing, or answers like a
	// plaintext SIP server.
	tlsPeer := func(t *testing.T, answer string) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				if answer != "" {
					_, _ = c.Write([]byte(answer))
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		return "sips:" + l.Addr().String()
	}
	tests := []struct {
		name   string
		server func(t *testing.T) string
		want   []error
	}{
		{"tls peer silent", func(t *testing.T) string { return tlsPeer(t, "") }, []error{protocol.ErrTimeout}},
		{"tcp peer hangs up", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_, _ = c.Read(make([]byte, 4096))
				c.Close()
			}()
			return "sip:" + l.Addr().String() + ";transport=tcp"
		}, []error{protocol.ErrUnreachable}},
		{"tls peer speaks plain SIP", func(t *testing.T) string {
			return tlsPeer(t, "SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		}, []error{protocol.ErrInsecure}},
		{"udp nothing listening", func(t *testing.T) string { return "sip:" + closedUDP(t) + ";transport=udp" }, []error{protocol.ErrUnreachable}},
		{"udp silent", func(t *testing.T) string { return "sip:" + silentUDP(t) + ";transport=udp" }, []error{protocol.ErrTimeout}},
		{"tcp nothing listening", func(t *testing.T) string { return "sip:" + closedTCP(t) + ";transport=tcp" }, []error{protocol.ErrUnreachable}},
		{"tls nothing listening", func(t *testing.T) string { return "sips:" + closedTCP(t) }, []error{protocol.ErrUnreachable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const timeout = 1500 * time.Millisecond
			s := connect(t, protocol.ConnectRequest{Address: "sip:alice@example.test", Password: "pw", Server: tt.server(t), Timeout: timeout})
			start := time.Now()
			_, err := s.Register(context.Background(), protocol.RegisterRequest{})
			d := time.Since(start)
			ok := false
			for _, w := range tt.want {
				ok = ok || errors.Is(err, w)
			}
			if !ok {
				t.Fatalf("err = %v, want one of %v", err, tt.want)
			}
			if d > timeout+500*time.Millisecond {
				t.Errorf("took %s, timeout %s", d, timeout)
			}
			t.Logf("%s after %s", err, d.Round(time.Millisecond))
		})
	}
}

// TestRegisterRFC3263 finds the bed through DNS: SRV for _sips._tcp and
// _sip._tcp with a dead first target, served by a miekg/dns server on
// loopback.
func TestRegisterRFC3263(t *testing.T) {
	bed := testbed.Shared(t)
	_, tlsPort, _ := net.SplitHostPort(bed.SIPTLSAddr)
	_, tcpPort, _ := net.SplitHostPort(bed.SIPTCPAddr)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, deadPort, _ := net.SplitHostPort(l.Addr().String())
	l.Close()

	t.Run("naptr to sips", func(t *testing.T) {
		t.Parallel()
		f := startDNS(t,
			`example.test. 60 IN NAPTR 10 10 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
			`example.test. 60 IN NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.example.test.`,
			fmt.Sprintf(`_sips._tcp.example.test. 60 IN SRV 10 0 %s sip1.example.test.`, tlsPort),
			`sip1.example.test. 60 IN A 127.0.0.1`,
		)
		req := bedRequest(t, bed, "bob", "")
		req.Options = map[string]string{OptionDNSServer: f.addr}
		s := connect(t, req)
		rep, err := s.Register(context.Background(), protocol.RegisterRequest{})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		checkReport(t, rep, "tls", "SHA-256")
		if rep.Server != bed.SIPTLSAddr {
			t.Errorf("Server %s, want %s", rep.Server, bed.SIPTLSAddr)
		}
	})
	t.Run("srv failover", func(t *testing.T) {
		t.Parallel()
		f := startDNS(t,
			fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 10 0 %s dead.example.test.`, deadPort),
			fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 20 0 %s sip1.example.test.`, tcpPort),
			`dead.example.test. 60 IN A 127.0.0.1`,
			`sip1.example.test. 60 IN A 127.0.0.1`,
		)
		req := bedRequest(t, bed, "carol", "")
		req.Options = map[string]string{OptionDNSServer: f.addr}
		s := connect(t, req)
		rep, err := s.Register(context.Background(), protocol.RegisterRequest{})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		checkReport(t, rep, "tcp", "SHA-256")
		if rep.Server != bed.SIPTCPAddr {
			t.Errorf("Server %s, want %s (the second SRV target)", rep.Server, bed.SIPTCPAddr)
		}
	})
}
