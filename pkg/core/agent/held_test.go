package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// A one-liner started during an outage (issue 17): it asks for its lease
// while the agent reconnects, looks up the roster, then sends. The
// message goes out once, stamped (XEP-0203) with the time it asked, even
// though the outage left it waiting well under a second; a second message
// on the same lease, sent live, is not stamped.
func TestOneLinerDuringOutageStamped(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f.svc.FailConnect(jidAlice, fmt.Errorf("refused: %w", protocol.ErrUnreachable))
	f.impp.drop()
	waitFor(t, "the loss noticed", func() bool { return strings.Contains(f.log.String(), "chat: connection lost") })

	type leased struct {
		s   protocol.IMPPSession
		err error
	}
	got := make(chan leased, 1)
	asked := time.Now()
	go func() {
		s, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
		got <- leased{s, err}
	}()
	time.Sleep(300 * time.Millisecond) // the lease waits for the reconnect
	f.svc.FailConnect(jidAlice, nil)
	l := <-got
	if l.err != nil {
		t.Fatal(l.err)
	}
	if _, err := l.s.Roster(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.s.Send(ctx, protocol.Message{To: "bob@example.test", Body: "held"}); err != nil {
		t.Fatal(err)
	}
	if err := l.s.Send(ctx, protocol.Message{To: "bob@example.test", Body: "live"}); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, m := range f.svc.Sent() {
		n[m.Body]++
		switch m.Body {
		case "held":
			if m.Delay.IsZero() || m.Delay.Sub(asked).Abs() > 200*time.Millisecond {
				t.Errorf("held message: Delay %v, want ≈ %v (when its lease was asked for)", m.Delay, asked)
			}
		case "live":
			if !m.Delay.IsZero() {
				t.Errorf("live message stamped %v", m.Delay)
			}
		}
	}
	if n["held"] != 1 || n["live"] != 1 {
		t.Errorf("sent %v, want each once", n)
	}
}
