package sip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// TestAnswerOffline: Answer's errors before the stream leave the call
// pending for Respond (a bad request costs no call), an unknown call is
// ErrNotFound, and an INVITE without an SDP offer is refused with 488 and
// a final event.
func TestAnswerOffline(t *testing.T) {
	s := offlineSession(t)
	ctx := context.Background()
	st, err := s.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	existing := filepath.Join(dir, "taken.wav")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Answer(ctx, protocol.AnswerRequest{CallID: "nobody@x"}); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("Answer of an unknown call: %v, want ErrNotFound", err)
	}
	tx, done := incomingCall(s, parseInvite(t, fmt.Sprintf(fakeInvite, "a1", "bad@x")))
	recvWithin(t, st, time.Second)
	for name, req := range map[string]protocol.AnswerRequest{
		"until not a digit":  {Until: "x"},
		"dtmf not a digit":   {SendDTMF: "12\r\n"},
		"negative ring":      {Ring: -time.Second},
		"missing play file":  {PlayFile: filepath.Join(dir, "none.wav")},
		"existing recording": {RecordFile: existing},
		"no call ID":         {CallID: "-"},
	} {
		if req.CallID == "-" {
			req.CallID = ""
		} else {
			req.CallID = "bad@x"
		}
		if _, err := s.Answer(ctx, req); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Errorf("existing file now %q", b)
	}
	if err := s.Respond(ctx, "bad@x", 486, ""); err != nil {
		t.Fatalf("the call was taken by a refused Answer: %v", err)
	}
	waitClosed(t, done, "handler")
	if got := tx.statuses(); len(got) != 2 || got[1] != 486 {
		t.Errorf("sent %v, want [100 486]", got)
	}

	tx, done = incomingCall(s, parseInvite(t, fmt.Sprintf(fakeInvite, "a2", "nosdp@x")))
	recvWithin(t, st, time.Second)
	events, err := s.Answer(ctx, protocol.AnswerRequest{CallID: "nosdp@x"})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := recvEventWithin(t, events, 5*time.Second)
	if err != nil || !ev.Final || ev.StatusCode != 488 || ev.Answered || ev.HungUpBy != protocol.HungUpByError {
		t.Errorf("event %+v, %v; want a final 488", ev, err)
	}
	waitClosed(t, done, "handler")
	if got := tx.statuses(); len(got) != 2 || got[1] != 488 {
		t.Errorf("sent %v, want [100 488]", got)
	}
	if err := s.Respond(ctx, "nosdp@x", 486, ""); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("Respond after Answer: %v, want ErrNotFound", err)
	}
}

// TestAnswerCloseWhileRinging: Close ends a call Answer took and is still
// ringing (480, a final event from the host), as it does answered ones.
func TestAnswerCloseWhileRinging(t *testing.T) {
	s := offlineSession(t)
	ctx := context.Background()
	st, err := s.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	raw := strings.Replace(fmt.Sprintf(fakeInvite, "r1", "ring@x"), "Content-Length: 0\r\n\r\n",
		fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp), 1)
	tx, done := incomingCall(s, parseInvite(t, raw))
	recvWithin(t, st, time.Second)
	events, err := s.Answer(ctx, protocol.AnswerRequest{CallID: "ring@x", Ring: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := recvEventWithin(t, events, 5*time.Second); err != nil || ev.Kind != protocol.AnswerRinging {
		t.Fatalf("first event %+v, %v; want ringing", ev, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	ev, err := recvEventWithin(t, events, 15*time.Second)
	if err != nil || !ev.Final || ev.HungUpBy != protocol.HungUpByHost || ev.Answered {
		t.Errorf("event %+v, %v; want a final one from the host", ev, err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Logf("Close: %v (no registrar here)", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not return")
	}
	waitClosed(t, done, "handler")
	if got := tx.statuses(); len(got) != 3 || got[1] != 180 || got[2] != 480 {
		t.Errorf("sent %v, want [100 180 480]", got)
	}
}

// recvEventWithin is events.Recv bounded by d (the test fails after).
func recvEventWithin(t *testing.T, events protocol.Stream[protocol.AnswerEvent], d time.Duration) (protocol.AnswerEvent, error) {
	t.Helper()
	type r struct {
		ev  protocol.AnswerEvent
		err error
	}
	ch := make(chan r, 1)
	go func() { ev, err := events.Recv(); ch <- r{ev, err} }()
	select {
	case x := <-ch:
		return x.ev, x.err
	case <-time.After(d):
		t.Fatalf("no answer event within %s", d)
	}
	return protocol.AnswerEvent{}, nil
}
