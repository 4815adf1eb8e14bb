package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// leaseIMPP is the IMPP "backend" the socket serves: Connect hands out
// leases on the agent's live XMPP sessions.
type leaseIMPP struct{ a *Agent }

var _ protocol.IMPP = (*leaseIMPP)(nil)

// Info is the real backend's (of the first account with chat), so that
// commands see the same capabilities as without the agent.
func (l *leaseIMPP) Info(context.Context) (protocol.Info, error) {
	for _, acc := range l.a.accounts {
		if acc.chat != nil {
			acc.chat.mu.Lock()
			i := acc.chat.info
			acc.chat.mu.Unlock()
			if i.Name != "" {
				return i, nil
			}
		}
	}
	return protocol.Info{}, fmt.Errorf("agent: no chat backend running: %w", protocol.ErrNotConnected)
}

// Connect returns a lease on the live session of the account whose JID is
// req.Address (the password is ignored: the peer was proven by the
// socket). It waits for a reconnecting session up to ctx. ErrNotFound:
// the agent keeps no such account.
func (l *leaseIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	asked := time.Now()
	for _, acc := range l.a.accounts {
		if acc.chat != nil && sameAddress(acc.chat.req.Address, req.Address) {
			reconnecting := acc.chat.current() == nil
			s, err := acc.chat.session(ctx)
			if err != nil {
				return nil, err
			}
			lctx, cancel := context.WithCancel(context.Background())
			lease := &imppLease{c: acc.chat, report: s.Report(), ctx: lctx, cancel: cancel}
			if reconnecting {
				lease.hold(asked)
			}
			l.a.conns.track(ctx, lease.Close, func(e *leaseEnd) { lease.leaseEnd = e })
			return lease, nil
		}
	}
	return nil, fmt.Errorf("agent: no chat account %s: %w", req.Address, protocol.ErrNotFound)
}

// imppLease is one lease: every call goes to the live session, waiting
// for it while it reconnects (up to the call's ctx) and trying again
// when the session it used was lost under it.
type imppLease struct {
	*leaseEnd
	c      *chatAspect
	report protocol.ConnectionReport
	ctx    context.Context // ended by Close: ends the lease's streams
	cancel context.CancelFunc
	// streams are the open relays: Close waits for them, so that once it
	// returns the agent's priority is negative again.
	streams sync.WaitGroup
	// held is when the lease's first call that had to wait across a
	// reconnect began (UnixNano; 0: none), sent whether Send was called.
	held atomic.Int64
	sent atomic.Bool
	// rooms counts the rooms joined through this lease and not left.
	// Occupancy ends with the XMPP session (XEP-0045 §7.2): after a
	// reconnect the lease's streams end (ErrNotConnected) instead of
	// carrying on silently without the room, so that its client joins
	// again, asking for the history it missed.
	rooms atomic.Int32
}

// heldFor bounds how long after a lease's call waited across a reconnect
// its first message still counts as handed over then (Send): about a
// one-liner's whole deadline (the account's timeout, 15 s by default,
// plus 2 s).
const heldFor = 20 * time.Second

func (l *imppLease) hold(t time.Time) { l.held.CompareAndSwap(0, t.UnixNano()) }

// waiting is do for a lease's call: it notes when a call that had to wait
// across a reconnect began (see Send).
func waiting[T any](ctx context.Context, l *imppLease, f func(protocol.IMPPSession) (T, error)) (T, error) {
	start, s0 := time.Now(), l.c.current()
	var used protocol.IMPPSession
	v, err := do(ctx, l.c, func(s protocol.IMPPSession) (T, error) { used = s; return f(s) })
	if used != nil && used != s0 {
		l.hold(start)
	}
	return v, err
}

var _ protocol.IMPPSession = (*imppLease)(nil)
var _ protocol.AckedMessages = (*imppLease)(nil)

// do runs f on the live session; when it fails with ErrNotConnected the
// supervisor is told and f runs again on the next session, until ctx.
func do[T any](ctx context.Context, c *chatAspect, f func(protocol.IMPPSession) (T, error)) (T, error) {
	for {
		s, err := c.session(ctx)
		if err != nil {
			var zero T
			return zero, err
		}
		v, err := f(s)
		if errors.Is(err, cusaxv1.ErrPluginGone) {
			// Its backend is gone (or panicked): the supervisor starts
			// it again; this call fails as with a plugin process.
			c.broken(s)
		}
		if err == nil || !errors.Is(err, protocol.ErrNotConnected) || ctx.Err() != nil {
			return v, err
		}
		c.broken(s)
		// Wait for the supervisor to notice before trying again.
		if c.current() == s {
			_ = sleepCtx(ctx, 100*time.Millisecond)
		}
	}
}

