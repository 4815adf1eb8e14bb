package xmpp

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cusax/cusax/pkg/protocol"
)

// Hostile or broken input from the server must neither crash nor hang the
// session: each case is followed by a normal message that must still
// arrive.

func recvMessage(t *testing.T, st protocol.Stream[protocol.Message]) protocol.Message {
	t.Helper()
	type res struct {
		m   protocol.Message
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := st.Recv(); ch <- res{m, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Recv: %v", r.err)
		}
		return r.m
	case <-time.After(3 * time.Second):
		t.Fatal("no message within 3 s")
	}
	panic("unreachable")
}

// alive checks that the session still reads stanzas: a chat message sent
// after whatever came before must be the next one streamed.
func assertAlive(t *testing.T, c *fakeConn, st protocol.Stream[protocol.Message], tag string) {
	t.Helper()
	c.send(`<message type='chat' from='bob@example.test/x' id='` + tag + `'><body>alive ` + tag + `</body></message>`)
	m := recvMessage(t, st)
	if m.Body != "alive "+tag {
		t.Fatalf("after %s: got %+v, want the alive message", tag, m)
	}
}

func TestHostileRosterPushes(t *testing.T) {
	s, c := newFakeSession(t)
	st, err := s.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("a", 5000) + "@example.test"
	for _, tc := range []struct {
		name, push, want string
	}{
		// RFC 6121 §2.1.6: only the server (no 'from' or our bare JID)
		// may push.
		{"foreign sender", `<iq type='set' id='p1' from='mallory@evil.test/x'><query xmlns='jabber:iq:roster'><item jid='bob@example.test'/></query></iq>`, "service-unavailable"},
		{"invalid jid", `<iq type='set' id='p2'><query xmlns='jabber:iq:roster'><item jid='@@bad@@'/></query></iq>`, "bad-request"},
		{"huge jid", `<iq type='set' id='p3'><query xmlns='jabber:iq:roster'><item jid='` + huge + `'/></query></iq>`, "bad-request"},
		{"jid with resource", `<iq type='set' id='p4'><query xmlns='jabber:iq:roster'><item jid='bob@example.test/phone'/></query></iq>`, "bad-request"},
		{"two items", `<iq type='set' id='p5'><query xmlns='jabber:iq:roster'><item jid='bob@example.test'/><item jid='carol@example.test'/></query></iq>`, "bad-request"},
		{"from our bare jid", `<iq type='set' id='p6' from='alice@example.test'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='both'/></query></iq>`, "result"},
		{"no from", `<iq type='set' id='p7'><query xmlns='jabber:iq:roster'><item jid='bob@example.test' subscription='remove'/></query></iq>`, "result"},
		// mellium's own handling would end the stream on these.
		{"malformed from", `<iq type='get' id='p8' from='a@@b'><ping xmlns='urn:xmpp:ping'/></iq>`, "jid-malformed"},
		{"no payload", `<iq type='get' id='p9' from='example.test'/>`, "bad-request"},
		{"text payload", `<iq type='get' id='p10' from='example.test'>junk</iq>`, "bad-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.send(tc.push)
			pid := regexp.MustCompile(`id='([^']+)'`).FindStringSubmatch(tc.push)[1]
			re := regexp.MustCompile(`<iq\b[^>]*\bid=["']` + pid + `["'][^>]*(/>|>.*?</iq>)`)
			m := c.expectRe(re)
			if m == nil {
				t.Fatalf("no answer to %s", tc.name)
			}
			if tc.want == "result" {
				if !strings.Contains(m[0], "result") || strings.Contains(m[0], "error") {
					t.Errorf("answer %s, want a result", m[0])
				}
			} else if !strings.Contains(m[0], tc.want) {
				t.Errorf("answer %s, want %s", m[0], tc.want)
			}
			assertAlive(t, c, st, "roster-"+pid)
		})
	}
}

