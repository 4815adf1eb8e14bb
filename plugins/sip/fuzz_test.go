package sip

import (
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// FuzzParseProxy: whatever parseProxy accepts can be written into a SIP
// message without changing its structure.
func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"sip:127.0.0.1:5060;transport=udp", "sips:[::1]:5061", "proxy.example.test", "sip:a\r\nb", "sip:x;transport="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseProxy(s)
		if err != nil {
			return
		}
		if !validHost(p.Host) || strings.ContainsAny(p.Host, "\r\n\x00 ;<>\"") || p.Port < 0 || p.Port > 65535 {
			t.Errorf("parseProxy(%q) accepted %+v", s, p)
		}
		switch p.Transport {
		case "", "udp", "tcp", "tls":
		default:
			t.Errorf("transport %q", p.Transport)
		}
	})
}

// FuzzParseAOR: an accepted AOR has a user and host free of syntax.
func FuzzParseAOR(f *testing.F) {
	for _, s := range []string{"sip:alice@example.test", "sips:bob@[::1]", "sip:a%20b@x", "sip:@x", "sip:a@b\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseAOR(s)
		if err != nil {
			return
		}
		if u.User == "" || !validHost(u.Host) || strings.ContainsAny(u.User+u.Host, "\r\n\x00 <>\"@") {
			t.Errorf("parseAOR(%q) accepted user %q host %q", s, u.User, u.Host)
		}
	})
}

// FuzzPickChallenge: no panic, and a pick is always one we can answer.
func FuzzPickChallenge(f *testing.F) {
	f.Add(`Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256`, `Digest realm="r", nonce="n"`)
	f.Add(`Digest realm="r`, `Basic x`)
	f.Fuzz(func(t *testing.T, a, b string) {
		ch, _, err := pickChallenge("WWW-Authenticate", []string{a, b})
		if err != nil {
			return
		}
		if _, ok := algorithmRank[ch.Algorithm]; !ok || ch.Realm == "" || ch.Nonce == "" {
			t.Errorf("picked %+v", ch.Challenge)
		}
	})
}

// FuzzPlanDial: whatever planDial accepts (target, display name, extra
// header) yields an INVITE whose header section still parses to the same
// structure: no CR, LF or NUL reaches sipgo, which writes values verbatim.
func FuzzPlanDial(f *testing.F) {
	for _, s := range [][4]string{
		{"sip:bob@example.test", "Bob", "Call-Info", "<xmpp:a@b>;purpose=impp"},
		{"tel:+1-555-0100", "", "X-A", "1"},
		{"sip:bob@example.test\r\nVia: x", "", "", ""},
		{"sips:bob@example.test;transport=tls", "A \"B\"", "Subject", "hi\r\n"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	s := &session{aor: mustAOR(f, "sip:alice@example.test")}
	f.Fuzz(func(t *testing.T, target, display, hname, hval string) {
		req := protocol.DialRequest{Target: target, DisplayName: display}
		if hname != "" {
			req.Headers = []protocol.Header{{Name: hname, Value: hval}}
		}
		p, err := s.planDial(req)
		if err != nil {
			return
		}
		all := p.target.String() + p.display
		for _, h := range p.headers {
			all += h.Name + h.Value
		}
		if strings.ContainsAny(all, "\r\n\x00") {
			t.Fatalf("planDial accepted control characters: %q", all)
		}
		if strings.ContainsAny(p.target.String(), " <>\"") {
			t.Fatalf("target %q would break the Request-URI", p.target.String())
		}
	})
}

func mustAOR(tb testing.TB, s string) gosip.Uri {
	u, err := parseAOR(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
