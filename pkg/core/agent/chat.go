package agent

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// chatAspect keeps the account's XMPP session up.
type chatAspect struct {
	acc    *account
	st     *aspectState
	plugin *aspectPlugin
	req    protocol.ConnectRequest
	// kick asks the supervisor to probe now (a lease saw ErrNotConnected).
	kick chan struct{}

	mu        sync.Mutex
	info      protocol.Info        // the backend's, once started
	sess      protocol.IMPPSession // nil while not connected
	presence  protocol.Presence    // the last set through the agent
	listeners int                  // lease message streams open

	// The roster as last fetched on rosterOf, when rosterOf had accepted
	// rosterGen pushes: current while both still hold (roster).
	roster    []protocol.RosterItem
	rosterOf  protocol.IMPPSession
	rosterGen uint64
}

// roster serves the roster from the copy fetched on s, fetching it again
// only when s accepted a roster push since (RFC 6121 §2.1.6: the server
// pushes every change to each connected resource) or when s is a new
// session (after a reconnect the pushes missed meanwhile are unknown).
// A session that does not follow pushes (a backend over the plugin wire)
// is asked every time: nothing stale is ever served.
func (c *chatAspect) rosterOn(ctx context.Context, s protocol.IMPPSession) ([]protocol.RosterItem, error) {
	rw, ok := s.(protocol.RosterWatcher)
	if !ok {
		return s.Roster(ctx)
	}
	gen, follows := rw.RosterChanges()
	if !follows {
		return s.Roster(ctx)
	}
	c.mu.Lock()
	if c.rosterOf == s && c.rosterGen == gen && c.roster != nil {
		r := slices.Clone(c.roster)
		c.mu.Unlock()
		return r, nil
	}
	c.mu.Unlock()
	// gen was read before the fetch: a push that crosses it makes the
	// next call fetch again.
	items, err := s.Roster(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.roster, c.rosterOf, c.rosterGen = append(make([]protocol.RosterItem, 0, len(items)), items...), s, gen
	c.mu.Unlock()
	return items, nil
}

// current returns the live session, or nil.
func (c *chatAspect) current() protocol.IMPPSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// session waits for the live session up to ctx.
func (c *chatAspect) session(ctx context.Context) (protocol.IMPPSession, error) {
	for {
		if s := c.current(); s != nil {
			return s, nil
		}
		if err := c.st.waitConnected(ctx); err != nil {
			return nil, err
		}
	}
}

// broken tells the supervisor that a call on s saw the connection gone.
func (c *chatAspect) broken(s protocol.IMPPSession) {
	if c.current() != s {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// effectivePresence is the presence to send: the last one set, with a
// negative priority unless a lease listens for messages. RFC 6121
// §4.7.2.3: a resource with a negative priority never gets messages sent
// to the bare JID, so the server delivers them to the user's real clients
// or stores them offline instead of handing them to an agent that would
// not show them to anyone.
func (c *chatAspect) effectivePresence() protocol.Presence {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.presence
	if p.Type == "" {
		if c.listeners == 0 {
			p.Priority = -1
		} else if p.Priority < 0 {
			p.Priority = 0
		}
	}
	return p
}

// run connects, then watches the session, until ctx ends.
func (c *chatAspect) run(ctx context.Context) {
	var b backoff
	for ctx.Err() == nil {
		s, err := c.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			state := StateConnecting
			if !lost(err) {
				state = StateDown // refused: credentials, TLS; retried slowly
			}
			prev := c.st.set(state, err.Error())
			d := b.next()
			if state == StateDown {
				d = b.slow()
			}
			if c.st.newFailure(prev, state, err.Error()) {
				c.acc.logf(protocol.AspectChat, "connecting failed (%v); trying again in %s", err, d.Round(100*time.Millisecond))
			}
			if sleepCtx(ctx, d) != nil {
				return
			}
			continue
		}
		b.reset()
		c.mu.Lock()
		c.sess = s
		c.mu.Unlock()
		c.st.mu.Lock()
		lostAt, again := c.st.lostAt, c.st.everUp
		c.st.mu.Unlock()
		c.st.set(StateConnected, "")
		if again {
			c.acc.logf(protocol.AspectChat, "connected again after %s", since(lostAt))
		} else {
			c.acc.logf(protocol.AspectChat, "connected as %s", s.Report().Address)
		}
		go func() {
			// The roster, fetched now, so the first lease to ask for it
			// does not wait for the server.
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, _ = c.rosterOn(rctx, s)
		}()
		err = c.watch(ctx, s)
		c.mu.Lock()
		c.sess = nil
		c.mu.Unlock()
		if ctx.Err() != nil {
			// Stopping: shutdown logs the session out.
			c.mu.Lock()
			c.sess = s
			c.mu.Unlock()
			return
		}
		c.plugin.failed(err)
		c.st.set(StateConnecting, err.Error())
		c.acc.logf(protocol.AspectChat, "connection lost (%v); reconnecting", err)
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Close(cctx)
		cancel()
	}
}

// connect logs in and sends the presence.
func (c *chatAspect) connect(ctx context.Context) (protocol.IMPPSession, error) {
	cctx, cancel := context.WithTimeout(ctx, c.req.Timeout+2*time.Second)
	defer cancel()
	p, _, err := c.plugin.get(cctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.info = p.Info(protocol.KindIMPP)
	c.mu.Unlock()
	s, err := p.IMPP.Connect(cctx, c.req)
	if err != nil {
		c.plugin.failed(err)
		return nil, err
	}
	if err := s.SetPresence(cctx, c.effectivePresence()); err != nil {
		_ = s.Close(cctx)
		return nil, err
	}
	return s, nil
}

// watch probes the session every ProbeEvery (and when kicked) with a
// cheap round trip, disco#info on the account's domain (XEP-0030), and
// returns why it is gone. A stanza error is an answer: the connection is
// alive.
func (c *chatAspect) watch(ctx context.Context, s protocol.IMPPSession) error {
	t := time.NewTicker(c.acc.a.opts.ProbeEvery)
	defer t.Stop()
	domain := domainOf(c.req.Address)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-c.kick:
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.DiscoInfo(pctx, domain, "")
		cancel()
		if err != nil && ctx.Err() == nil && (lost(err) || errors.Is(err, context.DeadlineExceeded)) {
			return err
		}
	}
}

// setPresence records p as the account's presence and sends it when
// connected (else it goes out on the next connect).
func (c *chatAspect) setPresence(ctx context.Context, p protocol.Presence) error {
	c.mu.Lock()
	c.presence = p
	c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return err
	}
	err = s.SetPresence(ctx, c.effectivePresence())
	if err != nil && errors.Is(err, protocol.ErrNotConnected) {
		c.broken(s)
		return nil // sent again after the reconnect
	}
	return err
}

// listen counts a lease message stream; the first one makes the agent's
// priority non-negative (so bare-JID messages reach it), the last one
// gone makes it negative again.
func (c *chatAspect) listen(delta int) {
	c.mu.Lock()
	before := c.listeners
	c.listeners += delta
	after := c.listeners
	s := c.sess
	c.mu.Unlock()
	if (before == 0) == (after == 0) || s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.SetPresence(ctx, c.effectivePresence()); err != nil {
		c.broken(s)
		return
	}
	// A round trip: the server handles a client's stanzas in order, so
	// once it answers, the new priority is in force (RFC 6120 §10.1) and
	// the lease's stream opens only then.
	_, _ = s.DiscoInfo(ctx, domainOf(c.req.Address), "")
}

// shutdown: presence unavailable, then log out.
func (c *chatAspect) shutdown(ctx context.Context) {
	s := c.current()
	if s == nil {
		return
	}
	if err := s.SetPresence(ctx, protocol.Presence{Type: "unavailable"}); err != nil {
		c.acc.logf(protocol.AspectChat, "presence unavailable: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		c.acc.logf(protocol.AspectChat, "logging out: %v", err)
	} else {
		c.acc.logf(protocol.AspectChat, "logged out")
	}
}

func domainOf(jid string) string {
	for i := len(jid) - 1; i >= 0; i-- {
		if jid[i] == '@' {
			d := jid[i+1:]
			for j := 0; j < len(d); j++ {
				if d[j] == '/' {
					return d[:j]
				}
			}
			return d
		}
	}
	return jid
}
