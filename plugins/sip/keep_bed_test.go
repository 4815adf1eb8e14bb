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
