package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/spf13/cobra"
)

// newCmd builds the command as the root does: a flag that does not parse
// is a usage error (exit 2), as cli/root.go makes it.
func newCmd(f *cmdutil.Factory) *cobra.Command {
	c := NewCmdChat(f, nil)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.Usagef("%v", err) })
	return c
}

func newEnv(t *testing.T) *cmdtest.Env {
	t.Helper()
	return cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
}

func mustOK(t *testing.T, r cmdtest.Result) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
}

// bodies lists the bodies of the messages the service carried.
func bodies(svc *fake.Service) []string {
	var out []string
	for _, m := range svc.Sent() {
		out = append(out, m.Body)
	}
	return out
}

func TestChatSendArgument(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		wantTo string
		note   bool // "not in your roster" on stderr
	}{
		{"roster name", []string{"Bob", "the", "build", "is", "green"}, cmdtest.BobJID, false},
		{"roster name prefix, other case", []string{"bo", "the build is green"}, cmdtest.BobJID, false},
		{"JID", []string{cmdtest.BobJID, "the build is green"}, cmdtest.BobJID, false},
		{"xmpp URI", []string{"xmpp:" + cmdtest.BobJID, "the build is green"}, cmdtest.BobJID, false},
		{"JID outside the roster", []string{"carol@example.com", "the build is green"}, "carol@example.com", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.Run(newCmd, c.args...)
			mustOK(t, r)
			sent := e.Service.Sent()
			if len(sent) != 1 || sent[0].To != c.wantTo || sent[0].Body != "the build is green" || sent[0].Type != "chat" {
				t.Fatalf("sent %+v", sent)
			}
			if r.Stdout != "" {
				t.Errorf("stdout without --json: %q", r.Stdout)
			}
			if got := strings.Contains(r.Stderr, "is not in your roster"); got != c.note {
				t.Errorf("roster note %v, want %v: %q", got, c.note, r.Stderr)
			}
		})
	}
}

func TestChatSendStdin(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString("line one\nline two\n\n")
	r := e.Run(newCmd, "bob")
	mustOK(t, r)
	// All of stdin is one message; the trailing newlines are not part of it.
	if got := bodies(e.Service); len(got) != 1 || got[0] != "line one\nline two" {
		t.Fatalf("sent %q", got)
	}
}

func TestChatSendJSON(t *testing.T) {
	e := newEnv(t)
	r := e.Run(newCmd, "--json", "bob", "hi")
	jsoncheck.Validate(t, r.Stdout)
	mustOK(t, r)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.Stdout)
	}
	if got["to"] != cmdtest.BobJID || got["type"] != "chat" || got["sent"] != float64(1) {
		t.Errorf("JSON %s", r.Stdout)
	}
}

func TestChatLines(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString("first\r\n\n   \nsecond\nthird") // blank lines are skipped; no final newline
	r := e.Run(newCmd, "bob", "--lines", "--json")
	mustOK(t, r)
	if got := strings.Join(bodies(e.Service), "|"); got != "first|second|third" {
		t.Fatalf("sent %q", got)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || got["sent"] != float64(3) {
		t.Errorf("JSON %v: %q, want sent 3", err, r.Stdout)
	}
}

// A message is sent whole or not at all: over the limit (as XML on the
// wire) or not UTF-8 is exit 2 before anything of it went out.
func TestChatRefusedInput(t *testing.T) {
	long := strings.Repeat("a", maxBody+1)
	// Each '<' is 4 bytes on the wire (&lt;): short as text, long as XML.
	escaped := strings.Repeat("<", maxBody/4+1)
	for _, c := range []struct {
		name      string
		args      []string
		stdin     string
		wantSent  int
		wantInErr string
	}{
		{"argument over the limit", []string{"bob", long}, "", 0, "over the 252.0 KiB"},
		{"argument over the limit once escaped", []string{"bob", escaped}, "", 0, "as XML"},
		{"argument not UTF-8", []string{"bob", "caf\xe9"}, "", 0, "byte 4 is 0xe9"},
		{"stdin over the limit", []string{"bob"}, long, 0, "longer than 252.0 KiB"},
		{"stdin not UTF-8", []string{"bob"}, "ok\n\xff\xfe", 0, "not valid UTF-8"},
		{"--lines: first line over the limit", []string{"bob", "--lines"}, long + "\nnext\n", 0, "line 1 is 252.1 KiB"},
		{"--lines: a line far over the limit", []string{"bob", "--lines"}, "ok\n" + long + long + "\nnext\n", 1, "line 2 is 504.1 KiB, over the 252.0 KiB one message may carry"},
		{"--lines: second line not UTF-8", []string{"bob", "--lines"}, "fine\nbad \xc3\x28\nnever\n", 1, "line 2 is not valid UTF-8"},
		{"--lines: second line over the limit once escaped", []string{"bob", "--lines"}, "fine\n" + escaped + "\n", 1, "(1 message before it was sent)"},
		{"empty message", []string{"bob", " "}, "", 0, "nothing to send"},
		{"empty stdin", []string{"bob"}, "", 0, "nothing to send"},
		{"blank stdin", []string{"bob"}, "\n \r\n", 0, "nothing to send"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.In.WriteString(c.stdin)
			r := e.Run(newCmd, c.args...)
			if r.Code != cmdutil.ExitUsage {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitUsage)
			}
			if msg := r.Err.Error(); !strings.Contains(msg, c.wantInErr) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line with %q", msg, c.wantInErr)
			}
			if n := len(e.Service.Sent()); n != c.wantSent {
				t.Errorf("%d message(s) sent, want %d", n, c.wantSent)
			}
		})
	}
}

