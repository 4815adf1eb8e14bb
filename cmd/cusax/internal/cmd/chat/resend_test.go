package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// reconnectFixture is a reconnector on a logged-in fake session whose
// sleeps are counted, not slept; onSleep runs at each (1-based).
type reconnectFixture struct {
	e      *cmdtest.Env
	rc     *reconnector
	errOut *bytes.Buffer
	sleeps []time.Duration
}

func newReconnect(t *testing.T, giveUp time.Duration, onSleep func(n int)) *reconnectFixture {
	t.Helper()
	e := newEnv(t)
	acct, err := e.Factory.Account("")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.Factory.OpenChat(acct, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := &reconnectFixture{e: e, errOut: &bytes.Buffer{}}
	x.rc = &reconnector{
		sess: sess, giveUp: giveUp, errOut: x.errOut, account: acct.XMPP.JID,
		open: func() (*session.ChatSession, error) { return e.Factory.OpenChat(acct, 0) },
		sleep: func(ctx context.Context, d time.Duration) error {
			x.sleeps = append(x.sleeps, d)
			if onSleep != nil {
				onSleep(len(x.sleeps))
			}
			return ctx.Err()
		},
	}
	t.Cleanup(func() { x.rc.sess.Shutdown() })
	return x
}

// failOnce is a send that fails its first call with err, then sends.
func failOnce(err error) (send func(*session.ChatSession, string) error, calls *int) {
	n := 0
	return func(s *session.ChatSession, body string) error {
		n++
		if n == 1 {
			return fmt.Errorf("send: %w", err)
		}
		return s.Send(context.Background(), protocol.Message{To: cmdtest.BobJID, Type: "chat", Body: body})
	}, &n
}

// The connection drops; the first login again fails (server still down),
// the second works: the line is sent once, on the new session, and stderr
// tells the story.
func TestReconnectResendsTheFailedLine(t *testing.T) {
	var x *reconnectFixture
	x = newReconnect(t, time.Minute, func(n int) {
		if n == 2 { // the server is back
			x.e.Service.FailConnect(cmdtest.AliceJID, nil)
		}
	})
	old := x.rc.sess
	x.e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrUnreachable)
	send, calls := failOnce(protocol.ErrNotConnected)
	if err := x.rc.send(context.Background(), "the line", send); err != nil {
		t.Fatalf("%v\nstderr: %s", err, x.errOut)
	}
	if got := bodies(x.e.Service); len(got) != 1 || got[0] != "the line" {
		t.Fatalf("sent %q, want the line once", got)
	}
	if *calls != 2 || len(x.sleeps) != 2 || x.rc.sess == old {
		t.Errorf("sends %d, sleeps %v, new session %v", *calls, x.sleeps, x.rc.sess != old)
	}
	// Backoff: the first wait is 0.25–0.5 s, then it doubles (jittered).
	if x.sleeps[0] < reconnectFirst/2 || x.sleeps[0] > reconnectFirst || x.sleeps[1] < reconnectFirst || x.sleeps[1] > 2*reconnectFirst {
		t.Errorf("waits %v", x.sleeps)
	}
	for _, want := range []string{
		"cusax: chat: connection of alice@example.com lost",
		"logging in again failed (",
		"attempt 1",
		"logged in again after",
		"the line that failed was sent again",
	} {
		if !strings.Contains(x.errOut.String(), want) {
			t.Errorf("stderr %q, want %q", x.errOut, want)
		}
	}
	// One session open: the dropped one was shut down.
	if n := x.e.Service.Open(); n != 1 {
		t.Errorf("%d sessions open, want 1", n)
	}
}

