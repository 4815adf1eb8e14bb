package sip

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// TestKeepAfterRegistrarRestart: Kamailio restarts and forgets every
// binding (usrloc in memory). The TLS session sees its connection
// closed, reports lost then registered on its IncomingCalls stream and is
// reachable again; the UDP session has nothing to notice, and its next
// refresh (udpRefreshMax, shortened here) makes it reachable again. Before
// the keeper both stayed deaf: calls got 480 until the listener restarted.
func TestKeepAfterRegistrarRestart(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	saved := udpRefreshMax
	udpRefreshMax = 3 * time.Second
	t.Cleanup(func() { udpRefreshMax = saved })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	type listener struct {
		user string
		mu   sync.Mutex
		regs []protocol.RegistrationEvent
	}
	listen := func(user, transport string) *listener {
		l := &listener{user: user}
		s := connect(t, bedRequest(t, bed, user, bedServer(bed, transport)))
		st, err := s.IncomingCalls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Register(ctx, protocol.RegisterRequest{}); err != nil {
			t.Fatalf("%s: %v", transport, err)
		}
		go func() {
			for {
				in, err := st.Recv()
				if err != nil {
					return
				}
				if in.Registration != nil {
					l.mu.Lock()
					l.regs = append(l.regs, *in.Registration)
					l.mu.Unlock()
					continue
				}
				_ = s.Respond(ctx, in.CallID, 486, "")
			}
		}()
		return l
	}
	tls := listen("carol", "tls")
	udp := listen("alice", "udp")
	// reachable polls until a call to l gets its 486 (480: not registered).
	reachable := func(l *listener, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			_, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: "sip:" + l.user + "@" + bed.Domain, ExpectStatus: 486})
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not reachable within %s: %v", l.user, within, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	reachable(tls, 5*time.Second)
	reachable(udp, 5*time.Second)

	start := time.Now()
	if err := bed.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	reachable(tls, 10*time.Second)
	t.Logf("tls: reachable %.1f s after the restart began", time.Since(start).Seconds())
	reachable(udp, 10*time.Second)
	t.Logf("udp: reachable %.1f s after the restart began", time.Since(start).Seconds())

	tls.mu.Lock()
	defer tls.mu.Unlock()
	var states []string
	for _, ev := range tls.regs {
		states = append(states, ev.State+"("+ev.Reason+")")
	}
	got := strings.Join(states, " ")
	if len(tls.regs) < 2 || tls.regs[0].State != protocol.RegistrationLost || tls.regs[0].Reason != "connection closed" ||
		tls.regs[len(tls.regs)-1].State != protocol.RegistrationRestored || tls.regs[len(tls.regs)-1].Transport != "tls" {
		t.Errorf("tls stream reported %q, want lost (connection closed) … registered", got)
	}
	t.Logf("tls stream: %s", got)
}

// TestKeepHungRegistrar: Kamailio freezes (SIGSTOP: the TCP connection
// stays open and the kernel acknowledges data, but nothing is answered).
// The TCP session, whose server answered its first CRLF keep-alive, finds
// the next one unanswered (RFC 5626 §4.4.1), reports the registration
// lost, and registers again once Kamailio thaws. Before, nothing was
// noticed until the refresh, half an hour later by default.
func TestKeepHungRegistrar(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	savedEvery, savedPong := keepAliveEvery, pongTimeout
	keepAliveEvery = func() time.Duration { return 2 * time.Second }
	pongTimeout = 2 * time.Second
	t.Cleanup(func() { keepAliveEvery, pongTimeout = savedEvery, savedPong })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	req := bedRequest(t, bed, "bob", bedServer(bed, "tcp"))
	req.Timeout = 2 * time.Second
	s := connect(t, req)
	st, err := s.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	events := make(chan protocol.RegistrationEvent, 64)
	go func() {
		for {
			in, err := st.Recv()
			if err != nil {
				return
			}
			if in.Registration != nil {
				events <- *in.Registration
				continue
			}
			_ = s.Respond(ctx, in.CallID, 486, "")
		}
	}()
	next := func(what string, within time.Duration) protocol.RegistrationEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(within):
			t.Fatalf("no %s event within %s", what, within)
		}
		return protocol.RegistrationEvent{}
	}
	// Let the first ping be answered: only then is the server held to it.
	time.Sleep(3 * time.Second)
	if err := bed.PauseKamailio(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = bed.ResumeKamailio()
		}
	})
	paused := time.Now()
	ev := next("lost", 15*time.Second)
	if ev.State != protocol.RegistrationLost || !strings.Contains(ev.Reason, "no answer to a keep-alive") {
		t.Fatalf("got %+v, want lost for an unanswered keep-alive", ev)
	}
	t.Logf("lost %.1f s after the server hung: %s", time.Since(paused).Seconds(), ev.Reason)
	if err := bed.ResumeKamailio(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	for {
		ev = next("registered", 30*time.Second)
		if ev.State == protocol.RegistrationRestored {
			break
		}
		t.Logf("%s: %s", ev.State, ev.Reason)
	}
	t.Logf("registered again after %.1f s", ev.Down.Seconds())
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "alice", To: "sip:bob@" + bed.Domain, ExpectStatus: 486}); err != nil {
		t.Fatalf("not reachable after registering again: %v", err)
	}
}
