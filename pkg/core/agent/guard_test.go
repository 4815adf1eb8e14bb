package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// A backend that panics in a call (it runs in the agent's process) does
// not end the agent: the call fails, the log says so with the stack, the
// aspect starts a new backend and connects again, and the next call works.
func TestBackendPanicRecovered(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	first := f.impp.last.Load()
	// A push, so the lease's Roster reaches the backend.
	waitFor(t, "the roster fetched at connect", func() bool { return f.impp.rosterCalls.Load() == 1 })
	first.pushes.Add(1)
	f.impp.panicky.Store(true)
	if _, err := lease.Roster(ctx); err == nil {
		t.Fatal("Roster on a panicking backend succeeded")
	}
	waitFor(t, "the panic logged", func() bool {
		return strings.Contains(f.log.String(), "backend impp/xmpp panicked: test: roster handler bug")
	})
	waitFor(t, "a new backend session", func() bool { return f.impp.last.Load() != first })
	waitFor(t, "connected again", func() bool { return strings.Contains(f.log.String(), "chat: connected again after") })
	if _, err := lease.Roster(ctx); err != nil {
		t.Fatalf("Roster after the restart: %v\n%s", err, f.log)
	}
	if !strings.Contains(f.log.String(), "guard.go") {
		t.Errorf("no stack in the log:\n%s", f.log)
	}
}

// The roster a lease gets comes from the agent's copy until the session
// accepts a roster push (RFC 6121 §2.1.6); then it is fetched again.
func TestRosterServedFromPushes(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	// Fetched at connect (in the background).
	waitFor(t, "the roster fetched at connect", func() bool { return f.impp.rosterCalls.Load() == 1 })
	for range 3 {
		if _, err := lease.Roster(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.impp.rosterCalls.Load(); n != 1 {
		t.Fatalf("backend asked %d times, want once", n)
	}
	f.impp.last.Load().pushes.Add(1)
	if _, err := lease.Roster(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.impp.rosterCalls.Load(); n != 2 {
		t.Fatalf("after a push: backend asked %d times, want 2", n)
	}
}
