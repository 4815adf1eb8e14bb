package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// fakeTx is an INVITE server transaction that records the responses.
type fakeTx struct {
	mu       sync.Mutex
	sent     []*gosip.Response
	onCancel gosip.FnTxCancel
	done     chan struct{}
	once     sync.Once
}

func newFakeTx() *fakeTx { return &fakeTx{done: make(chan struct{})} }

func (f *fakeTx) Respond(r *gosip.Response) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, r)
	return nil
}
func (f *fakeTx) Acks() <-chan *gosip.Request { return nil }
func (f *fakeTx) OnCancel(fn gosip.FnTxCancel) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onCancel = fn
	return true
}
func (f *fakeTx) Terminate()                           { f.once.Do(func() { close(f.done) }) }
func (f *fakeTx) OnTerminate(gosip.FnTxTerminate) bool { return true }
func (f *fakeTx) Done() <-chan struct{}                { return f.done }
func (f *fakeTx) Err() error                           { return nil }
func (f *fakeTx) cancel()                              { f.mu.Lock(); fn := f.onCancel; f.mu.Unlock(); fn(nil) }
func (f *fakeTx) statuses() (out []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.sent {
		out = append(out, r.StatusCode)
	}
	return out
}
func (f *fakeTx) last() *gosip.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[len(f.sent)-1]
}

const fakeInvite = "INVITE sip:dave@example.test SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-%s\r\n" +
	"From: <sip:alice@example.test>;tag=a1\r\n" +
	"To: <sip:dave@example.test>\r\n" +
	"Call-ID: %s\r\n" +
	"CSeq: 2 INVITE\r\n" +
	"Call-Info:   <xmpp:alice@example.test> ;purpose=impp\r\n" +
	"Max-Forwards: 69\r\n" +
	"Content-Length: 0\r\n\r\n"

func parseInvite(t *testing.T, raw string) *gosip.Request {
	t.Helper()
	m, err := gosip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*gosip.Request)
	req.SetTransport("UDP")
	req.SetSource("127.0.0.1:5060")
	return req
}

// offlineSession is a session whose proxy (127.0.0.1:5060 over UDP) is never contacted.
func offlineSession(t *testing.T) *session {
	t.Helper()
	s, err := New(testLogger(t)).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:dave@example.test", Password: "x", Server: "sip:127.0.0.1:5060;transport=udp", Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s.(*session)
}

// incomingCall runs handleIncoming for one INVITE as sipgo would (in its own goroutine)
// and returns the transaction and a channel closed when the handler returns.
func incomingCall(s *session, req *gosip.Request) (*fakeTx, chan struct{}) {
	tx := newFakeTx()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.handleIncoming(req, tx)
	}()
	return tx, done
}

func waitClosed(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still waiting after 5 s", what)
	}
}

func recvWithin(t *testing.T, st protocol.Stream[protocol.IncomingCall], d time.Duration) protocol.IncomingCall {
	t.Helper()
	type r struct {
		ic  protocol.IncomingCall
		err error
	}
	ch := make(chan r, 1)
	go func() { ic, err := st.Recv(); ch <- r{ic, err} }()
	select {
	case x := <-ch:
		if x.err != nil {
			t.Fatalf("Recv: %v", x.err)
		}
		return x.ic
	case <-time.After(d):
		t.Fatalf("no incoming call within %s", d)
	}
	return protocol.IncomingCall{}
}

