package sipmessage

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// rawMessage is a MESSAGE as Kamailio relays it, with ct and body.
func rawMessage(ct, body string) string {
	var b strings.Builder
	b.WriteString("MESSAGE sip:bob@127.0.0.1:40000;transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK1\r\n" +
		"From: <sip:alice@Example.TEST>;tag=1\r\nTo: <sip:bob@example.test>\r\n" +
		"Call-ID: c1@x\r\nCSeq: 2 MESSAGE\r\nMax-Forwards: 69\r\n")
	if ct != "" {
		b.WriteString("Content-Type: " + ct + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	return b.String()
}

func parseRaw(t testing.TB, raw string) *gosip.Request {
	t.Helper()
	msg, err := gosip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	req, ok := msg.(*gosip.Request)
	if !ok {
		t.Fatalf("not a request: %T", msg)
	}
	return req
}

// RFC 3428 §9 and RFC 3261 §20.15: what is taken and what is refused with
// which status.
func TestParseIncoming(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name, ct, body string
		code           int
	}{
		{"text/plain utf-8", "text/plain;charset=UTF-8", "hi ✓", 0},
		{"text/plain no charset", "text/plain", "hi", 0},
		{"text/plain quoted charset", `text/plain; charset="utf-8"`, "hi", 0},
		{"latin-1", "text/plain;charset=ISO-8859-1", "hi", 415},
		{"html", "text/html", "<b>hi</b>", 415},
		{"cpim", "message/cpim", "x", 415},
		{"broken media type", "text/plain;;;=", "hi", 415},
		{"no content type", "", "hi", 400},
		{"empty body", "text/plain", "", 400},
		{"not utf-8", "text/plain", "caf\xe9", 400},
	}
	t.Run("too large", func(t *testing.T) {
		// Larger than sipgo's parser takes off the wire: built here.
		req := parseRaw(t, rawMessage("text/plain", "x"))
		req.SetBody([]byte(strings.Repeat("a", maxBody+1)))
		if _, code, _ := parseIncoming(req, now); code != 413 {
			t.Errorf("status %d, want 413", code)
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, code, reason := parseIncoming(parseRaw(t, rawMessage(c.ct, c.body)), now)
			if code != c.code {
				t.Fatalf("status %d %q, want %d", code, reason, c.code)
			}
			if code != 0 {
				return
			}
			if m.From != "sip:alice@example.test" || m.Body != c.body || m.Type != "chat" || m.ID != "c1@x" || !m.Time.Equal(now) {
				t.Errorf("message %+v", m)
			}
		})
	}
}

// FuzzParseIncoming feeds arbitrary bytes through sipgo's parser and our
// MESSAGE checks: never a panic, and whatever is taken is a non-empty
// UTF-8 body from a sip: or sips: address.
func FuzzParseIncoming(f *testing.F) {
	f.Add([]byte(rawMessage("text/plain", "hello")))
	f.Add([]byte(rawMessage("text/plain;charset=us-ascii", "x")))
	f.Add([]byte(rawMessage("text/html", "<p>")))
	f.Add([]byte("MESSAGE sip:a@b SIP/2.0\r\nFrom: sips:b\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := gosip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := msg.(*gosip.Request)
		if !ok {
			return
		}
		m, code, _ := parseIncoming(req, time.Now())
		if code != 0 {
			if code < 400 || code > 499 {
				t.Fatalf("refusal %d is not a 4xx", code)
			}
			return
		}
		if m.Body == "" || !utf8.ValidString(m.Body) || len(m.Body) > maxBody {
			t.Fatalf("took body %q", m.Body)
		}
		if !strings.HasPrefix(m.From, "sip:") && !strings.HasPrefix(m.From, "sips:") {
			t.Fatalf("took From %q", m.From)
		}
	})
}

// Bad addresses and servers are refused before any network IO.
func TestConnectRefusesBadInput(t *testing.T) {
	cases := []struct{ name, addr, server string }{
		{"no user", "sip:example.test", ""},
		{"mailto", "mailto:a@example.test", ""},
		{"spaces", "sip:a b@example.test", ""},
		{"udp proxy", "sip:a@example.test", "sip:127.0.0.1:5060;transport=udp"},
		{"sips over tcp", "sips:a@example.test", "sip:127.0.0.1:5060;transport=tcp"},
		{"proxy with user", "sip:a@example.test", "sip:u@127.0.0.1:5061"},
		{"unknown transport", "sip:a@example.test", "sip:127.0.0.1:5061;transport=sctp"},
		{"not a uri", "sip:a@example.test", "http://proxy"},
	}
	b := New(nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Connect(t.Context(), protocol.ConnectRequest{Address: c.addr, Server: c.server, Password: "pw-secret"})
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("Connect: %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "pw-secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// RFC 8760 §2.4: the strongest algorithm offered wins, whatever the order.
func TestStrongestOffer(t *testing.T) {
	res := func(hdrs ...string) *gosip.Response {
		r := gosip.NewResponse(407, "Proxy Authentication Required")
		for _, h := range hdrs {
			r.AppendHeader(gosip.NewHeader("Proxy-Authenticate", h))
		}
		return r
	}
	md5 := `Digest realm="example.test", nonce="n1", qop="auth"`
	sha := `Digest realm="example.test", nonce="n2", qop="auth", algorithm=SHA-256`
	o, offered, err := strongestOffer(res(md5, sha))
	if err != nil || o.algorithm != "SHA-256" || !o.proxy || strings.Join(offered, ",") != "MD5,SHA-256" {
		t.Fatalf("got %+v %v %v, want SHA-256 of MD5,SHA-256", o, offered, err)
	}
	h, _, err := o.answer(gosip.NewRequest(gosip.MESSAGE, gosip.Uri{Scheme: "sip", User: "b", Host: "example.test"}), "a", "pw")
	if err != nil || h != "Proxy-Authorization" {
		t.Errorf("answer header %q, %v", h, err)
	}
	if _, _, err := strongestOffer(res(`Digest realm="r", nonce="n", algorithm=SHA-1`, `Basic realm="r"`)); !errors.Is(err, protocol.ErrProtocol) {
		t.Errorf("only unusable challenges: %v, want ErrProtocol", err)
	}
}
