package tlsprobe

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// The servers offering SSL 3.0 or compression are testbed.LegacyTLS: a
// scripted responder that answers a legacy ClientHello with the
// ServerHello flight such a server sends (no real one can be installed
// here: Debian's OpenSSL is built with no-ssl3 and no-zlib, GnuTLS 3.7
// without SSL 3.0 or compression) and gives every other ClientHello to
// crypto/tls. The test bed's Prosody and Kamailio are the real servers
// that refuse (TestAuditTLSLegacyBed in cmd/cusax/internal/cli).

func legacyCert(t *testing.T) *tls.Config {
	t.Helper()
	ca, err := testbed.NewWeakCA()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(testbed.WeakCertSpec{DNSNames: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return testbed.StrongTLSConfig(c)
}

func TestLegacyProbes(t *testing.T) {
	cfg := legacyCert(t)
	type want struct{ ssl3, ssl2, deflate bool }
	tests := []struct {
		name   string
		legacy testbed.LegacyTLS
		xmpp   bool
		want   want
	}{
		{"modern server refuses all", testbed.LegacyTLS{}, false, want{}},
		{"SSL 3.0 accepted", testbed.LegacyTLS{SSL3: true}, false, want{ssl3: true}},
		{"DEFLATE chosen", testbed.LegacyTLS{Deflate: true}, false, want{deflate: true}},
		{"SSL 2.0 accepted", testbed.LegacyTLS{SSL2: true}, false, want{ssl2: true}},
		{"all three, after XMPP STARTTLS", testbed.LegacyTLS{SSL3: true, SSL2: true, Deflate: true}, true, want{ssl3: true, ssl2: true, deflate: true}},
		{"modern XMPP server refuses all", testbed.LegacyTLS{}, true, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := sipEndpoint(testbed.ServeLegacyTLS(t, cfg, tt.legacy))
			if tt.xmpp {
				addr := testbed.WeakXMPP{TLS: cfg, AdvertiseStartTLS: true, RequireStartTLS: true,
					PostTLS: []string{"SCRAM-SHA-256"}, Legacy: tt.legacy}.Serve(t)
				ep = Endpoint{Addr: addr, Mode: ModeXMPPStartTLS, XMPPDomain: "example.test"}
			}
			res := probe(t, ep, Options{})
			l := res.Legacy
			if l == nil {
				t.Fatal("no legacy probes")
			}
			for _, c := range []struct {
				name string
				p    LegacyProbe
				want bool
			}{{"SSL 3.0", l.SSL3, tt.want.ssl3}, {"SSL 2.0", l.SSL2, tt.want.ssl2}, {"DEFLATE", l.Compression, tt.want.deflate}} {
				if !c.p.Decided() || c.p.Accepted != c.want {
					t.Errorf("%s: decided %v accepted %v, want accepted %v: %+v", c.name, c.p.Decided(), c.p.Accepted, c.want, c.p)
				}
				if c.p.Evidence == "" {
					t.Errorf("%s: no evidence", c.name)
				}
			}
			if tt.want.ssl3 && (l.SSL3.Version != "SSL 3.0" || !strings.HasPrefix(l.SSL3.Evidence, "ServerHello SSL 3.0 ")) {
				t.Errorf("SSL 3.0 evidence: %+v", l.SSL3)
			}
			if tt.want.ssl2 && (l.SSL2.Answer != AnswerSSL2ServerHello || l.SSL2.Evidence != "SSL 2.0 SERVER-HELLO version SSL 2.0") {
				t.Errorf("SSL 2.0 evidence: %+v", l.SSL2)
			}
			if tt.want.deflate && (l.Compression.Compression == nil || *l.Compression.Compression != 1 ||
				!strings.Contains(l.Compression.Evidence, "compression=1")) {
				t.Errorf("DEFLATE evidence: %+v", l.Compression)
			}
			if !tt.want.deflate && l.Compression.Answer == AnswerServerHello && *l.Compression.Compression != 0 {
				t.Errorf("compression %d", *l.Compression.Compression)
			}
			// The normal handshakes still work: the legacy answers do not
			// disturb the modern probes.
			if res.Negotiated == nil || res.Negotiated.Version != "TLS 1.3" {
				t.Errorf("negotiated %+v", res.Negotiated)
			}
			for _, n := range res.NotObservable {
				if strings.Contains(n, "SSL 2.0") || strings.Contains(n, "compression") {
					t.Errorf("still listed as not observable: %s", n)
				}
			}
		})
	}
}

// The probes never complete a handshake: after its ClientHello the client
// sends nothing, even to a server that accepted SSL 3.0 or DEFLATE and
// sent its whole flight (a client going on would send ClientKeyExchange).
func TestLegacyProbeSendsOnlyTheClientHello(t *testing.T) {
	cfg := legacyCert(t)
	legacy := testbed.LegacyTLS{SSL3: true, Deflate: true}
	var extra atomic.Int64
	var answered atomic.Int32
	addr := listen(t, func(c net.Conn) {
		cc := &countingConn{Conn: c}
		if tc := legacy.Serve(cc, cfg); tc != nil {
			_, _ = io.Copy(io.Discard, tc)
			return
		}
		// Serve answered a legacy hello and read until the client
		// closed: everything read past the first record is extra.
		if len(cc.head) > 0 && cc.head[0] == 22 { // not the SSL 2.0 probe, which Go's server refuses
			answered.Add(1)
			extra.Add(int64(cc.afterFirstRecord()))
		}
	})
	p := newProber(sipEndpoint(addr), Options{DialTimeout: 3 * time.Second})
	p.ep.ServerName = "example.test"
	l := p.legacy(context.Background())
	if !l.SSL3.Accepted || !l.Compression.Accepted {
		t.Fatalf("not accepted: %+v", l)
	}
	deadline := time.Now().Add(3 * time.Second)
	for answered.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if answered.Load() != 2 {
		t.Fatalf("server answered %d legacy hellos, want 2", answered.Load())
	}
	if n := extra.Load(); n != 0 {
		t.Errorf("the client sent %d bytes after its ClientHello", n)
	}
}

// countingConn counts the bytes read and keeps the first five (the
// record header of the ClientHello).
type countingConn struct {
	net.Conn
	n    int
	head []byte
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if room := 5 - len(c.head); room > 0 {
		c.head = append(c.head, b[:min(n, room)]...)
	}
	c.n += n
	return n, err
}

// afterFirstRecord is how many bytes were read past the first record.
func (c *countingConn) afterFirstRecord() int {
	if len(c.head) < 5 {
		return 0
	}
	return c.n - 5 - (int(c.head[3])<<8 | int(c.head[4]))
}

func TestParseLegacyAnswer(t *testing.T) {
	ssl3 := serverFlight(0x002f, nil, -1)
	ssl3[1], ssl3[2], ssl3[9], ssl3[10] = 3, 0, 3, 0 // record and hello version 0x0300
	tests := []struct {
		name    string
		in      []byte
		done    bool
		kind    string
		version uint16
		detail  string
	}{
		{"empty", nil, false, "", 0, ""},
		{"alert", []byte{21, 3, 3, 0, 2, 2, 70}, true, AnswerAlert, 0, "alert fatal protocol_version (70)"},
		{"alert header only", []byte{21, 3, 0, 0, 2}, false, "", 0, ""},
		{"SSL 3.0 ServerHello", ssl3, true, AnswerServerHello, 0x0300, ""},
		{"TLS 1.2 ServerHello", serverFlight(0xc02f, nil, -1), true, AnswerServerHello, 0x0303, ""},
		{"ServerHello cut short", serverFlight(0xc02f, nil, -1)[:20], false, "", 0, ""},
		{"SSL 2.0 SERVER-HELLO", []byte{0x80, 0x20, 4, 0, 1, 0, 2, 0, 0}, true, AnswerSSL2ServerHello, 0x0002, ""},
		{"SSL 2.0 ERROR", []byte{0x80, 0x03, 0, 0, 1}, true, AnswerSSL2Error, 0, ""},
		{"XMPP text", []byte("<stream:error>"), true, AnswerUnexpected, 0, ""},
		{"Certificate before ServerHello", []byte{22, 3, 3, 0, 4, 11, 0, 0, 0}, true, AnswerUnexpected, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, done := parseLegacyAnswer(tt.in)
			if done != tt.done || a.kind != tt.kind || a.version != tt.version || (tt.detail != "" && a.detail != tt.detail) {
				t.Errorf("got %+v done=%v", a, done)
			}
		})
	}
	// A ServerHello split over two records (a record may carry a
	// fragment of a handshake message, RFC 5246 §6.2.1).
	full := serverFlight(0xc02f, nil, -1)
	body := full[5 : 5+(int(full[3])<<8|int(full[4]))]
	split := append([]byte{22, 3, 3, 0, 10}, body[:10]...)
	split = append(split, 22, 3, 3, byte((len(body)-10)>>8), byte(len(body)-10))
	split = append(split, body[10:]...)
	if a, done := parseLegacyAnswer(split); !done || a.kind != AnswerServerHello || a.hello.CipherSuite != "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" {
		t.Errorf("split ServerHello: %+v done=%v", a, done)
	}
}

