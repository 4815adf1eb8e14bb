package cusaxv1

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// subIMPP hands out sessions that manage subscriptions and publish
// activities.
type subIMPP struct {
	fakeIMPP
	sess *subSession
}

func (f *subIMPP) Connect(context.Context, protocol.ConnectRequest) (protocol.IMPPSession, error) {
	return f.sess, nil
}

type subSession struct {
	fakeSession
	mu    sync.Mutex
	calls []string
}

func (s *subSession) note(c string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *subSession) Subscribe(_ context.Context, jid string) error {
	if jid == "bad" {
		return fmt.Errorf("jid %q: %w", jid, protocol.ErrInvalid)
	}
	s.note("subscribe " + jid)
	return nil
}

func (s *subSession) ApproveSubscription(_ context.Context, jid string) error {
	s.note("approve " + jid)
	return nil
}

func (s *subSession) KnownPresences(context.Context) (protocol.PresenceSnapshot, error) {
	return protocol.PresenceSnapshot{Online: true, Presences: []protocol.Presence{{From: "bob@b/x", Show: "dnd", Status: "on the phone", Priority: -1}}}, nil
}

func (s *subSession) PublishActivity(_ context.Context, a protocol.Activity) error {
	s.note(fmt.Sprintf("activity %s/%s %q", a.General, a.Specific, a.Text))
	return nil
}

// Subscription requests, approvals and activities reach the plugin's
// session unchanged, and its errors come back as the same sentinels.
func TestPresenceExtrasCrossTheWire(t *testing.T) {
	impl := &subIMPP{sess: &subSession{}}
	host := dispenseIMPP(t, impl)
	ctx := context.Background()
	sess, err := host.Connect(ctx, protocol.ConnectRequest{Address: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	ps, ok := sess.(protocol.PresenceSubscriber)
	if !ok {
		t.Fatal("the host session is not a PresenceSubscriber")
	}
	ap, ok := sess.(protocol.ActivityPublisher)
	if !ok {
		t.Fatal("the host session is not an ActivityPublisher")
	}
	if err := ps.Subscribe(ctx, "bob@b"); err != nil {
		t.Fatal(err)
	}
	if err := ps.ApproveSubscription(ctx, "carol@b"); err != nil {
		t.Fatal(err)
	}
	if err := ap.PublishActivity(ctx, protocol.Activity{General: "talking", Specific: "on_the_phone", Text: "call"}); err != nil {
		t.Fatal(err)
	}
	if err := ap.PublishActivity(ctx, protocol.Activity{}); err != nil {
		t.Fatal(err)
	}
	snap, err := sess.(protocol.PresenceView).KnownPresences(ctx)
	if err != nil || !snap.Online || len(snap.Presences) != 1 || snap.Presences[0].From != "bob@b/x" ||
		snap.Presences[0].Show != "dnd" || snap.Presences[0].Status != "on the phone" || snap.Presences[0].Priority != -1 {
		t.Errorf("KnownPresences = %+v, %v", snap, err)
	}
	if err := ps.Subscribe(ctx, "bad"); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("Subscribe(bad): %v, want ErrInvalid", err)
	}
	impl.sess.mu.Lock()
	defer impl.sess.mu.Unlock()
	want := []string{"subscribe bob@b", "approve carol@b", `activity talking/on_the_phone "call"`, `activity / ""`}
	if fmt.Sprint(impl.sess.calls) != fmt.Sprint(want) {
		t.Errorf("plugin saw %q, want %q", impl.sess.calls, want)
	}
}

// A backend without these features (or an older plugin) answers
// ErrUnsupported.
func TestPresenceExtrasUnsupported(t *testing.T) {
	host := dispenseIMPP(t, &fakeIMPP{})
	ctx := context.Background()
	sess, err := host.Connect(ctx, protocol.ConnectRequest{Address: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.(protocol.PresenceSubscriber).Subscribe(ctx, "bob@b"); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("Subscribe: %v, want ErrUnsupported", err)
	}
	if err := sess.(protocol.PresenceSubscriber).ApproveSubscription(ctx, "bob@b"); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("ApproveSubscription: %v, want ErrUnsupported", err)
	}
	if _, err := sess.(protocol.PresenceView).KnownPresences(ctx); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("KnownPresences: %v, want ErrUnsupported", err)
	}
	if err := sess.(protocol.ActivityPublisher).PublishActivity(ctx, protocol.Activity{General: "talking"}); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("PublishActivity: %v, want ErrUnsupported", err)
	}
}
