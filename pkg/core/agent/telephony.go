package agent

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// telAspect keeps the account's SIP binding up.
type telAspect struct {
	acc    *account
	st     *aspectState
	plugin *aspectPlugin
	req    protocol.ConnectRequest

	mu        sync.Mutex
	info      protocol.Info             // the backend's, once started
	sess      protocol.TelephonySession // nil until Connect worked
	report    protocol.ConnectionReport // the last registration's
	listeners int                       // lease IncomingCalls streams open
	// endHold ends the current hold with a reason (its backend is gone).
	endHold context.CancelCauseFunc
}

// check tells the supervisor when err says the backend is gone (its
// process died, or it panicked in this process): hold ends and the
// aspect starts a new backend and registers again.
func (t *telAspect) check(err error) {
	if !errors.Is(err, cusaxv1.ErrPluginGone) {
		return
	}
	t.mu.Lock()
	end := t.endHold
	t.mu.Unlock()
	if end != nil {
		end(err)
	}
}

func (t *telAspect) current() protocol.TelephonySession {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sess
}

// session waits until the account is registered, up to ctx.
func (t *telAspect) session(ctx context.Context) (protocol.TelephonySession, error) {
	for {
		if err := t.st.waitConnected(ctx); err != nil {
			return nil, err
		}
		if s := t.current(); s != nil {
			return s, nil
		}
	}
}

func (t *telAspect) listen(delta int) {
	t.mu.Lock()
	t.listeners += delta
	t.mu.Unlock()
}

func (t *telAspect) listening() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.listeners > 0
}

// run registers (retrying with backoff), then holds an IncomingCalls
// stream so the backend keeps the binding alive (refreshes, RFC 5626
// keep-alives, registering again: see protocol.IncomingCall.Registration)
// and reports its changes. first is closed after the first attempt.
func (t *telAspect) run(ctx context.Context, first chan struct{}) {
	var once sync.Once
	firstDone := func() { once.Do(func() { close(first) }) }
	defer firstDone()
	var b backoff
	for ctx.Err() == nil {
		err := t.registerOnce(ctx)
		firstDone()
		if err == nil {
			b.reset()
			err = t.hold(ctx)
			if ctx.Err() != nil {
				return
			}
			t.plugin.failed(err)
			t.st.set(StateConnecting, err.Error())
			t.acc.logf(protocol.AspectTelephony, "registration lost (%v); registering again", err)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		state := StateConnecting
		if !lost(err) {
			state = StateDown // refused: credentials, TLS; retried slowly
		}
		prev := t.st.set(state, err.Error())
		d := b.next()
		if state == StateDown {
			d = b.slow()
		}
		if t.st.newFailure(prev, state, err.Error()) {
			t.acc.logf(protocol.AspectTelephony, "registering failed (%v); trying again in %s", err, d.Round(100*time.Millisecond))
		}
		if sleepCtx(ctx, d) != nil {
			return
		}
	}
}

// registerOnce connects the user agent if needed and registers.
func (t *telAspect) registerOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, t.req.Timeout+2*time.Second)
	p, fresh, err := t.plugin.get(cctx)
	cancel()
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.info = p.Info(protocol.KindTelephony)
	old := t.sess
	if fresh {
		t.sess = nil // the old process's user agent is gone with it
	}
	t.mu.Unlock()
	if fresh && old != nil {
		// In this process an old user agent may still hold its sockets.
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = old.Close(cctx)
		}()
	}
	s := t.current()
	if s == nil {
		cctx, cancel := context.WithTimeout(ctx, t.req.Timeout+2*time.Second)
		s, err = p.Telephony.Connect(cctx, t.req)
		cancel()
		if err != nil {
			t.plugin.failed(err)
			return err
		}
		t.mu.Lock()
		t.sess = s
		t.mu.Unlock()
	}
	rctx, rcancel := context.WithTimeout(ctx, t.req.Timeout+2*time.Second)
	defer rcancel()
	r, err := s.Register(rctx, protocol.RegisterRequest{})
	if err != nil {
		t.plugin.failed(err)
		if errors.Is(err, protocol.ErrNotConnected) || errors.Is(err, cusaxv1.ErrPluginGone) {
			// The user agent itself is gone (closed, its plugin gone):
			// the next attempt prepares a new one.
			t.mu.Lock()
			t.sess = nil
			t.mu.Unlock()
			_ = s.Close(rctx)
		}
		return err
	}
	t.mu.Lock()
	t.report = r
	t.mu.Unlock()
	t.st.mu.Lock()
	lostAt, again := t.st.lostAt, t.st.everUp
	t.st.mu.Unlock()
	t.st.set(StateConnected, "")
	if again {
		t.acc.logf(protocol.AspectTelephony, "registered again after %s", since(lostAt))
	} else {
		t.acc.logf(protocol.AspectTelephony, "registered %s over %s", t.req.Address, r.Transport)
	}
	return nil
}

