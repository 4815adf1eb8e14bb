package sip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	ev, err := events.Recv()
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
