package agent

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// guard turns a panic in a backend call into an error, for backends that
// run in the agent's own process (the built-ins): without it one bad
// stanza handled in a call would end the agent and every account with it.
// A backend that panicked is treated like a plugin process that died:
// every later call fails with cusaxv1.ErrPluginGone, Exited reports the
// panic, and the aspect starts a new backend and connects again
// (aspectPlugin.get). Panics in the backend's own goroutines (its reader
// loops) are out of reach of any recover here; docs/agent.md says so.
type guard struct {
	log func(string, ...any)
	who string // "impp/xmpp"

	mu  sync.Mutex
	why string // the panic, once it happened
}

// err is what a call that panicked, or any call after it, returns (nil
// before a panic).
func (g *guard) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.why == "" {
		return nil
	}
	return fmt.Errorf("backend %s panicked (%s): %w", g.who, g.why, cusaxv1.ErrPluginGone)
}

func (g *guard) exited() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.why == "" {
		return ""
	}
	return "panicked: " + g.why
}

// guardCall runs f, recovering a panic into the guard's error; once the
// backend panicked, f no longer runs.
func guardCall[T any](g *guard, f func() (T, error)) (v T, err error) {
	if err := g.err(); err != nil {
		return v, err
	}
	defer func() {
		if r := recover(); r != nil {
			why := fmt.Sprint(r)
			if len(why) > 200 {
				why = why[:200]
			}
			g.mu.Lock()
			first := g.why == ""
			if first {
				g.why = why
			}
			g.mu.Unlock()
			if first {
				g.log("backend %s panicked: %s\n%s", g.who, why, firstLines(string(debug.Stack()), 24))
			}
			var zero T
			v, err = zero, g.err()
		}
	}()
	return f()
}

func guardErr(g *guard, f func() error) error {
	_, err := guardCall(g, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// guardStarted wraps a started IMPP or Telephony backend in a guard.
func guardStarted(st *session.Started, log func(string, ...any)) {
	g := &guard{log: log, who: string(st.Kind) + "/" + st.Name}
	switch p := st.Plugin.(type) {
	case protocol.IMPP:
		st.Plugin = guardedIMPP{g: g, p: p}
	case protocol.Telephony:
		st.Plugin = guardedTelephony{g: g, p: p}
	default:
		return
	}
	inner := st.Exited
	st.Exited = func() string {
		if why := g.exited(); why != "" {
			return why
		}
		if inner != nil {
			return inner()
		}
		return ""
	}
}

type guardedStream[T any] struct {
	g  *guard
	st protocol.Stream[T]
}

func (s guardedStream[T]) Recv() (T, error) { return guardCall(s.g, s.st.Recv) }

// Close goes through even after a panic: it releases what it can.
func (s guardedStream[T]) Close() error {
	return guardErr(&guard{log: s.g.log, who: s.g.who}, s.st.Close)
}

func guardStream[T any](g *guard, st protocol.Stream[T], err error) (protocol.Stream[T], error) {
	if err != nil || st == nil {
		return st, err
	}
	return guardedStream[T]{g: g, st: st}, nil
}

type guardedIMPP struct {
	g *guard
	p protocol.IMPP
}

func (b guardedIMPP) Info(ctx context.Context) (protocol.Info, error) {
	return guardCall(b.g, func() (protocol.Info, error) { return b.p.Info(ctx) })
}

func (b guardedIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := guardCall(b.g, func() (protocol.IMPPSession, error) { return b.p.Connect(ctx, req) })
	if err != nil {
		return nil, err
	}
	return &guardedIMPPSession{g: b.g, s: s}, nil
}

type guardedIMPPSession struct {
	g *guard
	s protocol.IMPPSession
}

var _ protocol.AckedMessages = (*guardedIMPPSession)(nil)
var _ protocol.RosterWatcher = (*guardedIMPPSession)(nil)

func (s *guardedIMPPSession) Report() protocol.ConnectionReport {
	r, _ := guardCall(s.g, func() (protocol.ConnectionReport, error) { return s.s.Report(), nil })
	return r
}

func (s *guardedIMPPSession) Roster(ctx context.Context) ([]protocol.RosterItem, error) {
	return guardCall(s.g, func() ([]protocol.RosterItem, error) { return s.s.Roster(ctx) })
}

func (s *guardedIMPPSession) VCard(ctx context.Context, jid string) (protocol.VCard, error) {
	return guardCall(s.g, func() (protocol.VCard, error) { return s.s.VCard(ctx, jid) })
}

func (s *guardedIMPPSession) SetPresence(ctx context.Context, p protocol.Presence) error {
	return guardErr(s.g, func() error { return s.s.SetPresence(ctx, p) })
}

func (s *guardedIMPPSession) Presences(ctx context.Context) (protocol.Stream[protocol.Presence], error) {
	st, err := guardCall(s.g, func() (protocol.Stream[protocol.Presence], error) { return s.s.Presences(ctx) })
	return guardStream(s.g, st, err)
}

func (s *guardedIMPPSession) Send(ctx context.Context, m protocol.Message) error {
	return guardErr(s.g, func() error { return s.s.Send(ctx, m) })
}

func (s *guardedIMPPSession) Messages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	st, err := guardCall(s.g, func() (protocol.Stream[protocol.Message], error) { return s.s.Messages(ctx) })
	return guardStream(s.g, st, err)
}

func (s *guardedIMPPSession) JoinRoom(ctx context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	return guardCall(s.g, func() (protocol.Room, error) { return s.s.JoinRoom(ctx, j) })
}

func (s *guardedIMPPSession) LeaveRoom(ctx context.Context, room string) error {
	return guardErr(s.g, func() error { return s.s.LeaveRoom(ctx, room) })
}

func (s *guardedIMPPSession) DiscoInfo(ctx context.Context, jid, node string) (protocol.DiscoInfo, error) {
	return guardCall(s.g, func() (protocol.DiscoInfo, error) { return s.s.DiscoInfo(ctx, jid, node) })
}

func (s *guardedIMPPSession) Reach(ctx context.Context, jid string) ([]protocol.ReachAddress, error) {
	return guardCall(s.g, func() ([]protocol.ReachAddress, error) { return s.s.Reach(ctx, jid) })
}

func (s *guardedIMPPSession) PublishReach(ctx context.Context, addrs []protocol.ReachAddress) error {
	return guardErr(s.g, func() error { return s.s.PublishReach(ctx, addrs) })
}

func (s *guardedIMPPSession) Close(ctx context.Context) error {
	// After a panic the session still holds a connection: try to end it.
	g := &guard{log: s.g.log, who: s.g.who}
	return guardErr(g, func() error { return s.s.Close(ctx) })
}

func (s *guardedIMPPSession) AckedMessages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	am, ok := s.s.(protocol.AckedMessages)
	if !ok {
		return nil, fmt.Errorf("acknowledged messages: %w", protocol.ErrUnsupported)
	}
	st, err := guardCall(s.g, func() (protocol.Stream[protocol.Message], error) { return am.AckedMessages(ctx) })
	return guardStream(s.g, st, err)
}

