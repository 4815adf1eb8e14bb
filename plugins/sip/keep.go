package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// Keeping a registration alive. A registrar forgets a binding that is not
// refreshed before it expires (RFC 3261 §10.2.4), and one that restarts
// without persistent storage (Kamailio with usrloc db_mode 0) forgets all
// of them at once; either way calls get 404 or 480 and the listener hears
// nothing. The keeper refreshes in time, notices a lost flow, registers
// again and says so on the IncomingCalls streams.
var (
	// flowCheck is how often the keeper looks at the binding: whether a
	// TCP/TLS flow was closed (sipgo closes it when the server hangs up
	// or a read fails), whether a refresh or keep-alive is due.
	flowCheck = time.Second
	// retryBase and retryMax bound the wait between attempts to restore a
	// lost binding (see backoff). A ceiling of 8 s (4–8 s with jitter)
	// keeps a listener back within 10 s of the registrar however long it
	// was away (issue 17).
	retryBase = time.Second
	retryMax  = 8 * time.Second
	// udpRefreshMax bounds the time between refreshes over UDP. There is
	// no connection whose end tells of a registrar that restarted and
	// forgot us: only the next refresh puts the binding back, so this is
	// how long such a restart can leave the listener deaf. Two minutes is
	// also what UAs behind NAT commonly use to keep the UDP mapping open.
	udpRefreshMax = 2 * time.Minute
)

// keepLocked starts the keeper unless it runs or there is nothing to
// keep (see current). s.mu is held.
func (s *session) keepLocked() {
	if s.keeping || s.closed || s.bound == nil || !s.in.listening() {
		return
	}
	if s.stop == nil {
		s.stop = make(chan struct{})
	}
	s.keeping = true
	go s.keep(s.stop)
}

// current returns the binding to keep, or nil after marking the keeper
// gone, under the same lock Register and IncomingCalls start it under:
// after Unregister or Close, and when no IncomingCalls stream is open. A
// binding is kept for a listener; when the host goes away (its stream
// ends with the gRPC connection) the binding is left to expire, as it
// would without a keeper, instead of being refreshed for nobody by a
// plugin process that outlived its host (calls would get 480 from it).
func (s *session) current() *binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound == nil || s.closed || !s.in.listening() {
		s.keeping = false
		return nil
	}
	return s.bound
}

// keep runs until the binding is removed or the session closed.
func (s *session) keep(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	tick := time.NewTicker(flowCheck)
	defer tick.Stop()
	var fw *flowWatch
	defer func() { fw.forget() }()
	for {
		b := s.current()
		if b == nil {
			return
		}
		if fw == nil || fw.conn != b.conn {
			fw.forget()
			fw = s.watch(b.conn)
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		// The last listener may have gone while we waited: nobody to
		// refresh for (and Register may have replaced the binding).
		if b = s.current(); b == nil {
			return
		}
		if (fw == nil) != (b.conn == nil) || fw != nil && fw.conn != b.conn {
			continue // a new flow: watch it first
		}
		lost := fw.check(time.Now())
		if lost == "" {
			if time.Since(b.at) < b.refreshAfter() {
				continue
			}
			// RFC 3261 §10.2.4: refresh before the granted expiry.
			_, err := s.Register(ctx, protocol.RegisterRequest{Expires: b.asked})
			if err == nil {
				continue
			}
			if ctx.Err() != nil || errors.Is(err, protocol.ErrNotConnected) {
				s.current()
				return
			}
			lost = "refresh failed: " + err.Error()
		}
		if !s.restore(ctx, stop, b, lost) {
			s.current()
			return
		}
	}
}

// flowWatch watches one TCP/TLS flow (RFC 5626 §4.4.1 keep-alives): it
// sends a CRLF ping at once and then every 95-120 s, and a flow whose
// server answered a ping before but leaves one unanswered for
// pongTimeout is dead (a hung or unplugged server: the connection stays
// open, nothing comes back). A server that never answers pings (they are
// ignored before a start-line, RFC 3261 §7.5) is not held to them. A nil
// flowWatch (UDP) watches nothing.
type flowWatch struct {
	s        *session
	conn     *gosip.TCPConnection
	key      string    // the connection's key in incoming.heard
	nextPing time.Time // when to send the next ping
	pingSent time.Time // the unanswered ping; zero when none
	answers  bool      // the server answered a ping on this flow
}

var (
	// pongTimeout is RFC 5626 §4.4.1's: 10 s without a pong after a ping.
	pongTimeout = 10 * time.Second
	// keepAliveEvery is keepAliveInterval, replaceable by tests.
	keepAliveEvery = keepAliveInterval
)

func (s *session) watch(c *gosip.TCPConnection) *flowWatch {
	if c == nil {
		return nil
	}
	return &flowWatch{s: s, conn: c, key: flowKey(c.LocalAddr(), c.RemoteAddr()), nextPing: time.Now()}
}

// check returns why the flow is lost, or "".
func (w *flowWatch) check(now time.Time) string {
	if w == nil {
		return ""
	}
	if flowClosed(w.conn) {
		return "connection closed"
	}
	if !w.pingSent.IsZero() {
		switch {
		case w.s.in.heardSince(w.key, w.pingSent):
			w.answers, w.pingSent = true, time.Time{}
		case now.Sub(w.pingSent) < pongTimeout:
		case w.answers:
			// Let sipgo drop it from its pool, so that registering
			// again dials a new connection. Its own reader then ends
			// and releases it (see closeStreams).
			_ = w.conn.Conn.Close()
			return fmt.Sprintf("no answer to a keep-alive for %s", pongTimeout)
		default:
			w.pingSent = time.Time{} // the server ignores pings
		}
	}
	if w.pingSent.IsZero() && !now.Before(w.nextPing) {
		w.nextPing = now.Add(keepAliveEvery())
		w.pingSent = now
		// A write that fails means the flow is dead.
		if _, err := w.conn.Write([]byte("\r\n\r\n")); err != nil {
			return "keep-alive failed: " + reason(err)
		}
	}
	return ""
}

// forget drops what incoming recorded about the flow.
func (w *flowWatch) forget() {
	if w != nil {
		w.s.in.forgetHeard(w.key)
	}
}

// restore registers again after b was lost, until it succeeds (true) or
// the session ends (false), waiting between attempts (backoff). Each
// change is reported on the IncomingCalls streams.
func (s *session) restore(ctx context.Context, stop <-chan struct{}, b *binding, why string) bool {
	start := time.Now()
	s.log.Warn("registration lost; registering again", "reason", why)
	s.report(protocol.RegistrationEvent{State: protocol.RegistrationLost, Reason: why,
		Address: b.contact.Address.String(), Server: b.target.Addr.String(), Transport: b.target.Transport})
	for attempt := 0; ; attempt++ {
		rep, err := s.Register(ctx, protocol.RegisterRequest{Expires: b.asked})
		if err == nil {
			down := time.Since(start)
			s.log.Info("registered again", "contact", rep.Address, "after", down)
			s.report(protocol.RegistrationEvent{State: protocol.RegistrationRestored, Address: rep.Address,
				Server: rep.Server, Transport: rep.Transport, Down: down})
			return true
		}
		if ctx.Err() != nil || errors.Is(err, protocol.ErrNotConnected) {
			return false
		}
		wait := backoff(attempt)
		s.log.Debug("registering again failed", "error", err, "retry_in", wait)
		s.report(protocol.RegistrationEvent{State: protocol.RegistrationRetrying, Reason: err.Error(),
			Server: b.target.Addr.String(), Transport: b.target.Transport, Retry: wait})
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return false
		case <-t.C:
		}
		s.mu.Lock()
		gone := s.bound != b // Unregister, or a Register of the host's own
		s.mu.Unlock()
		if gone {
			return true
		}
	}
}