func TestHostileStanzas(t *testing.T) {
	s, c := newFakeSession(t)
	st, err := s.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Presences(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("<x xmlns='urn:example:deep'>", 5000) + strings.Repeat("</x>", 5000)
	for _, tc := range []struct{ name, stanza string }{
		{"message with malformed from", `<message type='chat' from='a@@b'><body>spoof</body></message>`},
		{"deeply nested payload", `<message type='chat' from='bob@example.test/x'>` + deep + `</message>`},
		{"many elements", `<message from='bob@example.test/x'>` + strings.Repeat("<e xmlns='urn:example:e'/>", 20000) + `</message>`},
		{"presence with malformed from", `<presence from='@'/>`},
		{"presence of unknown type", `<presence from='bob@example.test/x' type='bogus'/>`},
		{"unknown top-level element", `<foo xmlns='urn:example:foo'><bar/></foo>`},
		{"unsolicited iq result", `<iq type='result' id='nobody-asked'/>`},
		{"unsolicited iq error", `<iq type='error' id='nobody-asked-2'/>`},
		{"error message with malformed by", `<message type='error' from='bob@example.test' id='e1'><error type='cancel' by='@@'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.send(tc.stanza)
			if tc.name == "error message with malformed by" {
				m := recvMessage(t, st)
				if m.Type != "error" || m.Error != "item-not-found" {
					t.Errorf("error message = %+v", m)
				}
			}
			assertAlive(t, c, st, strings.ReplaceAll(tc.name, " ", "-"))
		})
	}

	t.Run("huge body", func(t *testing.T) {
		body := strings.Repeat("é", 200<<10) // 400 KiB of UTF-8, over maxStanzaSize
		c.send(`<message type='chat' from='bob@example.test/x'><body>` + body + `</body></message>`)
		m := recvMessage(t, st)
		if !strings.HasSuffix(m.Body, truncatedMarker) || len(m.Body) > maxBodySize+len(truncatedMarker) || !utf8.ValidString(m.Body) {
			t.Errorf("body of %d bytes, suffix %q", len(m.Body), m.Body[max(0, len(m.Body)-20):])
		}
		assertAlive(t, c, st, "huge")
	})

	t.Run("presence fields", func(t *testing.T) {
		c.send(`<presence from='bob@example.test/pc'><show>dnd</show><status xml:lang='de'>beschäftigt</status><status>busy</status>` +
			`<priority>999</priority><reach xmlns='urn:xmpp:reach:0'><addr uri='sip:bob@example.test'><desc xml:lang='en'>Work phone</desc></addr>` +
			`<addr uri=''/><addr uri='tel:+15550101'/></reach></presence>`)
		p, err := ps.Recv()
		if err != nil {
			t.Fatal(err)
		}
		want := protocol.Presence{From: "bob@example.test/pc", Show: "dnd", Status: "busy", Priority: 0, Reach: []protocol.ReachAddress{
			{URI: "sip:bob@example.test", Desc: "Work phone", Source: "presence"}, {URI: "tel:+15550101", Source: "presence"},
		}}
		if fmt.Sprint(p) != fmt.Sprint(want) {
			t.Errorf("presence = %+v\nwant %+v", p, want)
		}
	})

	t.Run("invalid UTF-8 ends the stream", func(t *testing.T) {
		// encoding/xml refuses it: a stream-level error (RFC 6120 §11.6).
		// The session must end, not hang, and streams must say so.
		c.send("<message type='chat' from='bob@example.test/x'><body>\xff\xfe</body></message>")
		_, err := recvOrEnd(st)
		if !errors.Is(err, protocol.ErrNotConnected) {
			t.Errorf("Recv after invalid UTF-8: %v, want ErrNotConnected", err)
		}
		if err := s.Send(context.Background(), protocol.Message{To: "bob@example.test", Body: "x"}); !errors.Is(err, protocol.ErrNotConnected) {
			t.Errorf("Send after the stream ended: %v, want ErrNotConnected", err)
		}
	})
}

// recvOrEnd receives within 3 s.
func recvOrEnd(st protocol.Stream[protocol.Message]) (protocol.Message, error) {
	type res struct {
		m   protocol.Message
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := st.Recv(); ch <- res{m, err} }()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(3 * time.Second):
		return protocol.Message{}, errors.New("Recv hung")
	}
}

// The server goes away while requests and streams are open: everything
// returns at once with ErrNotConnected, nothing waits for its deadline.
func TestFakeServerGoesAway(t *testing.T) {
	s, c := newFakeSession(t)
	ctx := context.Background() // no deadline: the default of 30 s would show
	st, _ := s.Messages(ctx)
	ps, _ := s.Presences(ctx)
	vc := make(chan error, 1)
	go func() { _, err := s.VCard(ctx, "bob@example.test"); vc <- err }()
	c.expectIQ("pubsub")
	jc := make(chan error, 1)
	go func() {
		_, err := s.JoinRoom(ctx, protocol.RoomJoin{Room: "r@conference.example.test", Nick: "n"})
		jc <- err
	}()
	c.expect("r@conference.example.test/n")
	start := time.Now()
	_ = c.conn.Close()
	for name, ch := range map[string]chan error{"VCard": vc, "JoinRoom": jc} {
		select {
		case err := <-ch:
			if !errors.Is(err, protocol.ErrNotConnected) {
				t.Errorf("%s: %v, want ErrNotConnected", name, err)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s still waiting", name)
		}
	}
	if _, err := recvOrEnd(st); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Messages Recv: %v, want ErrNotConnected", err)
	}
	if _, err := ps.Recv(); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Presences Recv: %v, want ErrNotConnected", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}