func (s *guardedIMPPSession) AckMessage(ctx context.Context, seq uint64) error {
	am, ok := s.s.(protocol.AckedMessages)
	if !ok {
		return fmt.Errorf("acknowledged messages: %w", protocol.ErrUnsupported)
	}
	return guardErr(s.g, func() error { return am.AckMessage(ctx, seq) })
}

func (s *guardedIMPPSession) RosterChanges() (uint64, bool) {
	rw, ok := s.s.(protocol.RosterWatcher)
	if !ok {
		return 0, false
	}
	type gen struct {
		n  uint64
		ok bool
	}
	v, err := guardCall(s.g, func() (gen, error) { n, ok := rw.RosterChanges(); return gen{n, ok}, nil })
	return v.n, v.ok && err == nil
}

// The optional IMPP interfaces the leases use: forwarded, ErrUnsupported
// when the backend lacks them (as the leases would say). A new optional
// interface needs its forwarder here, or the guard hides it.
var (
	_ protocol.PresenceSubscriber = (*guardedIMPPSession)(nil)
	_ protocol.ActivityPublisher  = (*guardedIMPPSession)(nil)
	_ protocol.PresenceView       = (*guardedIMPPSession)(nil)
)

func (s *guardedIMPPSession) Subscribe(ctx context.Context, jid string) error {
	ps, ok := s.s.(protocol.PresenceSubscriber)
	if !ok {
		return fmt.Errorf("presence subscription: %w", protocol.ErrUnsupported)
	}
	return guardErr(s.g, func() error { return ps.Subscribe(ctx, jid) })
}

func (s *guardedIMPPSession) ApproveSubscription(ctx context.Context, jid string) error {
	ps, ok := s.s.(protocol.PresenceSubscriber)
	if !ok {
		return fmt.Errorf("presence subscription: %w", protocol.ErrUnsupported)
	}
	return guardErr(s.g, func() error { return ps.ApproveSubscription(ctx, jid) })
}