func TestLegacyHellos(t *testing.T) {
	// The records are what a server parses: check them with the
	// responder's own reading, and the wire facts the probes rely on.
	h := ssl3Hello("example.test")
	if h[0] != 22 || h[1] != 3 || h[2] != 0 || h[9] != 3 || h[10] != 0 {
		t.Errorf("SSL 3.0 hello versions: % x", h[:11])
	}
	if got := clientHelloSuites(h); len(got) != len(ssl3Suites) {
		t.Errorf("SSL 3.0 suites %x", got)
	}
	d := deflateHello("example.test")
	if d[9] != 3 || d[10] != 3 {
		t.Errorf("DEFLATE hello version % x", d[9:11])
	}
	p := 5 + 4 + 2 + 32 + 1
	p += 2 + (int(d[p])<<8 | int(d[p+1]))
	if d[p] != 2 || d[p+1] != 1 || d[p+2] != 0 {
		t.Errorf("compression methods % x, want 02 01 00", d[p:p+3])
	}
	if strings.Contains(string(deflateHello("127.0.0.1")), "127.0.0.1") {
		t.Error("SNI carries an IP address (RFC 6066 §3 forbids it)")
	}
	s := ssl2Hello()
	if s[0]&0x80 == 0 || int(s[0]&0x7f)<<8|int(s[1]) != len(s)-2 || s[2] != 1 || s[3] != 0 || s[4] != 2 {
		t.Errorf("SSL 2.0 hello % x", s[:5])
	}
}

