package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
)

// ackedIMPP wraps a backend so that its sessions acknowledge delivery as
// a backend with XEP-0198 stream management does: each message gets a
// Seq, and AckMessage records which ones the consumer took. end, when set,
// is what the stream returns once what was queued is taken (a dropped
// connection: ErrNotConnected).
type ackedIMPP struct {
	protocol.IMPP
	end error
	// out, when set, is the command's stdout: each acknowledgement notes
	// how many lines it held then (AckMessage runs on the goroutine that
	// prints, so reading it there is not a race).
	out     *bytes.Buffer
	mu      sync.Mutex
	acked   []uint64
	printed []int
}

func (a *ackedIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := a.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return &ackedSession{IMPPSession: s, a: a}, nil
}

func (a *ackedIMPP) Acked() []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.acked)
}

type ackedSession struct {
	protocol.IMPPSession
	a *ackedIMPP
}

func (s *ackedSession) AckedMessages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	st, err := s.IMPPSession.Messages(ctx)
	if err != nil {
		return nil, err
	}
	return &seqStream{Stream: st, end: s.a.end}, nil
}

func (s *ackedSession) AckMessage(_ context.Context, seq uint64) error {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	s.a.acked = append(s.a.acked, seq)
	if s.a.out != nil {
		s.a.printed = append(s.a.printed, strings.Count(s.a.out.String(), "\n"))
	}
	return nil
}

// seqStream numbers the messages 1, 2, …; a body "DROP" ends the stream
// with end (the connection dropped there).
type seqStream struct {
	protocol.Stream[protocol.Message]
	end error
	n   uint64
}

func (s *seqStream) Recv() (protocol.Message, error) {
	m, err := s.Stream.Recv()
	if err != nil {
		return m, err
	}
	if m.Body == "DROP" && s.end != nil {
		return protocol.Message{}, s.end
	}
	s.n++
	m.Seq = s.n
	return m, nil
}

// With acknowledgement, a message counts as delivered only once printed:
// after --count, what came later is not acknowledged and stays with the
// server for the next listener (XEP-0198 §4). A message the filter left
// out is taken (acknowledged) without being printed.
func TestChatListenAcksOnlyWhatWasPrinted(t *testing.T) {
	e := newEnv(t)
	acked := &ackedIMPP{IMPP: e.Service.IMPP(), out: e.Out}
	e.Source.IMPP["xmpp"] = acked
	wait := runAsync(e, "bob", "--listen", "--count", "2")
	waitListening(t, e.Service)
	deliver(t, e.Service, "carol@example.com", "left out") // seq 1
	deliver(t, e.Service, cmdtest.BobJID, "one", "two")    // seq 2, 3
	// Never taken (the listener may be gone already: not checked).
	e.Service.Deliver(protocol.Message{From: cmdtest.BobJID, To: cmdtest.AliceJID, Body: "three"})
	r := wait()
	mustOK(t, r)
	if got := strings.Count(r.Stdout, "\n"); got != 2 {
		t.Errorf("%d lines printed, want 2:\n%s", got, r.Stdout)
	}
	if got := acked.Acked(); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("acknowledged %v, want [1 2 3]", got)
	}
	// Each printed message was acknowledged after it was written.
	acked.mu.Lock()
	defer acked.mu.Unlock()
	if !slices.Equal(acked.printed, []int{0, 1, 2}) {
		t.Errorf("lines printed at each acknowledgement %v, want [0 1 2]", acked.printed)
	}
	// With acknowledgement there is no warning about losing messages.
	if strings.Contains(r.Stderr, "no delivery acknowledgement") {
		t.Errorf("stderr %q", r.Stderr)
	}
}

