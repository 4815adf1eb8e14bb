package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// Aspect states (agentapi.AspectStatus.State).
const (
	StateConnected  = "connected"
	StateConnecting = "connecting"
	StateDown       = "down"
)

// aspectState is one aspect's state, with a channel closed at every
// change so that callers can wait for "connected".
type aspectState struct {
	mu      sync.Mutex
	state   string
	since   time.Time
	lastErr string
	changed chan struct{}
	// lostAt is when it was last lost, for "connected again after".
	lostAt time.Time
	// everUp is true once it was connected once.
	everUp bool
	// logged is the last failure logged, so that an outage is one line,
	// not one per attempt, unless the reason changes.
	logged string

	address, backend string
}

func newAspectState(address, backend string) *aspectState {
	return &aspectState{state: StateConnecting, since: time.Now(), changed: make(chan struct{}), address: address, backend: backend}
}

// set changes the state; it returns the state before.
func (s *aspectState) set(state, lastErr string) (prev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev = s.state
	if lastErr != "" {
		s.lastErr = lastErr
	}
	if state == s.state {
		return prev
	}
	s.state, s.since = state, time.Now()
	if state == StateConnected {
		s.everUp = true
		s.logged = ""
	} else if prev == StateConnected {
		s.lostAt = time.Now()
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return prev
}

// newFailure reports whether a failed attempt with this reason is news
// (a changed state or reason) worth a line in the log.
func (s *aspectState) newFailure(prev, state, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev == state && s.logged == reason {
		return false
	}
	s.logged = reason
	return true
}

// waitConnected waits until the aspect is connected or ctx ends.
func (s *aspectState) waitConnected(ctx context.Context) error {
	for {
		s.mu.Lock()
		st, ch, last := s.state, s.changed, s.lastErr
		s.mu.Unlock()
		if st == StateConnected {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if last == "" {
				last = st
			}
			return fmt.Errorf("%s is %s (%s): %w", s.address, st, last, waitErr(ctx.Err()))
		}
	}
}

// waitErr maps a ctx error to the sentinel a one-liner expects.
func waitErr(err error) error {
	if err == context.DeadlineExceeded {
		return fmt.Errorf("%w: %w", protocol.ErrTimeout, err)
	}
	return err
}

func (s *aspectState) status() *agentapi.AspectStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &agentapi.AspectStatus{Address: s.address, Backend: s.backend, State: s.state,
		SinceNs: s.since.UnixNano(), LastError: s.lastErr}
}

// backoff is the wait between attempts to connect again: 0.5–1 s at
// first, doubling up to 4–8 s; the jitter spreads the agents of many
// users of one restarted server (the shape of RFC 5626 §4.5, as
// cmd/cusax/internal/cmd/chat/resend.go uses). The cap is lower than
// resend.go's 15–30 s so that the agent is back within 10 s of a server
// that returns, however long it was away.
type backoff struct{ wait time.Duration }

const (
	backoffFirst = time.Second
	backoffMax   = 8 * time.Second
)

func (b *backoff) next() time.Duration {
	if b.wait == 0 {
		b.wait = backoffFirst
	}
	d := b.wait/2 + rand.N(b.wait/2+1)
	b.wait = min(2*b.wait, backoffMax)
	return d
}

func (b *backoff) reset() { b.wait = 0 }

// slow is the wait after a refusal (credentials, certificate): no retry
// cures it soon, and a server must not see a wrong password every few
// seconds; 30–60 s.
func (b *backoff) slow() time.Duration { return 30*time.Second + rand.N(30*time.Second) }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lost reports whether err means the connection is gone or the server is
// not there (worth connecting again), as opposed to a refusal.
func lost(err error) bool {
	return errorsIs(err, protocol.ErrNotConnected) || errorsIs(err, protocol.ErrUnreachable) || errorsIs(err, protocol.ErrTimeout) ||
		errorsIs(err, cusaxv1.ErrPluginGone)
}

// recvCtx is st.Recv that also returns when ctx ends (closing st), for
// backends whose streams do not watch the ctx they were opened with.
func recvCtx[T any](ctx context.Context, st protocol.Stream[T]) (T, error) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := st.Recv()
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		_ = st.Close()
		var zero T
		return zero, ctx.Err()
	}
}