func (l *imppLease) Report() protocol.ConnectionReport { return l.report }

func (l *imppLease) Roster(ctx context.Context) ([]protocol.RosterItem, error) {
	return waiting(ctx, l, func(s protocol.IMPPSession) ([]protocol.RosterItem, error) { return l.c.rosterOn(ctx, s) })
}

func (l *imppLease) VCard(ctx context.Context, jid string) (protocol.VCard, error) {
	return waiting(ctx, l, func(s protocol.IMPPSession) (protocol.VCard, error) { return s.VCard(ctx, jid) })
}

// SetPresence sets the account's presence: the agent keeps it and sends it
// again after every reconnect.
func (l *imppLease) SetPresence(ctx context.Context, p protocol.Presence) error {
	return l.c.setPresence(ctx, p)
}

// Send sends m once the session is there. A message that waited more than
// a second for it (an outage) goes out stamped with the time it was handed
// over (XEP-0203 §4 delay), so the receiver sees it was delayed.
//
// "Waited" means across a reconnect, however briefly, or more than a
// second. A one-liner started during an outage asks for its lease and
// looks up its roster before it sends: when the lease's Connect or an
// earlier call waited, its first message (within heldFor) is stamped
// with the time that wait began, when the one-liner handed it over.
func (l *imppLease) Send(ctx context.Context, m protocol.Message) error {
	t0, s0 := time.Now(), l.c.current()
	first := !l.sent.Swap(true)
	_, err := do(ctx, l.c, func(s protocol.IMPPSession) (struct{}, error) {
		if h := l.held.Load(); m.Delay.IsZero() && first && h != 0 && t0.Sub(time.Unix(0, h)) < heldFor {
			m.Delay = time.Unix(0, h)
		}
		if m.Delay.IsZero() && (s != s0 || time.Since(t0) > time.Second) {
			m.Delay = t0
		}
		return struct{}{}, s.Send(ctx, m)
	})
	return err
}

func (l *imppLease) JoinRoom(ctx context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	r, err := do(ctx, l.c, func(s protocol.IMPPSession) (protocol.Room, error) { return s.JoinRoom(ctx, j) })
	if err == nil {
		l.rooms.Add(1)
	}
	return r, err
}

func (l *imppLease) LeaveRoom(ctx context.Context, room string) error {
	_, err := do(ctx, l.c, func(s protocol.IMPPSession) (struct{}, error) { return struct{}{}, s.LeaveRoom(ctx, room) })
	if err == nil && l.rooms.Add(-1) < 0 {
		l.rooms.Store(0)
	}
	return err
}

func (l *imppLease) DiscoInfo(ctx context.Context, jid, node string) (protocol.DiscoInfo, error) {
	return waiting(ctx, l, func(s protocol.IMPPSession) (protocol.DiscoInfo, error) { return s.DiscoInfo(ctx, jid, node) })
}

func (l *imppLease) Reach(ctx context.Context, jid string) ([]protocol.ReachAddress, error) {
	return waiting(ctx, l, func(s protocol.IMPPSession) ([]protocol.ReachAddress, error) { return s.Reach(ctx, jid) })
}

func (l *imppLease) PublishReach(ctx context.Context, addrs []protocol.ReachAddress) error {
	_, err := do(ctx, l.c, func(s protocol.IMPPSession) (struct{}, error) { return struct{}{}, s.PublishReach(ctx, addrs) })
	return err
}

// Presences streams presence from the live session, opened again on the
// next session after a reconnect (the server then sends the contacts'
// current presence again, RFC 6121 §4.2.2).
func (l *imppLease) Presences(ctx context.Context) (protocol.Stream[protocol.Presence], error) {
	return openRelay(ctx, l, func(ctx context.Context, s protocol.IMPPSession) (protocol.Stream[protocol.Presence], error) {
		return s.Presences(ctx)
	}, nil)
}

// Messages streams messages; while any lease listens, the agent's
// presence has a non-negative priority so bare-JID messages reach it.
func (l *imppLease) Messages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	return openRelay(ctx, l, func(ctx context.Context, s protocol.IMPPSession) (protocol.Stream[protocol.Message], error) {
		return s.Messages(ctx)
	}, l.c.listen)
}

