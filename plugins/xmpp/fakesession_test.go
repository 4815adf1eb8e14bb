package xmpp

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// A scripted server that completes a login (STARTTLS, SASL PLAIN, bind) and
// then lets the test play the server: what Prosody cannot be made to send
// (hostile roster pushes, malformed stanzas, huge or stalled answers).

const fakeBoundJID = "alice@example.test/fake"

// expectRe reads until re matches what the client sent after the last
// match and returns the submatches; nil on error or timeout.
func (c *fakeConn) expectRe(re *regexp.Regexp) []string {
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	for {
		c.mu.Lock()
		rest := c.got.Bytes()[c.seen:]
		if loc := re.FindSubmatchIndex(rest); loc != nil {
			var out []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] < 0 {
					out = append(out, "")
					continue
				}
				out = append(out, string(rest[loc[i]:loc[i+1]]))
			}
			c.seen += loc[1]
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		n, err := c.conn.Read(buf)
		c.mu.Lock()
		c.got.Write(buf[:n])
		c.mu.Unlock()
		if err != nil {
			return nil
		}
	}
}

// reIQ matches one IQ the client sent, capturing its id (mellium writes
// attributes in any order, with either quote) and the rest up to the
// payload's name.
var reIQ = regexp.MustCompile(`<iq\b[^>]*?\bid=["']([^"']+)["'][^>]*>\s*<([a-zA-Z:-]+)`)

// expectIQ waits for an IQ whose first payload element is named local and
// returns its id ("" on timeout).
func (c *fakeConn) expectIQ(local string) string {
	for {
		m := c.expectRe(reIQ)
		if m == nil {
			return ""
		}
		if m[2] == local {
			return m[1]
		}
	}
}

// newFakeSession logs in to a scripted server and returns the session and
// the server side of its connection, ready for the test to drive.
func newFakeSession(t *testing.T) (*session, *fakeConn) {
	t.Helper()
	return newFakeSessionSM(t, false)
}

// newFakeSessionSM is newFakeSession whose server offers and enables
// XEP-0198 stream management when sm is set.
func newFakeSessionSM(t *testing.T, sm bool) (*session, *fakeConn) {
	t.Helper()
	smOffer := ""
	if sm {
		smOffer = `<sm xmlns='urn:xmpp:sm:3'><optional/></sm>`
	}
	pki := newPKI(t)
	cert := pki.leaf(t, []string{"example.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	connCh := make(chan *fakeConn, 1)
	done := make(chan struct{})
	addr, _ := fakeServer(t, startTLSScript(cert, func(c *fakeConn) {
		if !c.expect("<stream:stream") {
			return
		}
		c.send(fakeStreamHeader + `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` +
			`<mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
		if !c.expect("</auth>") {
			return
		}
		c.send(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)
		if !c.expect("<stream:stream") {
			return
		}
		c.send(fakeStreamHeader + `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>` + smOffer + `</stream:features>`)
		id := c.expectIQ("bind")
		if id == "" {
			return
		}
		c.send(`<iq type='result' id='` + id + `'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>` + fakeBoundJID + `</jid></bind></iq>`)
		if sm {
			if !c.expect("<enable") {
				return
			}
			c.send(`<enabled xmlns='urn:xmpp:sm:3'/>`)
		}
		_ = c.conn.SetDeadline(time.Time{})
		connCh <- c
		<-done
		c.send(`</stream:stream>`)
	}))
	s, err := New(testLogger(t)).Connect(context.Background(), protocol.ConnectRequest{
		Address: "alice@example.test", Password: "secret-pw", Server: addr,
		CAPEM: pki.caPEM, Timeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatalf("Connect to the scripted server: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	var c *fakeConn
	select {
	case c = <-connCh:
	case <-time.After(3 * time.Second):
		t.Fatal("scripted server did not finish the login")
	}
	t.Cleanup(func() { close(done) })
	return s.(*session), c
}

// since returns what the client sent after the last expect.
func (c *fakeConn) since() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.got.Bytes()[c.seen:])
}

func TestFakeSessionLogin(t *testing.T) {
	s, _ := newFakeSession(t)
	if got := s.Report().Address; got != fakeBoundJID {
		t.Errorf("Address = %q", got)
	}
}
