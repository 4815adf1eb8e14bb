package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestRoster(t *testing.T) {
	f := newFixture(t)
	s := f.connect(t, f.req("alice")).(*session)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	carol := jid.MustParse(f.bed.JID("carol"))
	if err := roster.Set(ctx, s.s, roster.Item{JID: carol, Name: "Carol C.", Group: []string{"friends"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = roster.Delete(context.Background(), s.s, carol) })

	items, err := s.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(items, func(it protocol.RosterItem) bool { return it.JID == carol.String() })
	if i < 0 {
		t.Fatalf("roster %+v has no %s", items, carol)
	}
	if it := items[i]; it.Name != "Carol C." || it.Subscription != "none" || !slices.Equal(it.Groups, []string{"friends"}) {
		t.Errorf("item = %+v", it)
	}
}

func TestSend(t *testing.T) {
	f := newFixture(t)
	got := make(chan chatMessage, 1)
	bobBackend := New(testLogger(t))
	bobBackend.extraHandlers = []mux.Option{mux.MessageFunc(stanza.ChatMessage, xml.Name{Local: "body"},
		func(_ stanza.Message, r xmlstream.TokenReadEncoder) error {
			var m chatMessage
			if err := xml.NewTokenDecoder(r).Decode(&m); err == nil {
				got <- m
			}
			return nil
		})}
	bobReq := f.req("bob")
	bobReq.Resource = "recv"
	bob, err := bobBackend.Connect(context.Background(), bobReq)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close(context.Background())

	alice := f.connect(t, f.req("alice"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// To the full JID: a bare JID without an available presence would go
	// to offline storage (RFC 6121 §8.5.2.1.1).
	if err := alice.Send(ctx, protocol.Message{To: bob.Report().Address, Body: "hello from cusax", Thread: "t1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Body != "hello from cusax" || m.Thread != "t1" || !strings.HasPrefix(m.From.String(), "alice@example.test/") {
			t.Errorf("bob got %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("bob got nothing")
	}

	// RFC 6121 §8.5.2.2.1 / §8.5.1: no such account → the server bounces.
	err = alice.Send(ctx, protocol.Message{To: "nobody@example.test", Body: "hi"})
	t.Log(err)
	if !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("send to an unknown user: %v, want ErrNotFound", err)
	}
	if err := alice.Send(ctx, protocol.Message{To: "bob@example.test", Type: "bogus"}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("bad type: %v, want ErrInvalid", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	f := newFixture(t)
	s, err := f.b.Connect(context.Background(), f.req("carol"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		if err := s.Close(context.Background()); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, err := s.Roster(context.Background()); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Roster after Close: %v, want ErrNotConnected", err)
	}
	if _, err := s.VCard(context.Background(), ""); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("VCard: %v, want ErrUnsupported", err)
	}
}
