package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
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
	out      *bytes.Buffer
	mu       sync.Mutex
	acked    []uint64
	printed  []int
	connects atomic.Int32
	// openFails, when set, is what AckedMessages returns on the first
	// session (the connection dropped while the listener set up).
	openFails error
}

func (a *ackedIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := a.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	a.connects.Add(1)
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
	if s.a.openFails != nil && s.a.connects.Load() == 1 {
		return nil, s.a.openFails
	}
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

// waitPresences waits until n presences were announced (the listener is
// logged in again after a drop).
func waitPresences(t *testing.T, svc *fake.Service, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(svc.Presences()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d presences announced, want %d", len(svc.Presences()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A connection that drops while listening is restored (issue 17): the
// listener logs in again, announces presence again, says both on stderr,
// and goes on counting toward --count. A message printed before the drop
// and delivered again (delayed, same sender, id and body) is not printed
// twice; a delayed message is marked "delayed" in --json.
func TestChatListenReconnects(t *testing.T) {
	e := newEnv(t)
	e.Source.IMPP["xmpp"] = &ackedIMPP{IMPP: e.Service.IMPP(), end: fmt.Errorf("stream closed: %w", protocol.ErrNotConnected)}
	wait := runAsync(e, "--listen", "--json", "--count", "3", "--include-delayed")
	waitListening(t, e.Service)
	from := cmdtest.BobJID + "/phone"
	e.Service.Deliver(protocol.Message{ID: "m1", From: from, To: cmdtest.AliceJID, Body: "before"})
	deliver(t, e.Service, cmdtest.BobJID, "DROP")
	waitPresences(t, e.Service, 2)
	sent := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, m := range []protocol.Message{
		{ID: "m1", Body: "before", Delay: sent}, // the server's copy: printed already
		{ID: "m1", Body: "before"},              // live, not delayed: a new message
		{ID: "m2", Body: "stored", Delay: sent},
	} {
		m.From, m.To = from, cmdtest.AliceJID
		if n := e.Service.Deliver(m); n != 1 {
			t.Fatalf("delivered to %d sessions, want 1 (the old one is closed)", n)
		}
	}
	r := wait()
	mustOK(t, r)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var m listenJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		got = append(got, fmt.Sprintf("%s delayed=%v delay=%v", m.Body, m.Delayed, m.DelayedAt != nil && m.DelayedAt.Equal(sent)))
	}
	want := []string{"before delayed=false delay=false", "before delayed=false delay=false", "stored delayed=true delay=true"}
	if !slices.Equal(got, want) {
		t.Errorf("printed %q, want %q", got, want)
	}
	for _, w := range []string{
		"cusax: chat: connection of alice@example.com lost (",
		"; logging in again",
		"cusax: chat: connection of alice@example.com restored; listening again after ",
		"cusax: chat: message m1 from bob@example.com/phone was delivered again after the reconnect",
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
	if n := e.Service.Open(); n != 0 {
		t.Errorf("%d sessions left open", n)
	}
}

// A connection lost after the login but before the listener listened
// (opening the stream, announcing presence) is recovered like a later
// drop, not an exit 7: the CI run where the network went down in that
// window under load showed it.
func TestChatListenRecoversDropDuringSetup(t *testing.T) {
	e := newEnv(t)
	a := &ackedIMPP{IMPP: e.Service.IMPP(), openFails: fmt.Errorf("stream ended: %w", protocol.ErrNotConnected)}
	e.Source.IMPP["xmpp"] = a
	wait := runAsync(e, "--listen", "--json", "--count", "1")
	waitListening(t, e.Service)
	deliver(t, e.Service, cmdtest.BobJID, "after-setup")
	r := wait()
	mustOK(t, r)
	if !strings.Contains(r.Stdout, `"after-setup"`) {
		t.Errorf("stdout lacks the message: %q", r.Stdout)
	}
	if got := a.connects.Load(); got != 2 {
		t.Errorf("%d logins, want 2", got)
	}
	for _, w := range []string{
		"cusax: chat: connection of alice@example.com lost (stream ended: not connected); logging in again",
		"cusax: chat: connection of alice@example.com restored; listening",
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
	if n := e.Service.Open(); n != 0 {
		t.Errorf("%d sessions left open", n)
	}
}

// A room listener joins the room again on the new session (its stream
// open before the join, so the room's history is not missed) and prints
// the room's messages from then on; it announces no presence of its own.
func TestChatListenRoomRejoins(t *testing.T) {
	e := newEnv(t)
	acked := &ackedIMPP{IMPP: e.Service.IMPP(), end: fmt.Errorf("stream closed: %w", protocol.ErrNotConnected)}
	e.Source.IMPP["xmpp"] = acked
	const room = "dev@conference.example.com"
	wait := runAsync(e, "--room", room, "--listen", "--json", "--count", "2")
	msg := func(body string) protocol.Message {
		return protocol.Message{From: room + "/bob", To: cmdtest.AliceJID, Type: "groupchat", Body: body}
	}
	// The listener is in the room once a delivery reaches a session.
	waitDelivered := func(m protocol.Message) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for e.Service.Deliver(m) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%q reached no session", m.Body)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitDelivered(msg("first"))
	e.Service.Deliver(protocol.Message{From: cmdtest.BobJID, To: cmdtest.AliceJID, Body: "DROP"})
	// Logged in again: the old session is closed before the new one opens.
	deadline := time.Now().Add(10 * time.Second)
	for acked.connects.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("not logged in again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitDelivered(msg("second"))
	r := wait()
	mustOK(t, r)
	if !strings.Contains(r.Stdout, `"body":"first"`) || !strings.Contains(r.Stdout, `"body":"second"`) {
		t.Errorf("stdout %q", r.Stdout)
	}
	if n := len(e.Service.Presences()); n != 0 {
		t.Errorf("%d presences announced by a room listener", n)
	}
	if !strings.Contains(r.Stderr, "restored; listening again after") {
		t.Errorf("stderr %q", r.Stderr)
	}
}

// When the server stays away, --give-up-after bounds the reconnecting:
// exit 7 (network) with one line that says so; --timeout still ends the
// run while reconnecting, as "no results" (exit 0).
func TestChatListenGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"give-up-after", []string{"--give-up-after", "1s"}, cmdutil.ExitNetwork, "giving up (--give-up-after 1s)"},
		{"timeout", []string{"--give-up-after", "0", "--listen-for", "1500ms"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.Source.IMPP["xmpp"] = &ackedIMPP{IMPP: e.Service.IMPP(), end: fmt.Errorf("stream closed: %w", protocol.ErrNotConnected)}
			wait := runAsync(e, append([]string{"--listen", "--json"}, tc.args...)...)
			waitListening(t, e.Service)
			e.Service.FailConnect(cmdtest.AliceJID, fmt.Errorf("connection refused: %w", protocol.ErrUnreachable))
			deliver(t, e.Service, cmdtest.BobJID, "before", "DROP")
			r := wait()
			if r.Code != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s", r.Code, r.Err, tc.code, r.Stderr)
			}
			if tc.want != "" && (!strings.Contains(r.Err.Error(), tc.want) || !strings.HasPrefix(r.Err.Error(), "listen: ") || strings.Contains(r.Err.Error(), "\n")) {
				t.Errorf("error %q, want one line with %q", r.Err, tc.want)
			}
			if !strings.Contains(r.Stderr, "logging in again failed (") || !strings.Contains(r.Stdout, `"body":"before"`) {
				t.Errorf("stdout %q\nstderr %s", r.Stdout, r.Stderr)
			}
		})
	}
}

// deafIMPP's first session has a connection that died silently: its
// DiscoInfo never gets an answer (the stream never ends either).
type deafIMPP struct {
	protocol.IMPP
	mu sync.Mutex
	n  int
}

func (d *deafIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := d.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n++; d.n == 1 {
		return deafSession{s}, nil
	}
	return s, nil
}

type deafSession struct{ protocol.IMPPSession }

func (deafSession) DiscoInfo(ctx context.Context, _, _ string) (protocol.DiscoInfo, error) {
	<-ctx.Done()
	return protocol.DiscoInfo{}, ctx.Err()
}

// A connection that died without a word (no FIN: a link down) is noticed
// by the idle probe: no answer within probeTimeout means lost, and the
// listener logs in again and prints what comes next.
func TestChatListenProbeNoticesSilentDrop(t *testing.T) {
	oldEvery, oldTimeout := probeEvery, probeTimeout
	probeEvery, probeTimeout = 50*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { probeEvery, probeTimeout = oldEvery, oldTimeout })
	e := newEnv(t)
	e.Source.IMPP["xmpp"] = &deafIMPP{IMPP: e.Service.IMPP()}
	wait := runAsync(e, "--listen", "--json", "--count", "1")
	waitListening(t, e.Service)
	waitPresences(t, e.Service, 2)
	deliver(t, e.Service, cmdtest.BobJID, "after")
	r := wait()
	mustOK(t, r)
	if !strings.Contains(r.Stdout, `"body":"after"`) {
		t.Errorf("stdout %q", r.Stdout)
	}
	for _, w := range []string{"lost (no answer from the server for 100ms: timed out); logging in again", "listening again after "} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
}