// hold keeps the agent's own IncomingCalls stream open and reads it until
// it ends (the session closed) or ctx ends.
func (t *telAspect) hold(ctx context.Context) error {
	s := t.current()
	hctx, end := context.WithCancelCause(ctx)
	defer end(nil)
	t.mu.Lock()
	t.endHold = end
	t.mu.Unlock()
	ctx = hctx
	defer func() {
		t.mu.Lock()
		t.endHold = nil
		t.mu.Unlock()
	}()
	st, err := s.IncomingCalls(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		ic, err := recvCtx(ctx, st)
		if err != nil {
			if c := context.Cause(ctx); ctx.Err() != nil && c != nil && !errors.Is(c, context.Canceled) {
				return c
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("the incoming-calls stream ended")
			}
			return err
		}
		switch {
		case ic.Registration != nil:
			t.registration(*ic.Registration)
		case ic.Missed > 0:
			t.acc.logf(protocol.AspectTelephony, "%d incoming calls arrived while the agent was behind: nobody answered them", ic.Missed)
		default:
			t.incoming(ctx, s, ic)
		}
	}
}

// registration logs a change of the binding the backend keeps.
func (t *telAspect) registration(e protocol.RegistrationEvent) {
	switch e.State {
	case protocol.RegistrationLost:
		t.st.set(StateConnecting, e.Reason)
		t.acc.logf(protocol.AspectTelephony, "registration lost (%s); registering again", e.Reason)
	case protocol.RegistrationRetrying:
		t.st.set(StateConnecting, e.Reason)
		t.acc.logf(protocol.AspectTelephony, "registering again failed (%s); next attempt in %s", e.Reason, e.Retry.Round(100*time.Millisecond))
	case protocol.RegistrationRestored:
		t.st.mu.Lock()
		lostAt := t.st.lostAt
		t.st.mu.Unlock()
		t.st.set(StateConnected, "")
		// Down is the backend's measure; the agent's own is from when it
		// heard of the loss, which the log shows.
		t.acc.logf(protocol.AspectTelephony, "registered again after %s", since(lostAt))
	}
}

// incoming: a call reached the agent's binding. With a lease listening,
// the lease's own stream got it too and answers it. Without, it gets 480
// Temporarily Unavailable at once — what the backend answers when nobody
// listens (RFC 3261 §21.4.18), never 200 — and the log says so.
func (t *telAspect) incoming(ctx context.Context, s protocol.TelephonySession, ic protocol.IncomingCall) {
	if t.listening() {
		return
	}
	t.acc.logf(protocol.AspectTelephony, "incoming call from %s: nobody is answering (480)", callerOf(ic))
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Respond(rctx, ic.CallID, 480, ""); err != nil && !errors.Is(err, protocol.ErrNotFound) {
		t.acc.logf(protocol.AspectTelephony, "answering call %s 480: %v", ic.CallID, err)
	}
}

// shutdown unregisters (Close does) and releases the user agent.
func (t *telAspect) shutdown(ctx context.Context) {
	s := t.current()
	if s == nil {
		return
	}
	if err := s.Unregister(ctx); err != nil {
		t.acc.logf(protocol.AspectTelephony, "unregistering: %v", err)
	} else {
		t.acc.logf(protocol.AspectTelephony, "unregistered")
	}
	_ = s.Close(ctx)
}

// callerOf names the caller for the log: the From URI as the INVITE says
// (a claim, not judged here: whois-caller judges), as callerid.Parse reads
// it, else the source address.
func callerOf(ic protocol.IncomingCall) string {
	who := ic.Source
	if c, err := callerid.Parse(ic.Raw, false); err == nil && c.From != "" {
		who = c.From
	}
	// The caller wrote it: no control characters reach the log.
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, who)
}