// report hands a registration change to every open IncomingCalls stream.
func (s *session) report(ev protocol.RegistrationEvent) {
	s.in.broadcast(protocol.IncomingCall{Time: time.Now(), Registration: &ev}, s)
}

// dropStaleLocked removes prev's contact when a new registration bound
// another one (a new flow after a lost one): REGISTER with that Contact
// and Expires: 0 (RFC 3261 §10.2.2), so that the registrar does not fork
// calls to a dead flow. Best effort: a registrar that restarted has
// forgotten it anyway. s.mu is held.
func (s *session) dropStaleLocked(ctx context.Context, prev *binding) {
	cur := s.bound
	if prev == nil || cur == nil || sameContact(&prev.contact.Address, &cur.contact.Address) {
		return
	}
	ex, err := s.exchange(ctx, cur.target, 0, prev.contact)
	if err == nil {
		err = statusError(ex.res)
	}
	if err != nil {
		s.log.Debug("removing the stale contact failed", "contact", prev.contact.Address.String(), "error", err)
	}
}

// flowClosed reports whether sipgo closed c (the server hung up, a read
// failed, or the session closed it): setting a deadline on a closed
// connection fails. sipgo sets no write deadline of its own (its
// WriteTimeout is 0), so clearing it changes nothing.
func flowClosed(c *gosip.TCPConnection) bool {
	return c.Conn.SetWriteDeadline(time.Time{}) != nil
}

// refreshAfter is when to refresh a binding granted for d: at half its
// lifetime, which is always well before it expires (RFC 3261 §10.2.4
// leaves the margin to the UA), and not more often than once a second.
func refreshAfter(d time.Duration) time.Duration {
	return max(d/2, time.Second)
}

// refreshAfter is when to refresh b: refreshAfter of its lifetime, and
// over UDP at most udpRefreshMax after it was granted.
func (b *binding) refreshAfter() time.Duration {
	d := refreshAfter(b.granted)
	if b.target.Transport == "udp" {
		d = min(d, udpRefreshMax)
	}
	return d
}

// keepAliveInterval is RFC 5626 §4.4.1's for connection-oriented flows
// without a Flow-Timer: random between 95 and 120 s.
func keepAliveInterval() time.Duration {
	return 95*time.Second + rand.N(25*time.Second)
}

// backoff is the wait after the n-th failed attempt (from 0), RFC 5626
// §4.5's formula with a shorter base and ceiling (a listener that is not
// registered misses calls): min(retryMax, retryBase·2ⁿ), of which a random
// 50–100 % (jitter, so that clients of a restarted registrar do not come
// back all at once).
func backoff(n int) time.Duration {
	d := retryMax
	if n < 16 {
		d = min(retryMax, retryBase<<n)
	}
	return d/2 + rand.N(d/2+1)
}
