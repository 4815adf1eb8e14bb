package call

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
)

// held is a call the test holds: its first events are streamed, then the
// stream waits for Hangup (and ends with afterHangup) or fails with endErr.
type held struct {
	first       []protocol.CallEvent
	afterHangup protocol.CallEvent
	endErr      error

	reached chan struct{} // closed once the command took every first event
	hung    chan string   // Hangup → the stream

	mu      sync.Mutex
	hungIDs []string // the call IDs given to Hangup
}

func (h *held) hangups() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hungIDs...)
}

const heldID = "held-1"

func newHeld(first []protocol.CallEvent, afterHangup protocol.CallEvent, endErr error) *held {
	return &held{first: first, afterHangup: afterHangup, endErr: endErr, reached: make(chan struct{}), hung: make(chan string, 4)}
}

type heldStream struct {
	h         *held
	i         int
	closeOnce sync.Once
	closed    chan struct{}
}

func (s *heldStream) Recv() (protocol.CallEvent, error) {
	if s.i < len(s.h.first) {
		ev := s.h.first[s.i]
		ev.CallID = heldID
		s.i++
		return ev, nil
	}
	if s.i == len(s.h.first) {
		// The reader is back for more: the command has the last event.
		s.i++
		close(s.h.reached)
	}
	if s.h.endErr != nil {
		return protocol.CallEvent{}, s.h.endErr
	}
	select {
	case <-s.h.hung:
		ev := s.h.afterHangup
		ev.CallID, ev.Final = heldID, true
		s.h.endErr = io.EOF // the stream ends after the final event
		return ev, nil
	case <-s.closed:
		return protocol.CallEvent{}, io.EOF
	}
}

func (s *heldStream) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// heldBackend dials heldTarget as the held call, anything else through
// the fake (with digestDial's password check).
type heldBackend struct {
	digestDial
	h *held
}

const heldTarget = "sip:carol@example.com"

func (b heldBackend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := b.digestDial.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return heldSession{s, b.h}, nil
}

type heldSession struct {
	protocol.TelephonySession
	h *held
}

func (s heldSession) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	if req.Target != heldTarget {
		return s.TelephonySession.Dial(ctx, req)
	}
	return &heldStream{h: s.h, closed: make(chan struct{})}, nil
}

func (s heldSession) Hangup(_ context.Context, callID string) error {
	s.h.mu.Lock()
	s.h.hungIDs = append(s.h.hungIDs, callID)
	s.h.mu.Unlock()
	select {
	case s.h.hung <- callID:
	default: // a second Hangup: the first one ends the call
	}
	return nil
}

// callHeld runs `cusax call heldTarget args…` against h; when ctrlC, it
// cancels the Factory's context (Ctrl-C) once the command has the first
// events.
func callHeld(t *testing.T, h *held, ctrlC bool, args ...string) cmdtest.Result {
	t.Helper()
	e := newEnv(t, nil)
	e.Source.Telephony["sip"] = heldBackend{digestDial{e.Service.Telephony()}, h}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e.Factory.Context = ctx
	done := make(chan cmdtest.Result, 1)
	go func() { done <- e.Run(newCmd, append([]string{heldTarget}, args...)...) }()
	if ctrlC {
		select {
		case <-h.reached:
		case r := <-done:
			t.Fatalf("the call ended early: exit %d: %v", r.Code, r.Err)
		case <-time.After(10 * time.Second):
			t.Fatal("the call never got its first events")
		}
		cancel()
	}
	select {
	case r := <-done:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("cusax call still running")
		return cmdtest.Result{}
	}
}

// TestCallCtrlC: Ctrl-C hangs the call up (CANCEL while ringing, BYE once
// answered: the backend's Hangup with the call's ID) and the final report
// still arrives: ringing → interrupted (130); answered → answered (0, the
// user ending an answered call is success).
func TestCallCtrlC(t *testing.T) {
	t.Run("while ringing", func(t *testing.T) {
		h := newHeld([]protocol.CallEvent{ringing}, protocol.CallEvent{StatusCode: 487, Reason: "Request Terminated"}, nil)
		r := callHeld(t, h, true, "--json")
		if r.Code != cmdutil.ExitInterrupted {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		var o outcome
		if err := json.Unmarshal([]byte(r.Stdout), &o); err != nil || o.Result != "interrupted" || o.StatusCode != 487 || o.ExitCode != 130 {
			t.Errorf("outcome %+v (%v)", o, err)
		}
		if ids := h.hangups(); len(ids) != 1 || ids[0] != heldID || !strings.Contains(r.Stderr, "cusax: hanging up…") {
			t.Errorf("hung up %q; stderr %q", ids, r.Stderr)
		}
		if !strings.Contains(r.Err.Error(), "hung up before the answer (487 Request Terminated)") {
			t.Errorf("error %v", r.Err)
		}
	})
	t.Run("answered", func(t *testing.T) {
		bye := ended
		h := newHeld([]protocol.CallEvent{ringing, answered}, bye, nil)
		r := callHeld(t, h, true)
		if r.Code != cmdutil.ExitOK {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		if ids := h.hangups(); len(ids) != 1 || ids[0] != heldID || !strings.HasPrefix(r.Stdout, "answered\t") {
			t.Errorf("hung up %q; stdout %q", ids, r.Stdout)
		}
	})
}

// TestCallStreamFails: the backend's call stream failing before the final
// report (a crashed plugin, a dropped connection) is an error with its
// exit code, not a hang or a made-up outcome.
func TestCallStreamFails(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		code int
		msg  string
	}{
		"connection dropped": {fmt.Errorf("sip: %w", protocol.ErrNotConnected), cmdutil.ExitNetwork, "call " + heldTarget + ": sip: "},
		"stream ends early":  {io.EOF, cmdutil.ExitFailure, "the call ended without a final report"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHeld([]protocol.CallEvent{ringing}, protocol.CallEvent{}, tc.err)
			r := callHeld(t, h, false, "--json")
			if r.Code != tc.code || !strings.Contains(r.Err.Error(), tc.msg) || r.Stdout != "" {
				t.Errorf("exit %d: %v; stdout %q", r.Code, r.Err, r.Stdout)
			}
			if !errors.Is(tc.err, io.EOF) && !errors.Is(r.Err, tc.err) {
				t.Errorf("%v does not wrap %v", r.Err, tc.err)
			}
		})
	}
}

var _ protocol.Telephony = heldBackend{}
