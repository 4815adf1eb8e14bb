package testbed

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// rawXMPP is just enough of an XMPP client to look at what the server offers: the point of
// these tests is the servers, so no library sits between the test and the wire.
type rawXMPP struct {
	t    *testing.T
	conn net.Conn
	got  strings.Builder
}

func dialXMPP(t *testing.T, addr string) *rawXMPP {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawXMPP{t: t, conn: c}
}

func (x *rawXMPP) send(s string) {
	x.t.Helper()
	if _, err := x.conn.Write([]byte(s)); err != nil {
		x.t.Fatalf("send %q: %v", s, err)
	}
}

// until reads until one of the markers shows up and returns everything read since the last call.
func (x *rawXMPP) until(markers ...string) string {
	x.t.Helper()
	buf := make([]byte, 4096)
	for {
		s := x.got.String()
		for _, m := range markers {
			if i := strings.Index(s, m); i >= 0 {
				// Keep reading to the end of that element's start tag at least.
				if strings.Contains(s[i:], ">") {
					x.got.Reset()
					return s
				}
			}
		}
		n, err := x.conn.Read(buf)
		x.got.Write(buf[:n])
		if err != nil {
			x.t.Fatalf("waiting for %q: %v; got %q", markers, err, x.got.String())
		}
	}
}

func (x *rawXMPP) openStream(domain string) string {
	x.t.Helper()
	x.send(fmt.Sprintf("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", domain))
	s := x.until("</stream:features>", "<stream:error")
	if i := strings.Index(s, "<stream:features"); i >= 0 {
		return s[i:]
	}
	x.t.Fatalf("no features from %s: %q", domain, s)
	return ""
}

// startTLS negotiates STARTTLS (RFC 6120 §5) and returns the features of the new stream.
func (x *rawXMPP) startTLS(domain string, tc *tls.Config) string {
	x.t.Helper()
	x.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	if s := x.until("<proceed", "<failure"); !strings.Contains(s, "<proceed") {
		x.t.Fatalf("starttls refused: %q", s)
	}
	tconn := tls.Client(x.conn, tc)
	if err := tconn.Handshake(); err != nil {
		x.t.Fatalf("tls handshake: %v", err)
	}
	x.conn = tconn
	return x.openStream(domain)
}

// authPlain tries SASL PLAIN (RFC 4616) and reports whether the server said <success/>.
func (x *rawXMPP) authPlain(user, password string) bool {
	x.t.Helper()
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	x.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + cred + "</auth>")
	return strings.Contains(x.until("<success", "<failure"), "<success")
}

// sipAttempt is the outcome of one request and, if challenged, its authenticated retry.
type sipAttempt struct {
	challenge *sip.Response // the 401/407, nil if none
	final     *sip.Response
}

// sipSend sends an out-of-dialog request from user@Domain over transport ("UDP", "TCP", "TLS")
// to the bed and answers one digest challenge (401 or 407) with user/password.
func sipSend(t *testing.T, b *Bed, transport string, method sip.RequestMethod, recipient sip.Uri, user, password string) sipAttempt {
	t.Helper()
	addr := map[string]string{"UDP": b.SIPUDPAddr, "TCP": b.SIPTCPAddr, "TLS": b.SIPTLSAddr}[transport]
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(b.Domain),
		sipgo.WithUserAgenTLSConfig(clientTLS(b.CAPool, b.Domain)))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cl, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	aor := sip.Uri{Scheme: "sip", User: user, Host: b.Domain}
	req := sip.NewRequest(method, recipient)
	req.SetTransport(transport)
	req.SetDestination(addr)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(from)
	to := recipient
	if method == sip.REGISTER {
		to = aor
	}
	req.AppendHeader(&sip.ToHeader{Address: to})
	contact := sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5999, UriParams: sip.NewParams()}
	contact.UriParams.Add("transport", strings.ToLower(transport))
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	if method == sip.REGISTER {
		req.AppendHeader(sip.NewHeader("Expires", "60"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s over %s: %v\n%s", method, transport, err, b.Logs())
	}
	var out sipAttempt
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		out.challenge = res
		res, err = cl.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
		if err != nil {
			t.Fatalf("%s over %s with credentials: %v\n%s", method, transport, err, b.Logs())
		}
	}
	out.final = res
	return out
}

func challengeHeader(r *sip.Response) string {
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		if h := r.GetHeader(name); h != nil {
			return h.Value()
		}
	}
	return ""
}