// Without acknowledgement (the fake as it is), stderr says once that
// messages received and not printed are lost if cusax dies.
func TestChatListenWarnsWithoutAcks(t *testing.T) {
	e := newEnv(t)
	wait := runAsync(e, "--listen", "--count", "1")
	waitListening(t, e.Service)
	deliver(t, e.Service, cmdtest.BobJID, "x")
	r := wait()
	mustOK(t, r)
	if strings.Count(r.Stderr, "cusax: warning: no delivery acknowledgement") != 1 {
		t.Errorf("stderr %q", r.Stderr)
	}
}

// A connection that drops while listening exits 7 (network), after
// printing what came before.
func TestChatListenDropped(t *testing.T) {
	e := newEnv(t)
	e.Source.IMPP["xmpp"] = &ackedIMPP{IMPP: e.Service.IMPP(), end: fmt.Errorf("stream closed: %w", protocol.ErrNotConnected)}
	wait := runAsync(e, "--listen", "--json")
	waitListening(t, e.Service)
	deliver(t, e.Service, cmdtest.BobJID, "before", "DROP")
	r := wait()
	if r.Code != cmdutil.ExitNetwork {
		t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitNetwork)
	}
	var m listenJSON
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil || m.Body != "before" {
		t.Errorf("%v: %q", err, r.Stdout)
	}
	if !strings.HasPrefix(r.Err.Error(), "listen: ") || strings.Contains(r.Err.Error(), "\n") {
		t.Errorf("error %q", r.Err)
	}
}

// On a terminal with no message, each line typed is sent and messages from
// the contact are shown; Ctrl-D (end of input) ends it.
func TestChatInteractive(t *testing.T) {
	e := newEnv(t)
	e.IO.SetTTY(true, false, true)
	e.In.WriteString("hello\n\nhow are you?\n")
	r := e.Run(newCmd, "bob")
	mustOK(t, r)
	if got := strings.Join(bodies(e.Service), "|"); got != "hello|how are you?" {
		t.Errorf("sent %q", got)
	}
	if !strings.Contains(r.Stderr, "cusax: chatting with bob@example.com; type a line") {
		t.Errorf("stderr %q", r.Stderr)
	}
}

// The room password is the first line of stdin, never sent as a message
// and never printed; the rest of stdin is the message.
func TestChatRoomPasswordStdin(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString("s3cret-room-pw\nhello room\n")
	r := e.Run(newCmd, "--room", "dev@conference.example.com", "--room-password-stdin")
	mustOK(t, r)
	if got := bodies(e.Service); len(got) != 1 || got[0] != "hello room" {
		t.Errorf("sent %q", got)
	}
	if strings.Contains(r.Stdout+r.Stderr, "s3cret") {
		t.Errorf("the room password was printed")
	}

	e.In.Reset()
	r = e.Run(newCmd, "--room", "dev@conference.example.com", "--room-password-stdin", "hi")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "--room-password-stdin") {
		t.Errorf("empty stdin: exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitUsage)
	}
}

// A room that refuses the join: the backend's error (denied, exit 5),
// nothing sent, nothing left running.
func TestChatRoomJoinRefused(t *testing.T) {
	e := newEnv(t)
	e.Source.IMPP["xmpp"] = &noJoinIMPP{IMPP: e.Service.IMPP()}
	r := e.Run(newCmd, "--room", "dev@conference.example.com", "hi")
	if r.Code != cmdutil.ExitDenied {
		t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitDenied)
	}
	if !strings.Contains(r.Err.Error(), "join dev@conference.example.com") || len(e.Service.Sent()) != 0 {
		t.Errorf("error %q", r.Err)
	}
}

// noJoinIMPP's rooms refuse to be joined (XEP-0045 §7.2.9: members only).
type noJoinIMPP struct{ protocol.IMPP }

func (n *noJoinIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := n.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return &noJoinSession{s}, nil
}

type noJoinSession struct{ protocol.IMPPSession }

func (noJoinSession) JoinRoom(_ context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	return protocol.Room{}, fmt.Errorf("registration-required: %w", protocol.ErrDenied)
}
