package xmpp

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/roster"

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
	if _, err := s.VCard(context.Background(), ""); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("VCard after Close: %v, want ErrNotConnected", err)
	}
	if _, err := s.Messages(context.Background()); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Messages after Close: %v, want ErrNotConnected", err)
	}
}
