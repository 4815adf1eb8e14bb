package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestMain(m *testing.M) {
	// sipgo warns about its own connection reference counts on every close.
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	code := m.Run()
	StopShared()
	os.Exit(code)
}

func TestBedDescribesItself(t *testing.T) {
	b := Shared(t)
	addrs := map[string]string{
		"XMPPAddr": b.XMPPAddr, "XMPPDirectTLSAddr": b.XMPPDirectTLSAddr,
		"SIPTCPAddr": b.SIPTCPAddr, "SIPTLSAddr": b.SIPTLSAddr,
	}
	seen := map[string]string{}
	for name, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("%s = %q, want 127.0.0.1:port", name, a)
		}
		if other, dup := seen[a]; dup {
			t.Errorf("%s and %s share %s", name, other, a)
		}
		seen[a] = name
	}
	if !strings.HasPrefix(b.SIPUDPAddr, "127.0.0.1:") {
		t.Errorf("SIPUDPAddr = %q", b.SIPUDPAddr)
	}
	if b.SIPDomain() != "example.test" || b.MUCDomain != "conference.example.test" || b.SIPDigestAlgorithm != "SHA-256" {
		t.Errorf("domains: SIP %q MUC %q alg %q", b.SIPDomain(), b.MUCDomain, b.SIPDigestAlgorithm)
	}
	wantJIDs := map[string]string{
		"alice": "alice@example.test", "bob": "bob@example.test", "carol": "carol@example.test",
		"dave": "dave@biloxi.test", "eve": "eve@notls.test",
	}
	passwords := map[string]bool{}
	for name, jid := range wantJIDs {
		u, ok := b.Users[name]
		if !ok || u.Name != name || len(u.Password) < 16 {
			t.Errorf("user %s = %+v", name, u)
		}
		if passwords[u.Password] {
			t.Errorf("password of %s is reused", name)
		}
		passwords[u.Password] = true
		if got := b.JID(name); got != jid {
			t.Errorf("JID(%s) = %q, want %q", name, got, jid)
		}
	}
	for _, f := range []string{b.CAFile, b.OtherCAFile} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

// features returns the stream features the server offers on a fresh plain-TCP stream.
func features(t *testing.T, addr, domain string) string {
	t.Helper()
	return dialXMPP(t, addr).openStream(domain)
}

func TestXMPPStreamFeatures(t *testing.T) {
	b := Shared(t)
	tests := []struct {
		name, domain string
		want, reject []string
	}{
		// RFC 6120 §5.3.1: a server that requires TLS says so, and offers nothing else first.
		{"required TLS", b.Domain, []string{"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"}, []string{"<mechanism>"}},
		{"second domain", b.Domain2, []string{"<required/>"}, []string{"<mechanism>"}},
		{"no TLS at all", b.NoTLSDomain, []string{"<mechanism>PLAIN</mechanism>"}, []string{"starttls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := features(t, b.XMPPAddr, tt.domain)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("features for %s lack %s: %s", tt.domain, w, got)
				}
			}
			for _, r := range tt.reject {
				if strings.Contains(got, r) {
					t.Errorf("features for %s contain %s: %s", tt.domain, r, got)
				}
			}
		})
	}
}

func TestXMPPLogin(t *testing.T) {
	b := Shared(t)
	tests := []struct {
		name, user, domain, password string
		tls, want                    bool
	}{
		{"alice after STARTTLS", "alice", b.Domain, b.Users["alice"].Password, true, true},
		{"wrong password", "alice", b.Domain, b.Users["bob"].Password, true, false},
		{"dave on the second domain", "dave", b.Domain2, b.Users["dave"].Password, true, true},
		{"eve in the clear", "eve", b.NoTLSDomain, b.Users["eve"].Password, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := dialXMPP(t, b.XMPPAddr)
			f := x.openStream(tt.domain)
			if tt.tls {
				f = x.startTLS(tt.domain, clientTLS(b.CAPool, tt.domain))
			}
			if !strings.Contains(f, "<mechanism>PLAIN</mechanism>") || !strings.Contains(f, "<mechanism>SCRAM-SHA-1</mechanism>") {
				t.Fatalf("mechanisms: %s", f)
			}
			if got := x.authPlain(tt.user, tt.password); got != tt.want {
				t.Errorf("auth %s@%s succeeded = %v, want %v\n%s", tt.user, tt.domain, got, tt.want, b.Logs())
			}
		})
	}
}

func TestXMPPDirectTLS(t *testing.T) {
	b := Shared(t)
	for _, domain := range []string{b.Domain, b.Domain2} {
		conn, err := tls.Dial("tcp", b.XMPPDirectTLSAddr, clientTLS(b.CAPool, domain, "xmpp-client"))
		if err != nil {
			t.Fatalf("direct TLS to %s: %v", domain, err)
		}
		x := &rawXMPP{t: t, conn: conn}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if f := x.openStream(domain); !strings.Contains(f, "<mechanism>SCRAM-SHA-1</mechanism>") || strings.Contains(f, "starttls") {
			t.Errorf("features over direct TLS for %s: %s", domain, f)
		}
		conn.Close()
	}
}