// TestIncomingOffline: the receive path without a network: 100 Trying at once, fan-out to
// every stream with the datagram as received in Raw, one To tag for 180 and the final
// answer, Respond's error contract, CANCEL, and 480 when nobody listens or the last
// stream closes.
func TestIncomingOffline(t *testing.T) {
	s := offlineSession(t)
	ctx := context.Background()

	t.Run("no stream: 480 as before", func(t *testing.T) {
		tx, done := incomingCall(s, parseInvite(t, fmt.Sprintf(fakeInvite, "n1", "none@x")))
		waitClosed(t, done, "handler")
		if got := tx.statuses(); len(got) != 1 || got[0] != 480 {
			t.Errorf("sent %v, want [480]", got)
		}
	})

	a, err := s.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("fan-out, raw, respond", func(t *testing.T) {
		raw := fmt.Sprintf(fakeInvite, "r1", "busy@x")
		s.in.recordRaw([]byte(raw))
		tx, done := incomingCall(s, parseInvite(t, raw))
		ia, ib := recvWithin(t, a, time.Second), recvWithin(t, b, time.Second)
		if ia.CallID != "busy@x" || ib.CallID != "busy@x" || string(ia.Raw) != raw || !ia.ViaProxy || ia.Source != "127.0.0.1:5060" {
			t.Errorf("delivered %+v / %+v", ia, ib)
		}
		for _, c := range []struct {
			status int
			want   error
		}{{200, protocol.ErrUnsupported}, {100, protocol.ErrInvalid}, {700, protocol.ErrInvalid}} {
			if err := s.Respond(ctx, "busy@x", c.status, ""); !errors.Is(err, c.want) {
				t.Errorf("Respond %d: %v, want %v", c.status, err, c.want)
			}
		}
		if err := s.Respond(ctx, "busy@x", 486, "Busy\r\nX: y"); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("reason with CRLF: %v", err)
		}
		if err := s.Respond(ctx, "busy@x", 180, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Respond(ctx, "busy@x", 486, ""); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, done, "handler")
		if err := s.Respond(ctx, "busy@x", 603, ""); !errors.Is(err, protocol.ErrNotFound) {
			t.Errorf("second final answer: %v, want ErrNotFound", err)
		}
		if got := tx.statuses(); len(got) != 3 || got[0] != 100 || got[1] != 180 || got[2] != 486 {
			t.Fatalf("sent %v, want [100 180 486]", got)
		}
		tag180, _ := tx.sent[1].To().Params.Get("tag")
		tag486, _ := tx.sent[2].To().Params.Get("tag")
		if tag180 == "" || tag180 != tag486 || tx.sent[2].Reason != "Busy Here" {
			t.Errorf("To tags %q / %q (RFC 3261 §8.2.6.2: one tag), reason %q", tag180, tag486, tx.sent[2].Reason)
		}
	})

	t.Run("raw falls back to sipgo's text", func(t *testing.T) {
		tx, done := incomingCall(s, parseInvite(t, fmt.Sprintf(fakeInvite, "f1", "tcp@x")))
		ic := recvWithin(t, a, time.Second)
		recvWithin(t, b, time.Second)
		if !bytes.Contains(ic.Raw, []byte("Call-ID: tcp@x\r\n")) || !bytes.HasPrefix(ic.Raw, []byte("INVITE sip:dave@example.test SIP/2.0\r\n")) {
			t.Errorf("Raw = %q", ic.Raw)
		}
		_ = s.Respond(ctx, "tcp@x", 603, "")
		waitClosed(t, done, "handler")
		if got := tx.last().StatusCode; got != 603 {
			t.Errorf("final %d", got)
		}
	})

	t.Run("cancel forgets the call", func(t *testing.T) {
		tx, done := incomingCall(s, parseInvite(t, fmt.Sprintf(fakeInvite, "c1", "cancel@x")))
		recvWithin(t, a, time.Second)
		recvWithin(t, b, time.Second)
		tx.cancel()
		waitClosed(t, done, "handler")
		if err := s.Respond(ctx, "cancel@x", 486, ""); !errors.Is(err, protocol.ErrNotFound) {
			t.Errorf("Respond after CANCEL: %v, want ErrNotFound", err)
		}
		if got := tx.statuses(); len(got) != 1 {
			t.Errorf("sent %v, want only the 100 (sipgo sends the 487)", got)
		}
	})

	t.Run("slow reader never blocks and is told what it missed", func(t *testing.T) {
		var txs []*fakeTx
		for i := range incomingBuffer + 3 {
			id := fmt.Sprintf("slow%d@x", i)
			tx, _ := incomingCall(s, parseInvite(t, fmt.Sprintf(fakeInvite, id, id)))
			txs = append(txs, tx)
			// a keeps up, b does not read at all
			recvWithin(t, a, time.Second)
		}
		sb := b.(*callStream)
		deadline := time.Now().Add(2 * time.Second)
		for sb.dropped.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := sb.dropped.Load(); n != 3 {
			t.Errorf("dropped %d, want 3", n)
		}
		// Nothing is dropped silently: b's next Recv is the report of the
		// three calls it never got, before the buffered ones; the report and
		// the buffered calls hold every call once. (Calls are delivered from
		// their own goroutines, so which three did not fit varies.)
		rep, err := b.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if rep.Missed != 3 || rep.CallID != "" || len(rep.MissedCallIDs) != 3 {
			t.Fatalf("report = missed %d ids %v call %q, want 3, three ids and no call", rep.Missed, rep.MissedCallIDs, rep.CallID)
		}
		seen := map[string]int{}
		for _, id := range rep.MissedCallIDs {
			seen[id]++
		}
		// All but one buffered call: the last stays for the Close below.
		for range incomingBuffer - 1 {
			ic, err := b.Recv()
			if err != nil || ic.Missed != 0 || ic.CallID == "" {
				t.Fatalf("buffered call: %q missed %d %v", ic.CallID, ic.Missed, err)
			}
			seen[ic.CallID]++
		}
		if len(seen) != incomingBuffer+2 {
			t.Errorf("report and buffer hold %d distinct calls, want %d", len(seen), incomingBuffer+2)
		}
		for id, n := range seen {
			if n != 1 || !strings.HasPrefix(id, "slow") {
				t.Errorf("call %q seen %d times", id, n)
			}
		}
		// Closing one stream leaves the calls pending for the other.
		_ = b.Close()
		if _, err := b.Recv(); err != nil {
			t.Errorf("Recv after Close: buffered calls first, got %v", err)
		}
		if err := s.Respond(ctx, "slow0@x", 486, ""); err != nil {
			t.Errorf("Respond with a stream left: %v", err)
		}
		// The last stream closing answers the rest 480.
		_ = a.Close()
		for i, tx := range txs[1:] {
			deadline := time.Now().Add(2 * time.Second)
			for tx.last().StatusCode == 100 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := tx.last().StatusCode; got != 480 {
				t.Errorf("call %d: final %d, want 480", i+1, got)
			}
		}
		for {
			if _, err := a.Recv(); err != nil {
				if err != io.EOF {
					t.Errorf("Recv at the end: %v, want io.EOF", err)
				}
				break
			}
		}
	})

	t.Run("closed session", func(t *testing.T) {
		st, err := s.IncomingCalls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close(ctx)
		if _, err := st.Recv(); err != io.EOF {
			t.Errorf("Recv after Close: %v, want io.EOF", err)
		}
		if _, err := s.IncomingCalls(ctx); !errors.Is(err, protocol.ErrNotConnected) {
			t.Errorf("IncomingCalls after Close: %v", err)
		}
	})
}