// The limit itself is allowed: the boundary is exact.
func TestChatLimitExact(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString(strings.Repeat("a", maxBody) + "\n")
	r := e.Run(newCmd, "bob", "--lines")
	mustOK(t, r)
	if got := bodies(e.Service); len(got) != 1 || len(got[0]) != maxBody {
		t.Fatalf("sent %d message(s)", len(got))
	}
}

func TestChatRoom(t *testing.T) {
	e := newEnv(t)
	const room = "dev@conference.example.com"
	r := e.Run(newCmd, "--room", room, "--nick", "al", "deploying")
	mustOK(t, r)
	sent := e.Service.Sent()
	if len(sent) != 1 || sent[0].To != room || sent[0].Type != "groupchat" || sent[0].Body != "deploying" {
		t.Fatalf("sent %+v", sent)
	}
	// The room was left: a second session finds no occupant.
	if e.Service.Open() != 0 {
		t.Errorf("%d session(s) left open", e.Service.Open())
	}
}

func TestChatRoomInfo(t *testing.T) {
	e := newEnv(t)
	r := e.Run(newCmd, "--room", "dev@conference.example.com", "--info")
	mustOK(t, r)
	if !strings.Contains(r.Stdout, "identity\tconference/text\tdev\n") || !strings.Contains(r.Stdout, "feature\thttp://jabber.org/protocol/muc\n") {
		t.Errorf("info %q", r.Stdout)
	}
	r = e.Run(newCmd, "--room", "dev@conference.example.com", "--info", "--json")
	jsoncheck.Validate(t, r.Stdout)
	mustOK(t, r)
	var got struct {
		Features []string `json:"features"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || len(got.Features) != 2 {
		t.Errorf("JSON %v: %s", err, r.Stdout)
	}
	if len(e.Service.Sent()) != 0 {
		t.Errorf("--info sent a message")
	}
}

func TestChatBadFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no target", nil, "name a contact"},
		{"unknown flag", []string{"--bogus", "bob", "hi"}, "unknown flag: --bogus"},
		{"count not a number", []string{"--listen", "--count", "many"}, "invalid argument"},
		{"negative count", []string{"--listen", "--count", "-1"}, "--count must not be negative"},
		{"count without listen", []string{"bob", "--count", "1"}, "go with --listen"},
		{"timeout without listen", []string{"bob", "--listen-for", "1s"}, "go with --listen"},
		{"bad timeout", []string{"--listen", "--listen-for", "soon"}, "invalid argument"},
		{"negative give-up-after", []string{"bob", "--lines", "--give-up-after", "-1s"}, "--give-up-after must not be negative"},
		{"lines with a message", []string{"bob", "--lines", "hi"}, "--lines reads stdin"},
		{"info without room", []string{"bob", "--info"}, "--info needs --room"},
		{"nick without room", []string{"bob", "--nick", "x", "hi"}, "--nick goes with --room"},
		{"unknown account", []string{"--account", "nope", "bob", "hi"}, "nope"},
		{"unknown roster name", []string{"zed", "hi"}, "zed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.Run(newCmd, c.args...)
			if r.Code != cmdutil.ExitUsage {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitUsage)
			}
			if msg := r.Err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line with %q", msg, c.want)
			}
			if len(e.Service.Sent()) != 0 {
				t.Errorf("a message was sent")
			}
		})
	}
}

func TestChatLoginErrors(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		e := cmdtest.New(t, cmdtest.Standard(), map[string]string{"home/xmpp": "hunter2-wrong"}, nil)
		r := e.Run(newCmd, "bob", "hi")
		if r.Code != cmdutil.ExitAuth || !errors.Is(r.Err, protocol.ErrAuth) {
			t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitAuth)
		}
		if strings.Contains(r.Stderr+r.Err.Error(), "hunter2") {
			t.Errorf("the password is in the output")
		}
	})
	for _, c := range []struct {
		name string
		err  error
		code int
	}{
		{"unreachable", protocol.ErrUnreachable, cmdutil.ExitNetwork},
		{"timeout", protocol.ErrTimeout, cmdutil.ExitNetwork},
		{"certificate", protocol.ErrCertificate, cmdutil.ExitTLS},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.Service.FailConnect(cmdtest.AliceJID, c.err)
			r := e.Run(newCmd, "bob", "hi")
			if r.Code != c.code {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, c.code)
			}
			if len(e.Service.Sent()) != 0 {
				t.Errorf("a message was sent")
			}
		})
	}
	t.Run("plugin missing", func(t *testing.T) {
		e := newEnv(t)
		delete(e.Source.IMPP, "xmpp")
		r := e.Run(newCmd, "bob", "hi")
		if r.Code != cmdutil.ExitPlugin {
			t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitPlugin)
		}
	})
}

// runAsync runs the command in the background; wait returns its result.
func runAsync(e *cmdtest.Env, args ...string) (wait func() cmdtest.Result) {
	done := make(chan cmdtest.Result, 1)
	go func() { done <- e.Run(newCmd, args...) }()
	return func() cmdtest.Result {
		e.T.Helper()
		select {
		case r := <-done:
			return r
		case <-time.After(20 * time.Second):
			e.T.Fatal("the command did not return")
			return cmdtest.Result{}
		}
	}
}

// waitListening waits until the command's session is logged in and its
// presence announced (it opens the message stream before that), so that
// what Deliver hands over reaches it.
func waitListening(t *testing.T, svc *fake.Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(svc.Presences()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the listener never announced presence")
		}
		time.Sleep(time.Millisecond)
	}
}

func deliver(t *testing.T, svc *fake.Service, from string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if n := svc.Deliver(protocol.Message{From: from + "/phone", To: cmdtest.AliceJID, Body: b}); n != 1 {
			t.Fatalf("delivered to %d sessions, want 1", n)
		}
	}
}

func TestChatListen(t *testing.T) {
	e := newEnv(t)
	e.Service.Now = func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) }
	wait := runAsync(e, "--listen", "--count", "3")
	waitListening(t, e.Service)
	deliver(t, e.Service, cmdtest.BobJID, "one", "two\tcolumns", "three")
	// After --count the listener may be gone already: not checked.
	e.Service.Deliver(protocol.Message{From: cmdtest.BobJID + "/phone", To: cmdtest.AliceJID, Body: "four"})
	r := wait()
	mustOK(t, r)
	want := "2026-12-07T10:00:00Z\tbob@example.com/phone\tchat\tone\t\n" +
		"2026-12-07T10:00:00Z\tbob@example.com/phone\tchat\ttwo\\tcolumns\t\n" +
		"2026-12-07T10:00:00Z\tbob@example.com/phone\tchat\tthree\t\n"
	if r.Stdout != want {
		t.Errorf("piped output\n%q\nwant\n%q", r.Stdout, want)
	}
	// The listener said it is available (RFC 6121 §8.5.2.1) and sent nothing.
	if p := e.Service.Presences(); len(p) != 1 || p[0].Type != "" {
		t.Errorf("presences %+v", p)
	}
	if len(e.Service.Sent()) != 0 {
		t.Errorf("--listen sent a message")
	}
}

func TestChatListenJSONFiltered(t *testing.T) {
	e := newEnv(t)
	wait := runAsync(e, "bob", "--listen", "--json", "--count", "2")
	waitListening(t, e.Service)
	// Only bob's messages count: carol's are taken but not printed.
	deliver(t, e.Service, "carol@example.com", "not for this listener")
	deliver(t, e.Service, cmdtest.BobJID, "a")
	deliver(t, e.Service, "carol@example.com", "nor this")
	deliver(t, e.Service, strings.ToUpper(cmdtest.BobJID), "b")
	e.Service.Deliver(protocol.Message{From: cmdtest.BobJID, To: cmdtest.AliceJID, Body: "c"}) // after --count
	r := wait()
	jsoncheck.Validate(t, r.Stdout)
	mustOK(t, r)
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), r.Stdout)
	}
	for i, want := range []string{"a", "b"} {
		var m listenJSON
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		if m.Body != want || m.Type != "chat" || m.ReceivedAt.IsZero() || m.DelayedAt != nil {
			t.Errorf("line %d: %+v", i+1, m)
		}
	}
}

func TestChatListenTimeout(t *testing.T) {
	e := newEnv(t)
	// Nothing arrives: --timeout ends it, and no results is not a failure.
	r := e.Run(newCmd, "--listen", "--listen-for", "50ms")
	mustOK(t, r)
	if r.Stdout != "" {
		t.Errorf("stdout %q", r.Stdout)
	}
}

func TestChatListenRoom(t *testing.T) {
	e := newEnv(t)
	const room = "dev@conference.example.com"
	wait := runAsync(e, "--room", room, "--listen", "--count", "1", "--json")
	// A second member of the room speaks once the listener has joined.
	bob := e.Service.IMPP()
	ctx := context.Background()
	bs, err := bob.Connect(ctx, protocol.ConnectRequest{Address: cmdtest.BobJID, Password: cmdtest.BobPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close(ctx)
	if _, err := bs.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "bob"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// A message sent before alice joined would not reach her: wait
		// until she is an occupant (joining again only lists them).
		room, _ := bs.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "bob"})
		if len(room.Occupants) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener never joined the room")
		}
		time.Sleep(time.Millisecond)
	}
	if err := bs.Send(ctx, protocol.Message{To: room, Type: "groupchat", Body: "hello room"}); err != nil {
		t.Fatal(err)
	}
	r := wait()
	mustOK(t, r)
	var m listenJSON
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil || m.Body != "hello room" || m.Type != "groupchat" {
		t.Fatalf("%v: %q", err, r.Stdout)
	}
}

// Ctrl-C cancels the Factory's context: exit 130, the session logged out.
func TestChatListenInterrupted(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.Factory.Context)
	defer cancel()
	e.Factory.Context = ctx
	wait := runAsync(e, "--listen")
	waitListening(t, e.Service)
	cancel()
	r := wait()
	if r.Code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitInterrupted)
	}
	if e.Service.Open() != 0 {
		t.Errorf("%d session(s) left open", e.Service.Open())
	}
}

// A --lines sender whose connection drops logs in again and sends the
// line that failed again: every line arrives once, in order.
func TestChatLinesReconnect(t *testing.T) {
	e := newEnv(t)
	flaky := &flakyIMPP{IMPP: e.Service.IMPP(), failSend: map[string]bool{"two": true}}
	e.Source.IMPP["xmpp"] = flaky
	e.In.WriteString("one\ntwo\nthree\n")
	r := e.Run(newCmd, "bob", "--lines")
	mustOK(t, r)
	if got := strings.Join(bodies(e.Service), "|"); got != "one|two|three" {
		t.Fatalf("sent %q", got)
	}
	if flaky.connects() != 2 {
		t.Errorf("%d logins, want 2", flaky.connects())
	}
	for _, want := range []string{"connection of alice@example.com lost", "the line that failed was sent again"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr %q, want %q", r.Stderr, want)
		}
	}
}

// flakyIMPP wraps a backend: Send of a body in failSend fails once with
// ErrNotConnected, as when the server dropped the connection.
type flakyIMPP struct {
	protocol.IMPP
	mu       sync.Mutex
	failSend map[string]bool
	n        int
}

func (f *flakyIMPP) connects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *flakyIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := f.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return &flakySession{IMPPSession: s, f: f}, nil
}

type flakySession struct {
	protocol.IMPPSession
	f *flakyIMPP
}

func (s *flakySession) Send(ctx context.Context, m protocol.Message) error {
	s.f.mu.Lock()
	fail := s.f.failSend[m.Body]
	delete(s.f.failSend, m.Body)
	s.f.mu.Unlock()
	if fail {
		return fmt.Errorf("send: connection reset: %w", protocol.ErrNotConnected)
	}
	return s.IMPPSession.Send(ctx, m)
}
