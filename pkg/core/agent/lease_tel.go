package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// leaseTelephony is the Telephony "backend" the socket serves: Connect
// hands out leases on the agent's registered SIP user agents.
type leaseTelephony struct{ a *Agent }

var _ protocol.Telephony = (*leaseTelephony)(nil)

func (l *leaseTelephony) Info(context.Context) (protocol.Info, error) {
	for _, acc := range l.a.accounts {
		if acc.tel != nil {
			acc.tel.mu.Lock()
			i := acc.tel.info
			acc.tel.mu.Unlock()
			if i.Name != "" {
				return i, nil
			}
		}
	}
	return protocol.Info{}, fmt.Errorf("agent: no telephony backend running: %w", protocol.ErrNotConnected)
}

// Connect returns a lease for the account whose AOR is req.Address (the
// password is ignored). It does not wait: Register does. ErrNotFound: the
// agent keeps no such account.
func (l *leaseTelephony) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	for _, acc := range l.a.accounts {
		if acc.tel != nil && sameAddress(acc.tel.req.Address, req.Address) {
			lctx, cancel := context.WithCancel(context.Background())
			tl := &telLease{t: acc.tel, ctx: lctx, cancel: cancel}
			l.a.conns.track(ctx, tl.Close, func(e *leaseEnd) { tl.leaseEnd = e })
			return tl, nil
		}
	}
	return nil, fmt.Errorf("agent: no telephony account %s: %w", req.Address, protocol.ErrNotFound)
}

// telLease is one lease on a registered user agent. The backend keeps the
// binding itself (re-registering after a lost flow), so the session stays
// the same; calls wait while it is not registered, up to their ctx.
type telLease struct {
	*leaseEnd
	t      *telAspect
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	// streams are the lease's open streams: Close waits for them, so that
	// once it returns the agent answers calls again (listen count).
	streams sync.WaitGroup
}

var _ protocol.TelephonySession = (*telLease)(nil)
var _ protocol.Answerer = (*telLease)(nil)

// Register sends no REGISTER: it waits for the live registration and
// returns its report.
func (l *telLease) Register(ctx context.Context, _ protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	if _, err := l.t.session(ctx); err != nil {
		return protocol.ConnectionReport{}, err
	}
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	return l.t.report, nil
}

// Unregister is a no-op: the binding is the agent's.
func (l *telLease) Unregister(context.Context) error { return nil }

// scoped is ctx ended also by the lease's Close.
func (l *telLease) scoped(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	return c, func() { stop(); cancel() }
}

func (l *telLease) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	s, err := l.t.session(ctx)
	if err != nil {
		return nil, err
	}
	c, cancel := l.scoped(ctx)
	st, err := s.Dial(c, req)
	if err != nil {
		l.t.check(err)
		cancel()
		return nil, err
	}
	return scope(l, st, cancel), nil
}

func (l *telLease) Hangup(ctx context.Context, callID string) error {
	s, err := l.t.session(ctx)
	if err != nil {
		return err
	}
	err = s.Hangup(ctx, callID)
	l.t.check(err)
	return err
}

// IncomingCalls opens a stream of the live user agent's calls; while any
// is open the agent leaves calls to the leases instead of answering 480.
func (l *telLease) IncomingCalls(ctx context.Context) (protocol.Stream[protocol.IncomingCall], error) {
	s, err := l.t.session(ctx)
	if err != nil {
		return nil, err
	}
	c, cancel := l.scoped(ctx)
	l.t.listen(1)
	st, err := s.IncomingCalls(c)
	if err != nil {
		l.t.check(err)
		l.t.listen(-1)
		cancel()
		return nil, err
	}
	l.streams.Add(1)
	return scope(l, st, func() { cancel(); l.t.listen(-1); l.streams.Done() }), nil
}

func (l *telLease) Respond(ctx context.Context, callID string, status int, reason string) error {
	s, err := l.t.session(ctx)
	if err != nil {
		return err
	}
	err = s.Respond(ctx, callID, status, reason)
	l.t.check(err)
	return err
}

func (l *telLease) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	s, err := l.t.session(ctx)
	if err != nil {
		return nil, err
	}
	a, ok := s.(protocol.Answerer)
	if !ok {
		return nil, fmt.Errorf("answer: %w", protocol.ErrUnsupported)
	}
	c, cancel := l.scoped(ctx)
	st, err := a.Answer(c, req)
	if err != nil {
		l.t.check(err)
		cancel()
		return nil, err
	}
	return scope(l, st, cancel), nil
}

// Close ends the lease's streams (and its calls) and waits, up to ctx, for
// its incoming-calls streams to be gone; the registration stays.
func (l *telLease) Close(ctx context.Context) error {
	defer l.finish()
	l.cancel()
	done := make(chan struct{})
	go func() { l.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
	}
	return nil
}

// scope makes st end with the lease: its Close (by the client, or when
// the client's connection closed) closes st, so that a Recv blocked in a
// backend that does not watch its ctx returns too. done runs once, when
// st is closed.
func scope[T any](l *telLease, st protocol.Stream[T], done func()) protocol.Stream[T] {
	stop := context.AfterFunc(l.ctx, func() { _ = st.Close() })
	return &scopedStream[T]{Stream: st, done: func() { stop(); done() }}
}

// scopedStream runs done once when closed.
type scopedStream[T any] struct {
	protocol.Stream[T]
	done func()
	once sync.Once
}

func (s *scopedStream[T]) Close() error {
	err := s.Stream.Close()
	s.once.Do(s.done)
	return err
}

var _ protocol.OptionsAsker = (*telLease)(nil)

// Options asks through the agent's live user agent (protocol.OptionsAsker:
// `cusax audit-contacts` while the agent runs); a backend that is no
// OptionsAsker answers ErrUnsupported.
func (l *telLease) Options(ctx context.Context, target string) (protocol.OptionsResult, error) {
	s, err := l.t.session(ctx)
	if err != nil {
		return protocol.OptionsResult{}, err
	}
	o, ok := s.(protocol.OptionsAsker)
	if !ok {
		return protocol.OptionsResult{}, fmt.Errorf("options: %w", protocol.ErrUnsupported)
	}
	c, cancel := l.scoped(ctx)
	defer cancel()
	res, err := o.Options(c, target)
	l.t.check(err)
	return res, err
}