// TestIncomingCallsThroughKamailio: real INVITEs from sipp through the bed's Kamailio to a
// session registered over UDP, TCP and TLS (Kamailio reuses our connection). The stream
// delivers them as received (two Call-Info lines byte for byte, one without the optional
// space that sipgo's serialisation would add), from the proxy; sipp sees the status given to Respond; a call left unanswered
// gets 480 when the stream closes; a CANCEL ends a ringing call with 487.
func TestIncomingCallsThroughKamailio(t *testing.T) {
	bed := testbed.Shared(t)
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) { incomingThroughKamailio(t, bed, tr) })
	}
}

func incomingThroughKamailio(t *testing.T, bed *testbed.Bed, tr string) {
	user := "inc" + randomToken(4)
	users, err := bed.AddUsers(context.Background(), bed.Domain, user)
	if err != nil {
		t.Fatal(err)
	}
	sess := connect(t, protocol.ConnectRequest{
		Address: "sip:" + user + "@" + bed.Domain, Password: users[user].Password,
		Server: bedServer(bed, tr), CAPEM: readFile(t, bed.CAFile), Timeout: 5 * time.Second,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := sess.Register(ctx, protocol.RegisterRequest{Expires: 120 * time.Second}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	target := "sip:" + user + "@" + bed.Domain
	// Kamailio sends from the address we registered through: the connected
	// UDP socket's peer, or the far end of our TCP/TLS connection.
	proxy := map[string]string{"udp": bed.SIPUDPAddr, "tcp": bed.SIPTCPAddr, "tls": bed.SIPTLSAddr}[tr]

	type outcome struct {
		res testbed.SippInviteResult
		err error
	}
	call := func(opts testbed.SippInviteOptions) <-chan outcome {
		ch := make(chan outcome, 1)
		go func() {
			res, err := bed.SippInvite(ctx, opts)
			ch <- outcome{res, err}
		}()
		return ch
	}
	wait := func(t *testing.T, ch <-chan outcome, want int) testbed.SippInviteResult {
		t.Helper()
		o := <-ch
		if o.err != nil || o.res.Status != want {
			t.Fatalf("sipp: status %d, want %d: %v", o.res.Status, want, o.err)
		}
		return o.res
	}

	st, err := sess.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		from    string
		headers []string
		status  int
	}{
		{"busy with hint", "", []string{"Call-Info: <xmpp:alice@example.test>;purpose=impp", "Call-Info:<https://example.test/alice.png>;purpose=icon"}, 486},
		{"anonymous declined", `"Anonymous" <sip:anonymous@anonymous.invalid>`, []string{"Privacy: id"}, 603},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "inv" + randomToken(6) + "@sipp"
			start := time.Now()
			done := call(testbed.SippInviteOptions{From: "alice", To: target, Headers: c.headers, FromHeader: c.from, ExpectStatus: c.status, CallID: id})
			ic := recvWithin(t, st, 10*time.Second)
			delivered := time.Since(start)
			if ic.CallID != id || !ic.ViaProxy || ic.Source != proxy {
				t.Errorf("delivered call %s from %s (via proxy %v), want %s from %s (via proxy)", ic.CallID, ic.Source, ic.ViaProxy, id, proxy)
			}
			for _, h := range c.headers {
				if !bytes.Contains(ic.Raw, []byte("\r\n"+h+"\r\n")) {
					t.Errorf("Raw lacks %q:\n%s", h, ic.Raw)
				}
			}
			if c.from != "" && !bytes.Contains(ic.Raw, []byte("\r\nFrom: "+c.from+";tag=")) {
				t.Errorf("Raw lacks the From %s:\n%s", c.from, ic.Raw)
			}
			if err := sess.Respond(ctx, id, 180, ""); err != nil {
				t.Fatal(err)
			}
			if err := sess.Respond(ctx, id, c.status, ""); err != nil {
				t.Fatal(err)
			}
			res := wait(t, done, c.status)
			t.Logf("INVITE delivered after %s (sipp start, 407 round trip included); sipp done after %s", delivered.Round(time.Millisecond), res.Elapsed.Round(time.Millisecond))
			if err := sess.Respond(ctx, id, c.status, ""); !errors.Is(err, protocol.ErrNotFound) {
				t.Errorf("second answer: %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("cancel", func(t *testing.T) {
		id := "cxl" + randomToken(6) + "@sipp"
		done := call(testbed.SippInviteOptions{From: "alice", To: target, Cancel: true, CallID: id})
		recvWithin(t, st, 10*time.Second)
		if err := sess.Respond(ctx, id, 180, ""); err != nil {
			t.Fatal(err)
		}
		wait(t, done, 487)
		if err := sess.Respond(ctx, id, 486, ""); !errors.Is(err, protocol.ErrNotFound) {
			t.Errorf("Respond after CANCEL: %v, want ErrNotFound", err)
		}
	})

	t.Run("unanswered, stream closed", func(t *testing.T) {
		id := "una" + randomToken(6) + "@sipp"
		done := call(testbed.SippInviteOptions{From: "alice", To: target, ExpectStatus: 480, CallID: id})
		recvWithin(t, st, 10*time.Second)
		_ = st.Close()
		wait(t, done, 480)
	})

	t.Run("no stream", func(t *testing.T) {
		wait(t, call(testbed.SippInviteOptions{From: "alice", To: target, ExpectStatus: 480}), 480)
	})
}