func (s *guardedIMPPSession) PublishActivity(ctx context.Context, a protocol.Activity) error {
	ap, ok := s.s.(protocol.ActivityPublisher)
	if !ok {
		return fmt.Errorf("activity: %w", protocol.ErrUnsupported)
	}
	return guardErr(s.g, func() error { return ap.PublishActivity(ctx, a) })
}

func (s *guardedIMPPSession) KnownPresences(ctx context.Context) (protocol.PresenceSnapshot, error) {
	pv, ok := s.s.(protocol.PresenceView)
	if !ok {
		return protocol.PresenceSnapshot{}, fmt.Errorf("presence view: %w", protocol.ErrUnsupported)
	}
	return guardCall(s.g, func() (protocol.PresenceSnapshot, error) { return pv.KnownPresences(ctx) })
}

type guardedTelephony struct {
	g *guard
	p protocol.Telephony
}

func (b guardedTelephony) Info(ctx context.Context) (protocol.Info, error) {
	return guardCall(b.g, func() (protocol.Info, error) { return b.p.Info(ctx) })
}

func (b guardedTelephony) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := guardCall(b.g, func() (protocol.TelephonySession, error) { return b.p.Connect(ctx, req) })
	if err != nil {
		return nil, err
	}
	return &guardedTelSession{g: b.g, s: s}, nil
}

type guardedTelSession struct {
	g *guard
	s protocol.TelephonySession
}

var _ protocol.Answerer = (*guardedTelSession)(nil)

func (s *guardedTelSession) Register(ctx context.Context, req protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	return guardCall(s.g, func() (protocol.ConnectionReport, error) { return s.s.Register(ctx, req) })
}

func (s *guardedTelSession) Unregister(ctx context.Context) error {
	return guardErr(s.g, func() error { return s.s.Unregister(ctx) })
}

func (s *guardedTelSession) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	st, err := guardCall(s.g, func() (protocol.Stream[protocol.CallEvent], error) { return s.s.Dial(ctx, req) })
	return guardStream(s.g, st, err)
}

func (s *guardedTelSession) Hangup(ctx context.Context, callID string) error {
	return guardErr(s.g, func() error { return s.s.Hangup(ctx, callID) })
}

func (s *guardedTelSession) IncomingCalls(ctx context.Context) (protocol.Stream[protocol.IncomingCall], error) {
	st, err := guardCall(s.g, func() (protocol.Stream[protocol.IncomingCall], error) { return s.s.IncomingCalls(ctx) })
	return guardStream(s.g, st, err)
}

func (s *guardedTelSession) Respond(ctx context.Context, callID string, status int, reason string) error {
	return guardErr(s.g, func() error { return s.s.Respond(ctx, callID, status, reason) })
}

func (s *guardedTelSession) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	a, ok := s.s.(protocol.Answerer)
	if !ok {
		return nil, fmt.Errorf("answer: %w", protocol.ErrUnsupported)
	}
	st, err := guardCall(s.g, func() (protocol.Stream[protocol.AnswerEvent], error) { return a.Answer(ctx, req) })
	return guardStream(s.g, st, err)
}

var _ protocol.OptionsAsker = (*guardedTelSession)(nil)

func (s *guardedTelSession) Options(ctx context.Context, target string) (protocol.OptionsResult, error) {
	o, ok := s.s.(protocol.OptionsAsker)
	if !ok {
		return protocol.OptionsResult{}, fmt.Errorf("options: %w", protocol.ErrUnsupported)
	}
	return guardCall(s.g, func() (protocol.OptionsResult, error) { return o.Options(ctx, target) })
}

func (s *guardedTelSession) Close(ctx context.Context) error {
	g := &guard{log: s.g.log, who: s.g.who}
	return guardErr(g, func() error { return s.s.Close(ctx) })
}

// recoverUnary and recoverStream are the socket server's last line: a
// panic in a handler (the lease code itself, not a backend: those are
// guarded above) fails that call with codes.Internal and is logged with
// its stack, instead of ending the agent and every account with it.
func (a *Agent) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer a.recovered(info.FullMethod, &err)
	return h(ctx, req)
}

func (a *Agent) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer a.recovered(info.FullMethod, &err)
	return h(srv, ss)
}

func (a *Agent) recovered(method string, err *error) {
	if r := recover(); r != nil {
		a.logf("panic in %s: %v\n%s", method, r, firstLines(string(debug.Stack()), 24))
		*err = status.Errorf(codes.Internal, "agent: internal error in %s", method)
	}
}
