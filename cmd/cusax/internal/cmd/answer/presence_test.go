package answer

import (
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/oncall"
	"github.com/cusax/cusax/pkg/protocol"
)

// waitPresences waits (bounded) until n presences were set.
func waitPresences(t *testing.T, svc interface{ Presences() []protocol.Presence }, n int) []protocol.Presence {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps := svc.Presences()
		if len(ps) >= n {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("presences %+v, want %d", ps, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// RFC 7081 §3: while a taken call is up the account is dnd "on the
// phone" (priority -1: the listener's own session takes no offline
// messages) with the XEP-0108 activity; after it, unavailable again, as
// the listener's session was before. One XMPP session serves the judge
// and the presence.
func TestAnswerOnThePhone(t *testing.T) {
	e, b := env(t)
	release := b.Hold("bob-1")
	s := start(t, e, "--json", "--max-calls", "1")
	s.ring(bob("bob-1"))
	ps := waitPresences(t, e.Service, 1)
	if ps[0].Show != "dnd" || ps[0].Status != oncall.Status || ps[0].Priority != -1 {
		t.Errorf("during the call: %+v", ps[0])
	}
	release()
	r := s.wait()
	if r.Code != 0 {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}
	ps = waitPresences(t, e.Service, 2)
	if len(ps) != 2 || ps[1].Type != "unavailable" {
		t.Errorf("after the call: %+v", ps)
	}
	acts := e.Service.Activities()
	if len(acts) != 2 || acts[0].Activity != oncall.OnThePhone || acts[1].Activity != (protocol.Activity{}) {
		t.Errorf("activities %+v", acts)
	}
	n := 0
	for _, st := range e.Source.Started() {
		if st == "impp/xmpp" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("XMPP backend started %d times: %q", n, e.Source.Started())
	}
}

func TestAnswerNoPresence(t *testing.T) {
	e, _ := env(t)
	s := start(t, e, "--json", "--max-calls", "1", "--no-presence")
	s.ring(bob("bob-1"))
	if r := s.wait(); r.Code != 0 {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}
	if ps, as := e.Service.Presences(), e.Service.Activities(); len(ps) != 0 || len(as) != 0 {
		t.Errorf("presences %+v activities %+v", ps, as)
	}
}
