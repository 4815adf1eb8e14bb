package sipmessage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbed.StopShared()
	os.Exit(code)
}

// pair adds two fresh SIP users to bed and returns their requests (TLS to
// Kamailio, the bed's CA).
func pair(t *testing.T, bed *testbed.Bed) (a, b protocol.ConnectRequest) {
	t.Helper()
	return pairTB(t, bed)
}

func pairTB(t testing.TB, bed *testbed.Bed) (a, b protocol.ConnectRequest) {
	t.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	tok := hex.EncodeToString(r[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "sma"+tok, "smb"+tok)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	req := func(u string) protocol.ConnectRequest {
		return protocol.ConnectRequest{Address: "sip:" + u + "@" + bed.Domain, Password: users[u].Password,
			Server: "sip:" + bed.SIPTLSAddr + ";transport=tls", CAPEM: ca, Timeout: 10 * time.Second}
	}
	return req("sma" + tok), req("smb" + tok)
}

func connect(t *testing.T, req protocol.ConnectRequest) protocol.IMPPSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := New(nil).Connect(ctx, req)
	if err != nil {
		t.Fatalf("Connect %s: %v", req.Address, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

func send(s protocol.IMPPSession, to, body string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return s.Send(ctx, protocol.Message{To: to, Type: "chat", Body: body})
}

// recv reads one message within d (the stream is closed on timeout).
func recv(t *testing.T, st protocol.Stream[protocol.Message], d time.Duration) (protocol.Message, error) {
	t.Helper()
	type res struct {
		m   protocol.Message
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := st.Recv(); ch <- res{m, err} }()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		_ = st.Close()
		t.Fatalf("no message within %s", d)
	}
	return protocol.Message{}, nil
}

// Nothing received is dropped silently: with no reader the receiver
// answers 480 and the sender is told (ErrUnreachable, status in the
// text); once a stream is open the same message goes through.
func TestNoReaderIsRefusedWith480(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	a, b := connect(t, ra), connect(t, rb)
	err := send(a, rb.Address, "nobody listens")
	if !errors.Is(err, protocol.ErrUnreachable) || !strings.Contains(err.Error(), "480") {
		t.Fatalf("send with no reader: %v, want ErrUnreachable with 480", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := b.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(a, rb.Address, "now someone does"); err != nil {
		t.Fatalf("send with a reader: %v", err)
	}
	if m, err := recv(t, st, 10*time.Second); err != nil || m.Body != "now someone does" || m.From != ra.Address {
		t.Fatalf("received %+v, %v", m, err)
	}
}

// A slow reader: a stream that is never read holds queueLen messages,
// each answered 200; the next is refused with 480 (the sender knows);
// then the reader gets every accepted one, in order.
func TestSlowReaderQueueIsBounded(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	a, b := connect(t, ra), connect(t, rb)
	st, err := b.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range queueLen {
		if err := send(a, rb.Address, fmt.Sprintf("m%d", i)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := send(a, rb.Address, "one too many"); !errors.Is(err, protocol.ErrUnreachable) || !strings.Contains(err.Error(), "480") {
		t.Fatalf("message beyond the queue: %v, want ErrUnreachable with 480", err)
	}
	for i := range queueLen {
		m, err := recv(t, st, 5*time.Second)
		if err != nil || m.Body != fmt.Sprintf("m%d", i) {
			t.Fatalf("read %d: %+v, %v", i, m, err)
		}
	}
}

// RFC 3428 §7: more than 1300 bytes is refused before anything is sent.
func TestTooLargeIsRefusedBeforeSending(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	a, b := connect(t, ra), connect(t, rb)
	st, err := b.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	err = send(a, rb.Address, strings.Repeat("x", maxRequest))
	if !errors.Is(err, protocol.ErrInvalid) || !strings.Contains(err.Error(), "1300") {
		t.Fatalf("oversized send: %v, want ErrInvalid naming 1300", err)
	}
	// The next message is the first the peer sees.
	if err := send(a, rb.Address, "small"); err != nil {
		t.Fatal(err)
	}
	if m, err := recv(t, st, 10*time.Second); err != nil || m.Body != "small" {
		t.Fatalf("received %+v, %v; want only the small one", m, err)
	}
}

// TLS is checked against the SIP domain (RFC 5922): an AOR of another
// domain, or a CA that signed nothing, is refused before the password is
// used.
func TestTLSIdentityAndTrust(t *testing.T) {
	bed := testbed.Shared(t)
	ra, _ := pair(t, bed)
	wrongName := ra
	wrongName.Address = "sip:someone@not-the-bed.test"
	other, err := os.ReadFile(bed.OtherCAFile)
	if err != nil {
		t.Fatal(err)
	}
	wrongCA := ra
	wrongCA.CAPEM = other
	for name, req := range map[string]protocol.ConnectRequest{"wrong domain": wrongName, "unknown CA": wrongCA} {
		t.Run(name, func(t *testing.T) {
			s, err := New(nil).Connect(t.Context(), req)
			if err == nil {
				_ = s.Close(t.Context())
			}
			if !errors.Is(err, protocol.ErrCertificate) {
				t.Fatalf("Connect: %v, want ErrCertificate", err)
			}
		})
	}
}

// A server restart (real Kamailio, its own bed): the session notices the
// closed flow, the stream ends with ErrNotConnected, Send says so too;
// logging in again afterwards works end to end.
func TestKamailioRestartEndsTheSession(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ra, rb := pair(t, bed)
	a, b := connect(t, ra), connect(t, rb)
	st, err := b.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := bed.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := recv(t, st, 10*time.Second); !errors.Is(err, protocol.ErrNotConnected) {
		t.Fatalf("stream after the restart: %v, want ErrNotConnected", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := send(a, rb.Address, "after the restart")
		if errors.Is(err, protocol.ErrNotConnected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("send on the old session: %v, want ErrNotConnected", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a2, b2 := connect(t, ra), connect(t, rb)
	st2, err := b2.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := send(a2, rb.Address, "new session"); err != nil {
		t.Fatalf("send after logging in again: %v", err)
	}
	if m, err := recv(t, st2, 10*time.Second); err != nil || m.Body != "new session" {
		t.Fatalf("received %+v, %v", m, err)
	}
}

// The binding is refreshed before it expires (RFC 3261 §10.2.4): with a
// registrar that grants 12 s, a message 20 s after Connect still arrives,
// and the report shows the lifetime granted, not the one asked for.
func TestRegistrationIsRefreshed(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{SIPMaxExpires: 12})
	ra, rb := pair(t, bed)
	a, b := connect(t, ra), connect(t, rb)
	if got := b.Report().Expires; got != 12*time.Second {
		t.Errorf("report expires %s, want the 12s granted", got)
	}
	st, err := b.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Bounded wait past the granted lifetime: the point is that the
	// binding outlives it, which only a refresh can make true.
	time.Sleep(20 * time.Second)
	if err := send(a, rb.Address, "still registered"); err != nil {
		t.Fatalf("send after the first lifetime: %v", err)
	}
	if m, err := recv(t, st, 10*time.Second); err != nil || m.Body != "still registered" {
		t.Fatalf("received %+v, %v", m, err)
	}
}

// A message to one's own AOR comes back over the same flow while Send
// waits for its answer: it must be taken, not wait for Send to finish.
func TestMessageToSelf(t *testing.T) {
	bed := testbed.Shared(t)
	ra, _ := pair(t, bed)
	a := connect(t, ra)
	st, err := a.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := send(a, ra.Address, "note to self"); err != nil {
		t.Fatalf("send to self: %v", err)
	}
	if m, err := recv(t, st, 10*time.Second); err != nil || m.Body != "note to self" || m.From != ra.Address {
		t.Fatalf("received %+v, %v", m, err)
	}
}

// Over TCP (RFC 3261 §18) the same works; the report says the flow is not
// encrypted, so that the host can warn.
func TestOverTCP(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	ra.Server, rb.Server = "sip:"+bed.SIPTCPAddr+";transport=tcp", "sip:"+bed.SIPTCPAddr+";transport=tcp"
	a, b := connect(t, ra), connect(t, rb)
	if rep := a.Report(); rep.Encrypted || rep.TLS != nil || rep.Transport != "tcp" || len(rep.Notes) == 0 {
		t.Errorf("report %+v, want tcp, not encrypted, with a note", rep)
	}
	st, err := b.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := send(a, rb.Address, "over tcp"); err != nil {
		t.Fatal(err)
	}
	if m, err := recv(t, st, 10*time.Second); err != nil || m.Body != "over tcp" {
		t.Fatalf("received %+v, %v", m, err)
	}
}

// Close removes the binding (RFC 3261 §10.2.2): Kamailio then answers for
// the user itself, 480 Temporarily Unavailable, instead of relaying to a
// flow that is gone.
func TestCloseUnregisters(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	a := connect(t, ra)
	b, err := New(nil).Connect(t.Context(), rb)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	err = send(a, rb.Address, "after close")
	if !errors.Is(err, protocol.ErrUnreachable) || !strings.Contains(err.Error(), "480 Temporarily Unavailable") {
		t.Fatalf("send to a closed session: %v, want the registrar's 480 Temporarily Unavailable", err)
	}
}

// The proxy's MESSAGE challenge is answered ahead on the next MESSAGE
// (nonce-count up by one); credentials the proxy no longer takes (here: a
// nonce it never issued) cost one more challenge, not a failure.
func TestMessageCredentialsAnsweredAhead(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	a, b := connect(t, ra), connect(t, rb)
	st, err := b.Messages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"first", "ahead", "stale"} {
		s := a.(*session)
		if i == 1 && s.msgAuth == nil {
			t.Fatal("no challenge kept after the first MESSAGE")
		}
		if i == 2 {
			s.msgAuth.ch.Nonce = "not-issued-by-the-proxy"
		}
		if err := send(a, rb.Address, body); err != nil {
			t.Fatalf("send %q: %v", body, err)
		}
		if m, err := recv(t, st, 10*time.Second); err != nil || m.Body != body {
			t.Fatalf("received %+v, %v", m, err)
		}
	}
}

// A call forked to this messages-only binding (Kamailio forks to every
// binding of the AOR) is answered 480, which leaves a telephony binding
// free to answer and tells a caller with none "not available" (sipp
// places the call, as another user of the bed).
func TestInviteIsRefusedWith480(t *testing.T) {
	bed := testbed.Shared(t)
	ra, rb := pair(t, bed)
	connect(t, ra)
	caller := strings.TrimPrefix(strings.SplitN(rb.Address, "@", 2)[0], "sip:")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: caller, To: ra.Address, ExpectStatus: 480}); err != nil {
		t.Fatalf("call to a messages-only binding: %v", err)
	}
	// The 480 is ours, not the registrar's for a user without binding:
	// Kamailio logged the INVITE as relayed to our contact.
	callee := strings.TrimPrefix(strings.SplitN(ra.Address, "@", 2)[0], "sip:")
	b, err := os.ReadFile(bed.Dir + "/kamailio/kamailio.log")
	if err != nil || !strings.Contains(string(b), "cusax-testbed: INVITE sip:"+callee+"@127.0.0.1") {
		t.Errorf("Kamailio did not relay the INVITE to the binding (%v)", err)
	}
}
