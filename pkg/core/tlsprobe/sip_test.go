package tlsprobe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// The SIP over TLS endpoint answers the baseline connection's REGISTER
// with the bed-like SHA-256 challenge; the probe records it and sends no
// credentials.
func TestProbeSIPOverTLS(t *testing.T) {
	ca, err := testbed.NewWeakCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(testbed.WeakCertSpec{DNSNames: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := testbed.ServeWeakTLS(t, testbed.StrongTLSConfig(cert))
	res, err := Probe(context.Background(), Endpoint{Addr: addr, Mode: ModeTLS, ServerName: "example.test",
		SIPAOR: "sip:alice@example.test"}, Options{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	d := res.SIP
	if d == nil || !d.Answered || d.StatusCode != 401 || d.StatusLine != "SIP/2.0 401 Unauthorized" || d.Transport != "tls" {
		t.Fatalf("dialog %+v", d)
	}
	want := []SIPChallenge{{Header: "WWW-Authenticate", Scheme: "Digest", Algorithm: "SHA-256", QOP: []string{"auth"}, Realm: "example.test"}}
	if !slices.EqualFunc(d.Challenges, want, sameChallenge) {
		t.Errorf("challenges %+v, want %+v", d.Challenges, want)
	}
	if strings.Contains(d.Evidence, "Authorization:") {
		t.Errorf("evidence %q", d.Evidence)
	}
}

func sameChallenge(a, b SIPChallenge) bool {
	return a.Header == b.Header && a.Scheme == b.Scheme && a.Algorithm == b.Algorithm &&
		slices.Equal(a.QOP, b.QOP) && a.Realm == b.Realm && a.Error == b.Error
}

// udpSIP answers REGISTERs: it ignores the first datagram (so timer A must
// resend), then sends each reply in turn.
func udpSIP(t *testing.T, replies ...func(req *sip.Request) string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for n := 0; ; n++ {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n == 0 {
				continue
			}
			msg, err := sip.ParseMessage(buf[:k])
			if err != nil {
				t.Errorf("server got %q: %v", buf[:k], err)
				return
			}
			for _, r := range replies {
				_, _ = pc.WriteTo([]byte(r(msg.(*sip.Request))), from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func reply(status string, headers ...string) func(req *sip.Request) string {
	return func(req *sip.Request) string {
		res := "SIP/2.0 " + status + "\r\n"
		for _, h := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
			res += h + ": " + req.GetHeader(h).Value() + "\r\n"
		}
		for _, h := range headers {
			res += h + "\r\n"
		}
		return res + "Content-Length: 0\r\n\r\n"
	}
}

func TestProbeSIPPlain(t *testing.T) {
	// RFC 8760 §2.4: one challenge per algorithm, MD5 listed first here.
	udp := udpSIP(t, reply("100 Trying"), reply("407 Proxy Authentication Required",
		`Proxy-Authenticate: Digest realm="example.test", nonce="1"`,
		`Proxy-Authenticate: Digest realm="example.test", nonce="2", algorithm=SHA-256, qop="auth, auth-int"`))
	d, err := ProbeSIP(context.Background(), "udp", udp, "sip:alice@example.test", Options{DialTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := []SIPChallenge{
		{Header: "Proxy-Authenticate", Scheme: "Digest", Realm: "example.test"},
		{Header: "Proxy-Authenticate", Scheme: "Digest", Algorithm: "SHA-256", QOP: []string{"auth", "auth-int"}, Realm: "example.test"},
	}
	if !d.Answered || d.StatusCode != 407 || !slices.EqualFunc(d.Challenges, want, sameChallenge) {
		t.Errorf("udp dialog %+v", d)
	}

	// TCP: a keep-alive CRLF, then a 200 with a body (no challenge at all).
	tcp := listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		raw, err := readStreamMessage(br)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(raw)
		if err != nil {
			return
		}
		res := reply("200 OK")(msg.(*sip.Request))
		res = strings.Replace(res, "Content-Length: 0\r\n\r\n", "Content-Type: text/plain\r\nl: 5\r\n\r\nhello", 1)
		_, _ = c.Write([]byte("\r\n" + res))
	})
	d, err = ProbeSIP(context.Background(), "tcp", tcp, "sip:alice@example.test", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Answered || d.StatusCode != 200 || d.Challenges != nil || !strings.HasSuffix(d.Evidence, "hello") {
		t.Errorf("tcp dialog %+v", d)
	}

	// Silence is a fact, bounded by the dial timeout.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	d, err = ProbeSIP(context.Background(), "udp", silent.LocalAddr().String(), "sip:alice@example.test", Options{DialTimeout: 700 * time.Millisecond})
	if err != nil || d.Answered || !strings.Contains(d.Evidence, "no SIP response") {
		t.Errorf("silent: %+v, %v", d, err)
	}
}

func TestProbeSIPInvalid(t *testing.T) {
	for _, tt := range []struct{ transport, aor string }{
		{"tls", "sip:alice@example.test"},
		{"udp", "alice@example.test"},
		{"udp", "sip:example.test"},
		{"udp", "sip:alice@example.test>\r\nX: y"},
	} {
		if _, err := ProbeSIP(context.Background(), tt.transport, "127.0.0.1:9", tt.aor, Options{}); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%s %q: %v, want ErrInvalid", tt.transport, tt.aor, err)
		}
	}
	_, err := Probe(context.Background(), Endpoint{Addr: "127.0.0.1:9", Mode: ModeTLS, SIPAOR: "mailto:x"}, Options{})
	if !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("Probe with bad SIPAOR: %v", err)
	}
}

func TestReadStreamMessage(t *testing.T) {
	for name, in := range map[string]string{
		"huge header":        "SIP/2.0 401 x\r\nX: " + strings.Repeat("a", maxSIPResponse+10) + "\r\n\r\n",
		"bad length":         "SIP/2.0 401 x\r\nContent-Length: -1\r\n\r\n",
		"length beyond body": "SIP/2.0 401 x\r\nContent-Length: 10\r\n\r\nabc",
		"cut":                "SIP/2.0 401 x\r\nVia: a",
	} {
		if _, err := readStreamMessage(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzSIPResponse feeds arbitrary server bytes through the stream reader,
// sipgo's parser and the challenge reader: errors, never panics.
func FuzzSIPResponse(f *testing.F) {
	f.Add([]byte("SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/TLS 1.2.3.4:5;branch=z9hG4bKx\r\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\", algorithm=SHA-256, qop=\"auth\"\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 407 x\r\nProxy-Authenticate: Digest qop=\"\r\nProxy-Authenticate: Bearer realm=x\r\nl: 2\r\n\r\nab"))
	f.Add([]byte("\r\n\r\nSIP/2.0 200 OK\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, err := readStreamMessage(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(raw)
		if err != nil {
			return
		}
		if res, ok := msg.(*sip.Response); ok {
			_ = challenges(res)
		}
	})
}