func otherPool(t *testing.T, b *Bed) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(b.OtherCAFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemBytes) {
		t.Fatal("other CA: no certificate")
	}
	return p
}

func TestCertificates(t *testing.T) {
	b := Shared(t)
	ours, err := os.ReadFile(b.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(ours); blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("CAFile is not a PEM certificate")
	}
	other := otherPool(t, b)
	tests := []struct {
		name, addr, serverName string
		pool                   *x509.CertPool
		wantErr                bool
	}{
		{"xmpp ok", b.XMPPDirectTLSAddr, b.Domain, b.CAPool, false},
		{"xmpp muc name", b.XMPPDirectTLSAddr, b.MUCDomain, b.CAPool, false},
		{"xmpp unknown CA", b.XMPPDirectTLSAddr, b.Domain, other, true},
		{"sip ok", b.SIPTLSAddr, b.Domain, b.CAPool, false},
		{"sip unknown CA", b.SIPTLSAddr, b.Domain, other, true},
		{"sip wrong name", b.SIPTLSAddr, "biloxi.test", b.CAPool, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", tt.addr, clientTLS(tt.pool, tt.serverName))
			if tt.wantErr {
				if err == nil {
					conn.Close()
					t.Fatal("handshake verified, want a certificate error")
				}
				var unknown x509.UnknownAuthorityError
				var host x509.HostnameError
				if !errors.As(err, &unknown) && !errors.As(err, &host) {
					t.Errorf("error %v is not a certificate verification error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if time.Until(leaf.NotAfter) > 25*time.Hour {
				t.Errorf("certificate valid until %v: longer than a run needs", leaf.NotAfter)
			}
			if tt.addr == b.SIPTLSAddr {
				// RFC 5922 §7.1: the SIP domain as a URI SAN.
				if len(leaf.URIs) != 1 || leaf.URIs[0].String() != "sip:example.test" {
					t.Errorf("SIP certificate URIs = %v, want [sip:example.test]", leaf.URIs)
				}
			}
		})
	}
}

func TestSIPRegister(t *testing.T) {
	b := Shared(t)
	alice := b.Users["alice"]
	registrar := sip.Uri{Scheme: "sip", Host: b.Domain}
	for _, transport := range []string{"UDP", "TCP", "TLS"} {
		t.Run(transport, func(t *testing.T) {
			tests := []struct {
				name, user, password string
				want                 []int
			}{
				{"right password", "alice", alice.Password, []int{200}},
				{"wrong password", "alice", alice.Password + "x", []int{401, 403}},
				{"unknown user", "mallory", alice.Password, []int{401, 403}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := sipSend(t, b, transport, sip.REGISTER, registrar, tt.user, tt.password)
					if r.challenge == nil || r.challenge.StatusCode != 401 {
						t.Fatalf("first REGISTER: want a 401 challenge, got %v", r.final.StartLine())
					}
					if ch := challengeHeader(r.challenge); !strings.Contains(ch, "algorithm=SHA-256") {
						t.Errorf("challenge %q does not use SHA-256", ch)
					}
					got := int(r.final.StatusCode)
					ok := false
					for _, w := range tt.want {
						ok = ok || got == w
					}
					if !ok {
						t.Errorf("REGISTER %s: %s, want %v\n%s", tt.name, r.final.StartLine(), tt.want, b.Logs())
					}
				})
			}
		})
	}
}

func TestSIPInvite(t *testing.T) {
	b := Shared(t)
	alice := b.Users["alice"]
	tests := []struct {
		name, callee string
		want         int
	}{
		{"unknown user", "nobody", 404},
		{"known user, not registered", "carol", 480},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sipSend(t, b, "UDP", sip.INVITE, sip.Uri{Scheme: "sip", User: tt.callee, Host: b.Domain}, "alice", alice.Password)
			if r.challenge == nil || r.challenge.StatusCode != 407 {
				t.Fatalf("INVITE from a local user must be challenged with 407, got %v", r.final.StartLine())
			}
			if int(r.final.StatusCode) != tt.want {
				t.Errorf("INVITE %s: %s, want %d", tt.callee, r.final.StartLine(), tt.want)
			}
		})
	}
	// Nothing leaves loopback: foreign domains are refused, not relayed.
	r := sipSend(t, b, "UDP", sip.INVITE, sip.Uri{Scheme: "sip", User: "x", Host: "biloxi.test"}, "alice", alice.Password)
	if r.final.StatusCode != 403 {
		t.Errorf("INVITE to a foreign domain: %s, want 403", r.final.StartLine())
	}
}