// AckedMessages is Messages with acknowledgement, when the live session
// offers it (ErrUnsupported otherwise, as the backend says).
func (l *imppLease) AckedMessages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	return openRelay(ctx, l, func(ctx context.Context, s protocol.IMPPSession) (protocol.Stream[protocol.Message], error) {
		am, ok := s.(protocol.AckedMessages)
		if !ok {
			return nil, fmt.Errorf("acknowledged messages: %w", protocol.ErrUnsupported)
		}
		return am.AckedMessages(ctx)
	}, l.c.listen)
}

// AckMessage acknowledges on the live session. After a reconnect the
// numbers of the old session mean nothing: what it did not acknowledge
// the server stores offline (XEP-0198) and delivers again.
func (l *imppLease) AckMessage(ctx context.Context, seq uint64) error {
	s, err := l.c.session(ctx)
	if err != nil {
		return err
	}
	am, ok := s.(protocol.AckedMessages)
	if !ok {
		return fmt.Errorf("acknowledged messages: %w", protocol.ErrUnsupported)
	}
	return am.AckMessage(ctx, seq)
}

// Close ends the lease's streams and waits (up to ctx, at most 2 s) for
// them to be gone; the live session stays.
func (l *imppLease) Close(ctx context.Context) error {
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

// relay is a lease stream: it reads the live session's stream and, when
// that session is lost, opens the stream again on the next one.
type relay[T any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	l      *imppLease
	open   func(context.Context, protocol.IMPPSession) (protocol.Stream[T], error)
	count  func(int)

	mu   sync.Mutex
	cur  protocol.Stream[T]
	sess protocol.IMPPSession
	once sync.Once
}

func openRelay[T any](ctx context.Context, l *imppLease, open func(context.Context, protocol.IMPPSession) (protocol.Stream[T], error), count func(int)) (protocol.Stream[T], error) {
	rctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	r := &relay[T]{ctx: rctx, cancel: func() { stop(); cancel() }, l: l, open: open, count: count}
	// The first open answers the caller (an ErrUnsupported, say).
	if err := r.reopen(ctx); err != nil {
		r.cancel()
		return nil, err
	}
	if count != nil {
		count(1)
	}
	l.streams.Add(1)
	return r, nil
}

func (r *relay[T]) reopen(ctx context.Context) error {
	s, err := r.l.c.session(ctx)
	if err != nil {
		return err
	}
	st, err := r.open(r.ctx, s)
	if err != nil {
		if errors.Is(err, protocol.ErrNotConnected) {
			r.l.c.broken(s)
		}
		return err
	}
	r.mu.Lock()
	r.cur, r.sess = st, s
	r.mu.Unlock()
	return nil
}

func (r *relay[T]) Recv() (T, error) {
	var zero T
	for {
		r.mu.Lock()
		st, s := r.cur, r.sess
		r.mu.Unlock()
		if st == nil {
			if err := r.reopen(r.ctx); err != nil {
				if r.ctx.Err() != nil {
					return zero, r.ctx.Err()
				}
				if errors.Is(err, protocol.ErrNotConnected) {
					_ = sleepCtx(r.ctx, 100*time.Millisecond)
					continue
				}
				return zero, err
			}
			continue
		}
		v, err := recvCtx(r.ctx, st)
		if err == nil {
			return v, nil
		}
		if r.ctx.Err() != nil {
			return zero, r.ctx.Err()
		}
		if !errors.Is(err, protocol.ErrNotConnected) && !errors.Is(err, io.EOF) {
			return zero, err
		}
		// The session under it ended: carry on with the next one, unless
		// the lease was in a room, which the next session is not.
		_ = st.Close()
		r.l.c.broken(s)
		r.mu.Lock()
		r.cur, r.sess = nil, nil
		r.mu.Unlock()
		if r.l.rooms.Load() > 0 {
			return zero, fmt.Errorf("the agent's chat session was lost, and with it the rooms this lease had joined: %w", protocol.ErrNotConnected)
		}
	}
}

func (r *relay[T]) Close() error {
	r.once.Do(func() {
		r.cancel()
		r.mu.Lock()
		st := r.cur
		r.mu.Unlock()
		if st != nil {
			_ = st.Close()
		}
		if r.count != nil {
			r.count(-1)
		}
		r.l.streams.Done()
	})
	return nil
}