// A room sender joins the room again on the new session before sending.
func TestReconnectRejoinsTheRoom(t *testing.T) {
	x := newReconnect(t, time.Minute, nil)
	const room = "dev@conference.example.com"
	join := protocol.RoomJoin{Room: room, Nick: "alice"}
	if _, err := x.rc.sess.JoinRoom(context.Background(), join); err != nil {
		t.Fatal(err)
	}
	x.rc.rejoin = &join
	n := 0
	send := func(s *session.ChatSession, body string) error {
		if n++; n == 1 {
			return protocol.ErrNotConnected
		}
		return s.Send(context.Background(), protocol.Message{To: room, Type: "groupchat", Body: body})
	}
	if err := x.rc.send(context.Background(), "back", send); err != nil {
		t.Fatalf("%v (the fake refuses a groupchat from a non-occupant)", err)
	}
	if got := bodies(x.e.Service); len(got) != 1 || got[0] != "back" {
		t.Fatalf("sent %q", got)
	}
}

func TestReconnectGivesUp(t *testing.T) {
	x := newReconnect(t, time.Nanosecond, nil)
	x.e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrUnreachable)
	send, _ := failOnce(protocol.ErrNotConnected)
	err := x.rc.send(context.Background(), "lost line", send)
	if cmdutil.ExitCode(err) != cmdutil.ExitNetwork || !strings.Contains(err.Error(), "giving up (--give-up-after 1ns)") {
		t.Fatalf("exit %d: %v", cmdutil.ExitCode(err), err)
	}
	if len(x.e.Service.Sent()) != 0 {
		t.Errorf("sent %q", bodies(x.e.Service))
	}
}

// Errors that logging in again cannot cure are returned at once.
func TestReconnectNoRetry(t *testing.T) {
	t.Run("refused message", func(t *testing.T) {
		x := newReconnect(t, time.Minute, nil)
		send, calls := failOnce(protocol.ErrDenied)
		err := x.rc.send(context.Background(), "x", send)
		if !errors.Is(err, protocol.ErrDenied) || *calls != 1 || len(x.sleeps) != 0 {
			t.Fatalf("%v after %d sends, %d sleeps", err, *calls, len(x.sleeps))
		}
	})
	t.Run("credentials refused on login again", func(t *testing.T) {
		x := newReconnect(t, time.Minute, nil)
		x.e.Service.FailConnect(cmdtest.AliceJID, fmt.Errorf("not authorized: %w", protocol.ErrAuth))
		send, calls := failOnce(protocol.ErrNotConnected)
		err := x.rc.send(context.Background(), "x", send)
		if cmdutil.ExitCode(err) != cmdutil.ExitAuth || *calls != 1 || len(x.sleeps) != 1 {
			t.Fatalf("%v after %d sends, %d sleeps", err, *calls, len(x.sleeps))
		}
	})
	t.Run("interrupted while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		x := newReconnect(t, time.Minute, func(int) { cancel() })
		x.e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrUnreachable)
		send, _ := failOnce(protocol.ErrNotConnected)
		err := x.rc.send(ctx, "x", send)
		if cmdutil.ExitCode(err) != cmdutil.ExitInterrupted {
			t.Fatalf("exit %d: %v", cmdutil.ExitCode(err), err)
		}
	})
}

// However long the server stays away, no wait between attempts exceeds
// reconnectMax (8 s): a client is back within 10 s of the server (issue
// 17), and the jitter keeps each wait in its upper half.
func TestReconnectBackoffCeiling(t *testing.T) {
	var x *reconnectFixture
	x = newReconnect(t, 0, func(n int) {
		if n == 12 { // the server is back after a long outage
			x.e.Service.FailConnect(cmdtest.AliceJID, nil)
		}
	})
	x.e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrUnreachable)
	send, _ := failOnce(protocol.ErrNotConnected)
	if err := x.rc.send(context.Background(), "late line", send); err != nil {
		t.Fatal(err)
	}
	if len(x.sleeps) != 12 {
		t.Fatalf("%d waits, want 12: %v", len(x.sleeps), x.sleeps)
	}
	for i, d := range x.sleeps {
		ceiling := min(reconnectMax, reconnectFirst<<i)
		if d < ceiling/2 || d > ceiling {
			t.Errorf("wait %d = %s, want %s..%s", i+1, d, ceiling/2, ceiling)
		}
	}
	if reconnectMax > 8*time.Second {
		t.Errorf("reconnectMax %s: a client could come back more than 10 s after the server", reconnectMax)
	}
}