func FuzzParseLegacyAnswer(f *testing.F) {
	f.Add(serverFlight(0xc02f, [][2][]byte{{{0xff, 0x01}, {0}}}, -1))
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Add([]byte{0x80, 0x20, 4, 0, 1, 0, 2, 0, 0})
	f.Add([]byte{0x80, 0x03, 0, 0, 1})
	f.Add([]byte{22, 3, 3, 0, 4, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, done := parseLegacyAnswer(b)
		if done && a.kind == "" {
			t.Fatal("done without an answer")
		}
		if a.kind == AnswerServerHello && a.hello == nil {
			t.Fatal("ServerHello without its facts")
		}
		var lp LegacyProbe
		if done {
			judgeLegacy(&lp, a, wireSSL30)
		}
	})
}

// A server that closes the connection on the ClientHello refuses it
// (after three tries); one that never answers, or a port nobody listens
// on, decides nothing: the audit must skip, not pass, the check.
func TestLegacyProbeWithoutAnswer(t *testing.T) {
	var conns atomic.Int32
	closes := listen(t, func(c net.Conn) {
		conns.Add(1)
		_, _ = c.Read(make([]byte, 5))
	})
	silent := listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		addr    string
		decided bool
		answer  string
		evid    string
	}{
		{"closes", closes, true, AnswerClosed, "closed the connection"},
		{"silent", silent, false, AnswerNone, "no answer within"},
		{"nobody listens", nobody, false, AnswerNone, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProber(sipEndpoint(tt.addr), Options{DialTimeout: 300 * time.Millisecond})
			p.ep.ServerName = "example.test"
			lp := p.legacyProbe(context.Background(), "SSL 3.0", ssl3Hello("example.test"), wireSSL30)
			if lp.Decided() != tt.decided || lp.Answer != tt.answer || lp.Accepted || !strings.Contains(lp.Evidence, tt.evid) {
				t.Errorf("got %+v", lp)
			}
		})
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("a server closing without a word was tried %d times, want 3", n)
	}
}

// A server that speaks only SSL 3.0: every crypto/tls handshake fails,
// and the legacy probes still run and show what it accepts.
func TestLegacySSLOnly(t *testing.T) {
	noTLS := &tls.Config{} // no certificate: every TLS handshake fails
	addr := testbed.ServeLegacyTLS(t, noTLS, testbed.LegacyTLS{SSL3: true})
	res := probe(t, sipEndpoint(addr), Options{})
	if res.Negotiated != nil {
		t.Fatalf("negotiated %+v", res.Negotiated)
	}
	if res.Legacy == nil || !res.Legacy.SSL3.Accepted || res.Legacy.SSL2.Accepted || res.Legacy.Compression.Accepted {
		t.Errorf("legacy %+v", res.Legacy)
	}
	// STARTTLS refused: no TLS handshake was attempted, no legacy probe.
	x := xmppServer{advertise: true, refuse: true}.serve(t)
	res = probe(t, Endpoint{Addr: x, Mode: ModeXMPPStartTLS, XMPPDomain: "example.test"}, Options{})
	if res.Legacy != nil || res.Connections != 1 {
		t.Errorf("after <failure/>: legacy %+v, %d connections", res.Legacy, res.Connections)
	}
}
