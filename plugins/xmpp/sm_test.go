package xmpp

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// h counts stanzas handled in order (XEP-0198 §4): it stops at the first
// one still pending, whatever was handled after it.
func TestSMAcksInOrder(t *testing.T) {
	m := newSMAcks(true)
	p1, p2, p3 := m.arrive(), m.arrive(), m.arrive()
	if m.h() != 0 {
		t.Fatalf("h = %d before anything was handled", m.h())
	}
	m.done(p3)
	if m.h() != 0 {
		t.Errorf("h = %d: moved over pending stanzas", m.h())
	}
	if !m.done(p1) || m.h() != 1 {
		t.Errorf("h = %d after the first was handled, want 1", m.h())
	}
	m.counted() // a 4th, handled at once, behind the pending 2nd
	if m.h() != 1 {
		t.Errorf("h = %d, want 1", m.h())
	}
	if !m.done(p2) || m.h() != 4 {
		t.Errorf("h = %d once all were handled, want 4", m.h())
	}
	if m.done(p2) {
		t.Error("a second done moved h")
	}
}

var reAck = regexp.MustCompile(`<a\b[^>]*\bh=["'](\d+)["']`)

func expectAck(t *testing.T, c *fakeConn) int {
	t.Helper()
	m := c.expectRe(reAck)
	if m == nil {
		t.Fatal("no <a/> from the client")
	}
	h, _ := strconv.Atoi(m[1])
	return h
}

// Against a server that enables stream management: the client answers <r/>
// with an h that stops before a message its consumer has not acknowledged,
// and tells the server on its own once the consumer acknowledged it.
func TestFakeSMAckedMessages(t *testing.T) {
	s, c := newFakeSessionSM(t, true)
	if !s.sm.enabled {
		t.Fatal("stream management not enabled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.AckedMessages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.send(`<presence from='bob@example.test/x'/>`) // 1: handled at once
	c.send(`<message type='chat' from='bob@example.test/x'><body>one</body></message>`)
	c.send(`<message type='chat' from='bob@example.test/x'><body>two</body></message>`)
	c.send(`<iq type='get' id='p1' from='example.test'><ping xmlns='urn:xmpp:ping'/></iq>`) // 4
	m1, m2 := recvMessage(t, st), recvMessage(t, st)
	if m1.Body != "one" || m2.Body != "two" || m1.Seq != 2 || m2.Seq != 3 {
		t.Fatalf("messages %+v %+v", m1, m2)
	}
	c.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	if h := expectAck(t, c); h != 1 {
		t.Errorf("h = %d while messages 2 and 3 are not acknowledged, want 1", h)
	}
	if err := s.AckMessage(ctx, m2.Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.AckMessage(ctx, m1.Seq); err != nil {
		t.Fatal(err)
	}
	if h := expectAck(t, c); h != 4 {
		t.Errorf("h = %d after both were acknowledged, want 4", h)
	}
}

// Without stream management there is nothing to acknowledge with:
// AckedMessages says so (the host then warns and uses Messages).
func TestFakeNoSM(t *testing.T) {
	s, _ := newFakeSession(t)
	if _, err := s.AckedMessages(context.Background()); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("AckedMessages without SM: %v, want ErrUnsupported", err)
	}
	found := false
	for _, n := range s.Report().Notes {
		found = found || n == noteNoSM
	}
	if !found {
		t.Errorf("report notes %q lack %q", s.Report().Notes, noteNoSM)
	}
}

// A chat message that no stream took (nobody listening) is not
// acknowledged: the server keeps it for the next session instead of it
// being lost here. A message an unacknowledged stream (Messages) took is
// handled at once.
func TestFakeSMUntakenMessage(t *testing.T) {
	s, c := newFakeSessionSM(t, true)
	c.send(`<message type='chat' from='bob@example.test/x'><body>nobody reads</body></message>`)
	c.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	if h := expectAck(t, c); h != 0 {
		t.Errorf("h = %d with an untaken message, want 0", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.send(`<message type='groupchat' from='room@muc.example.test/bob'><body>room</body></message>`)
	if m := recvMessage(t, st); m.Body != "room" {
		t.Errorf("message %+v", m)
	}
	c.send(`<r xmlns='urn:xmpp:sm:3'/>`)
	if h := expectAck(t, c); h != 0 {
		t.Errorf("h = %d, want 0: the first message still holds it", h)
	}
}