// The window of printed messages is bounded and keyed by sender, id (the
// XEP-0359 one when there is one) and body; a message without id is never
// taken for a copy.
func TestSeenWindow(t *testing.T) {
	var w seenWindow
	d := time.Now()
	m := func(id, from, body string) protocol.Message {
		return protocol.Message{ID: id, From: from, Body: body, Delay: d}
	}
	w.add(m("a", "bob@x/1", "hi"))
	w.add(m("", "bob@x/1", "no id"))
	w.add(protocol.Message{ID: "live-id", StableID: "S1", From: "bob@x/1", Body: "sid"})
	for _, tc := range []struct {
		m    protocol.Message
		want bool
	}{
		{m("a", "BOB@x/2", "hi"), true},
		{m("a", "carol@x/1", "hi"), false},
		{m("a", "bob@x/1", "other text"), false},
		{m("", "bob@x/1", "no id"), false},
		{protocol.Message{ID: "a", From: "bob@x/1", Body: "hi"}, false}, // not delayed
		// XEP-0359: the stable id decides, whatever the 'id' attribute.
		{protocol.Message{ID: "stored-id", StableID: "S1", From: "bob@x/2", Body: "sid", Delay: d}, true},
		{protocol.Message{ID: "live-id", StableID: "S2", From: "bob@x/2", Body: "sid", Delay: d}, false},
	} {
		if got := w.again(tc.m); got != tc.want {
			t.Errorf("again(%+v) = %v, want %v", tc.m, got, tc.want)
		}
	}
	for i := range seenMax {
		w.add(m(fmt.Sprint(i), "bob@x", "x"))
	}
	if w.again(m("a", "bob@x/1", "hi")) || len(w.keys) != seenMax || len(w.order) != seenMax {
		t.Errorf("the window holds %d keys, %d in order; the oldest is still there: %v", len(w.keys), len(w.order), w.again(m("a", "bob@x/1", "hi")))
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
