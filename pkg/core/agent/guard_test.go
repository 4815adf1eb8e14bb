package agent

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// A backend that panics in a call (it runs in the agent's process) does
// not end the agent: the call fails, the log says so with the stack, the
// aspect starts a new backend and connects again, and the next call works.
func TestBackendPanicRecovered(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	first := f.impp.last.Load()
	// A push, so the lease's Roster reaches the backend.
	waitFor(t, "the roster fetched at connect", func() bool { return f.impp.rosterCalls.Load() == 1 })
	first.pushes.Add(1)
	f.impp.panicky.Store(true)
	if _, err := lease.Roster(ctx); err == nil {
		t.Fatal("Roster on a panicking backend succeeded")
	}
	waitFor(t, "the panic logged", func() bool {
		return strings.Contains(f.log.String(), "backend impp/xmpp panicked: test: roster handler bug")
	})
	waitFor(t, "a new backend session", func() bool { return f.impp.last.Load() != first })
	waitFor(t, "connected again", func() bool { return strings.Contains(f.log.String(), "chat: connected again after") })
	if _, err := lease.Roster(ctx); err != nil {
		t.Fatalf("Roster after the restart: %v\n%s", err, f.log)
	}
	if !strings.Contains(f.log.String(), "guard.go") {
		t.Errorf("no stack in the log:\n%s", f.log)
	}
}

// The roster a lease gets comes from the agent's copy until the session
// accepts a roster push (RFC 6121 §2.1.6); then it is fetched again.
func TestRosterServedFromPushes(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	// Fetched at connect (in the background).
	waitFor(t, "the roster fetched at connect", func() bool { return f.impp.rosterCalls.Load() == 1 })
	for range 3 {
		if _, err := lease.Roster(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.impp.rosterCalls.Load(); n != 1 {
		t.Fatalf("backend asked %d times, want once", n)
	}
	f.impp.last.Load().pushes.Add(1)
	if _, err := lease.Roster(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.impp.rosterCalls.Load(); n != 2 {
		t.Fatalf("after a push: backend asked %d times, want 2", n)
	}
}

// panickyTel makes the next Hangup of its sessions panic.
type panickyTel struct {
	protocol.Telephony
	next atomic.Bool
}

func (p *panickyTel) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := p.Telephony.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return &panickyTelSession{TelephonySession: s, p: p}, nil
}

type panickyTelSession struct {
	protocol.TelephonySession
	p *panickyTel
}

func (s *panickyTelSession) Hangup(ctx context.Context, id string) error {
	if s.p.next.CompareAndSwap(true, false) {
		panic("test: hangup bug")
	}
	return s.TelephonySession.Hangup(ctx, id)
}

// The same for the SIP backend: the lease's call fails, the agent stays,
// a new backend registers again.
func TestTelephonyBackendPanicRecovered(t *testing.T) {
	pt := &panickyTel{}
	f := startWith(t, privateDir(t), func(src *sessiontest.Source) {
		pt.Telephony = src.Telephony["sip"]
		src.Telephony["sip"] = pt
	})
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := cusaxv1.NewTelephonyHost(cc).Connect(ctx, protocol.ConnectRequest{Address: aorAlice})
	if err != nil {
		t.Fatal(err)
	}
	pt.next.Store(true)
	if err := lease.Hangup(ctx, "nosuch"); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("Hangup on a panicking backend: %v", err)
	}
	waitFor(t, "the panic logged", func() bool {
		return strings.Contains(f.log.String(), "backend telephony/sip panicked: test: hangup bug")
	})
	waitFor(t, "registered again", func() bool { return strings.Contains(f.log.String(), "telephony: registered again after") })
	if _, err := lease.Register(ctx, protocol.RegisterRequest{}); err != nil {
		t.Fatalf("Register after the restart: %v", err)
	}
}

// A panic in a socket handler itself fails that call (Internal) and is
// logged; the agent goes on.
func TestHandlerPanicRecovered(t *testing.T) {
	log := &logBuf{}
	a := &Agent{opts: Options{Log: log.add}}
	_, err := a.recoverUnary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
		func(context.Context, any) (any, error) { panic("test: handler bug") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("err = %v, want Internal", err)
	}
	err = a.recoverStream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/x/Z"},
		func(any, grpc.ServerStream) error { panic("test: stream bug") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("stream err = %v, want Internal", err)
	}
	if s := log.String(); !strings.Contains(s, "panic in /x/Y: test: handler bug") || !strings.Contains(s, "panic in /x/Z: test: stream bug") {
		t.Fatalf("log:\n%s", s)
	}
}