// TestOwnBed starts a bed of its own with the weak digest and checks that Stop leaves nothing.
func TestOwnBed(t *testing.T) {
	requireInstalled(t)
	start := time.Now()
	b, err := StartWithDir("", Options{SIPDigestAlgorithm: "MD5"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("StartWithDir took %v", time.Since(start).Round(time.Millisecond))
	stopped := false
	defer func() {
		if !stopped {
			_ = b.Stop()
		}
	}()

	r := sipSend(t, b, "TCP", sip.REGISTER, sip.Uri{Scheme: "sip", Host: b.Domain}, "bob", b.Users["bob"].Password)
	if ch := challengeHeader(r.challenge); !strings.Contains(ch, "algorithm=MD5") {
		t.Errorf("challenge %q, want algorithm=MD5", ch)
	}
	if r.final.StatusCode != 200 {
		t.Errorf("REGISTER with MD5: %s", r.final.StartLine())
	}

	pids := []int{b.prosody.proc.cmd.Process.Pid, b.kamailio.proc.cmd.Process.Pid}
	stopStart := time.Now()
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	t.Logf("Stop took %v", time.Since(stopStart).Round(time.Millisecond))
	for _, pid := range pids {
		// The process group must be gone: leader and every worker.
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still exists after Stop (kill: %v)", pid, err)
		}
	}
	if _, err := os.Stat(b.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop: %v", b.Dir, err)
	}
	if err := b.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartWithDirRejectsUnknownAlgorithm(t *testing.T) {
	if _, err := StartWithDir("", Options{SIPDigestAlgorithm: "SHA-1"}); err == nil {
		t.Fatal("want an error for SHA-1")
	}
}

// recordTB captures Fatalf/Skipf instead of acting on them.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recordTB) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestMissingServersFailInCI(t *testing.T) {
	if testing.Short() {
		t.Skip("requireInstalled skips everything in -short mode")
	}
	t.Setenv("PATH", t.TempDir()) // no prosody, no kamailio
	tests := []struct {
		ci       string
		wantFail bool
	}{{"true", true}, {"", false}, {"false", false}}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recordTB{TB: t}
			requireInstalled(r)
			msg := r.skip
			if tt.wantFail {
				msg = r.fatal
			}
			if msg == "" || (r.fatal != "") != tt.wantFail {
				t.Fatalf("fatal=%q skip=%q, want fail=%v", r.fatal, r.skip, tt.wantFail)
			}
			if !strings.Contains(msg, "scripts/testbed/install.sh") || !strings.Contains(msg, "kamailio") {
				t.Errorf("message %q should name what is missing and the install script", msg)
			}
		})
	}
}

// TestRetryOnBindFailure hands both servers ports that someone else holds, as if another
// process took them between our probe and the server's bind: each must retry once, elsewhere.
func TestRetryOnBindFailure(t *testing.T) {
	requireInstalled(t)
	var taken []int
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		taken = append(taken, l.Addr().(*net.TCPAddr).Port)
	}
	var calls atomic.Int32
	pickTCPPorts = func(n int) ([]int, error) {
		if calls.Add(1) <= 2 { // the first pick of Prosody and of Kamailio
			return taken[:n], nil
		}
		return freeTCPPorts(n)
	}
	defer func() { pickTCPPorts = freeTCPPorts }()

	start := time.Now()
	b := Start(t, Options{})
	t.Logf("start with one retry each took %v", time.Since(start).Round(time.Millisecond))
	if calls.Load() != 4 {
		t.Errorf("ports picked %d times, want 4 (two attempts per server)", calls.Load())
	}
	for _, a := range []string{b.XMPPAddr, b.XMPPDirectTLSAddr, b.SIPTCPAddr, b.SIPTLSAddr} {
		for _, p := range taken {
			if a == loopback(p) {
				t.Errorf("%s is one of the taken ports", a)
			}
		}
	}
	if _, err := xmppFeatures(t.Context(), b.XMPPAddr, b.Domain, nil); err != nil {
		t.Error(err)
	}
}

func TestMUCComponent(t *testing.T) {
	b := Shared(t)
	x := dialXMPP(t, b.XMPPAddr)
	x.openStream(b.Domain)
	x.startTLS(b.Domain, clientTLS(b.CAPool, b.Domain))
	if !x.authPlain("alice", b.Users["alice"].Password) {
		t.Fatal("login failed")
	}
	x.openStream(b.Domain) // RFC 6120 §6.4.6: a new stream after SASL
	x.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
	if r := x.until("</iq>", "<iq type='error'"); !strings.Contains(r, "<jid>alice@example.test/") {
		t.Fatalf("bind: %s", r)
	}
	x.send("<iq type='get' id='disco1' to='" + b.MUCDomain + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	r := x.until("</iq>")
	if !strings.Contains(r, "category='conference'") || !strings.Contains(r, "http://jabber.org/protocol/muc") {
		t.Errorf("disco#info of %s is not a MUC service: %s", b.MUCDomain, r)
	}
}
