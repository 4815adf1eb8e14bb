package oncall_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/oncall"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

func service() *fake.Service {
	return fake.NewService(
		fake.Account{Address: "alice@example.com", Password: "pa",
			Roster: []protocol.RosterItem{{JID: "bob@example.com", Subscription: "both"}}},
		fake.Account{Address: "bob@example.com", Password: "pb",
			Roster: []protocol.RosterItem{{JID: "alice@example.com", Subscription: "both"}}},
	)
}

// opener logs alice in through b, counting the closes.
func opener(b protocol.IMPP, closed *int, mu *sync.Mutex, own bool, restore *protocol.Presence) func(context.Context) (oncall.Session, error) {
	return func(ctx context.Context) (oncall.Session, error) {
		s, err := b.Connect(ctx, protocol.ConnectRequest{Address: "alice@example.com", Password: "pa"})
		if err != nil {
			return oncall.Session{}, err
		}
		info, _ := b.Info(ctx)
		return oncall.Session{IMPP: s, Info: info, Own: own, Restore: restore, Close: func() {
			_ = s.Close(context.Background())
			mu.Lock()
			*closed++
			mu.Unlock()
		}}, nil
	}
}

// settled waits (bounded) until the tracker applied n things.
func settled(t *testing.T, tr *oncall.Tracker, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(tr.Applied()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("applied %v, want %d things", tr.Applied(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type notes struct {
	mu sync.Mutex
	l  []string
}

func (n *notes) add(s string) { n.mu.Lock(); n.l = append(n.l, s); n.mu.Unlock() }
func (n *notes) all() string  { n.mu.Lock(); defer n.mu.Unlock(); return strings.Join(n.l, "\n") }

func TestUpDownOwnSession(t *testing.T) {
	svc := service()
	var mu sync.Mutex
	closed := 0
	var n notes
	tr := oncall.Start(context.Background(), opener(svc.IMPP(), &closed, &mu, true, nil), oncall.Options{Note: n.add})
	tr.Up()
	settled(t, tr, 2)
	tr.Down()
	tr.Close(10 * time.Second)
	want := "[activity talking/on_the_phone presence dnd activity retracted]"
	if got := fmt.Sprint(tr.Applied()); got != want {
		t.Errorf("applied %s, want %s (notes: %s)", got, want, n.all())
	}
	ps := svc.Presences()
	// Own session: priority -1 (RFC 6121 §8.5.2.1.1: no offline messages
	// to it), and no restore: its logout says unavailable.
	if len(ps) != 1 || ps[0].Show != "dnd" || ps[0].Status != oncall.Status || ps[0].Priority != -1 {
		t.Errorf("presences %+v", ps)
	}
	acts := svc.Activities()
	if len(acts) != 2 || acts[0].Activity != oncall.OnThePhone || acts[1].Activity != (protocol.Activity{}) {
		t.Errorf("activities %+v", acts)
	}
	if closed != 1 || svc.Open() != 0 {
		t.Errorf("closed %d, open %d", closed, svc.Open())
	}
}

func TestRestoreBorrowedSession(t *testing.T) {
	svc := service()
	var mu sync.Mutex
	closed := 0
	restore := protocol.Presence{Show: "away", Status: "lunch"}
	tr := oncall.Start(context.Background(), opener(svc.IMPP(), &closed, &mu, false, &restore), oncall.Options{})
	tr.Up()
	settled(t, tr, 2)
	tr.Close(10 * time.Second) // still up: Close ends it
	ps := svc.Presences()
	if len(ps) != 2 || ps[0].Show != "dnd" || ps[0].Priority != 0 || ps[1].Show != "away" || ps[1].Status != "lunch" {
		t.Errorf("presences %+v", ps)
	}
}

// Two calls at once (answer --concurrency) are one span: dnd once, back
// only when both ended; a call that ended before the session opened
// changes nothing.
func TestOverlappingCalls(t *testing.T) {
	svc := service()
	var mu sync.Mutex
	closed := 0
	restore := protocol.Presence{Type: "unavailable"}
	tr := oncall.Start(context.Background(), opener(svc.IMPP(), &closed, &mu, true, &restore), oncall.Options{})
	tr.Up()
	settled(t, tr, 2)
	tr.Up()
	tr.Down()
	time.Sleep(20 * time.Millisecond) // nothing must happen: one call is still up
	if got := len(tr.Applied()); got != 2 {
		t.Fatalf("after one of two calls ended: applied %v", tr.Applied())
	}
	tr.Down()
	settled(t, tr, 4)
	tr.Up()
	settled(t, tr, 6)
	tr.Down()
	tr.Close(10 * time.Second)
	want := "[activity talking/on_the_phone presence dnd activity retracted presence restored activity talking/on_the_phone presence dnd activity retracted presence restored]"
	if got := fmt.Sprint(tr.Applied()); got != want {
		t.Errorf("applied\n%s, want\n%s", got, want)
	}
	ps := svc.Presences()
	if len(ps) != 4 || ps[1].Type != "unavailable" || ps[2].Show != "dnd" {
		t.Errorf("presences %+v", ps)
	}
}

// A call never answered changes nothing.
func TestNotAnswered(t *testing.T) {
	svc := service()
	var mu sync.Mutex
	closed := 0
	tr := oncall.Start(context.Background(), opener(svc.IMPP(), &closed, &mu, false, nil), oncall.Options{})
	tr.Down()
	tr.Close(10 * time.Second)
	if len(svc.Presences()) != 0 || len(svc.Activities()) != 0 || closed != 1 {
		t.Errorf("presences %+v activities %+v closed %d", svc.Presences(), svc.Activities(), closed)
	}
}

// Without the activity capability: presence only, no error.
func TestNoActivityCapability(t *testing.T) {
	svc := service()
	var mu sync.Mutex
	closed := 0
	b := svc.IMPP(protocol.CapLogin, protocol.CapPresence)
	tr := oncall.Start(context.Background(), opener(b, &closed, &mu, true, nil), oncall.Options{})
	tr.Up()
	settled(t, tr, 1)
	tr.Down()
	tr.Close(10 * time.Second)
	if got := fmt.Sprint(tr.Applied()); got != "[presence dnd]" {
		t.Errorf("applied %s", got)
	}
}

// The chat aspect failing to open is a note; the call goes on.
func TestOpenFails(t *testing.T) {
	var n notes
	tr := oncall.Start(context.Background(), func(context.Context) (oncall.Session, error) {
		return oncall.Session{}, fmt.Errorf("chat: %w", protocol.ErrAuth)
	}, oncall.Options{Note: n.add})
	tr.Up()
	tr.Down()
	tr.Close(10 * time.Second)
	if !strings.Contains(n.all(), "contacts will not see the call") {
		t.Errorf("notes %q", n.all())
	}
}

// hangIMPP is a server that never answers presence updates.
type hangSession struct {
	protocol.UnsupportedIMPPSession
}

func (hangSession) Report() protocol.ConnectionReport { return protocol.ConnectionReport{} }
func (hangSession) SetPresence(ctx context.Context, _ protocol.Presence) error {
	<-ctx.Done()
	return fmt.Errorf("presence: %w", protocol.ErrTimeout)
}
func (hangSession) Close(context.Context) error { return nil }

// A server that does not answer costs at most the bounds: the update
// times out (a note) and Close returns.
func TestHungServerIsBounded(t *testing.T) {
	var n notes
	tr := oncall.Start(context.Background(), func(context.Context) (oncall.Session, error) {
		return oncall.Session{IMPP: hangSession{}, Info: protocol.Info{Capabilities: []protocol.Capability{protocol.CapPresence}}}, nil
	}, oncall.Options{Timeout: 50 * time.Millisecond, Note: n.add})
	tr.Up()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(n.all(), "presence dnd") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	tr.Down()
	tr.Close(5 * time.Second)
	if !strings.Contains(n.all(), "presence: presence dnd") || len(tr.Applied()) != 0 {
		t.Errorf("notes %q", n.all())
	}
}

// A session that hangs in Connect: Close gives up after its wait, with a
// note, and does not hang.
func TestHungOpenCloseGivesUp(t *testing.T) {
	var n notes
	release := make(chan struct{})
	defer close(release)
	tr := oncall.Start(context.Background(), func(ctx context.Context) (oncall.Session, error) {
		<-release
		return oncall.Session{}, errors.New("released")
	}, oncall.Options{Note: n.add})
	tr.Up()
	tr.Close(50 * time.Millisecond)
	if !strings.Contains(n.all(), "not restored within") {
		t.Errorf("notes %q", n.all())
	}
}
