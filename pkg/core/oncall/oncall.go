// Package oncall shows the user as on the phone while a call is up: RFC
// 7081 §3 describes one combined service, so a contact who watches the
// user's XMPP presence should see the SIP call. While the call is up the
// presence is dnd with the status "on the phone", and where the backend
// can publish an XEP-0108 activity, talking/on_the_phone; afterwards the
// presence returns to what it was and the activity is retracted (XEP-0108
// §5).
//
// Everything here is a side show of the call: every wait is bounded, and
// a failure is a note, never an error of the call.
package oncall

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Status is the presence status text during a call.
const Status = "on the phone"

// OnThePhone is the XEP-0108 activity during a call (§2.1: talking /
// on_the_phone).
var OnThePhone = protocol.Activity{General: "talking", Specific: "on_the_phone", Text: Status}

// DefaultTimeout bounds one presence or activity update.
const DefaultTimeout = 5 * time.Second

// Session is the Chat session the tracker uses, with its backend's
// capabilities and what to do after the call.
type Session struct {
	IMPP protocol.IMPPSession
	Info protocol.Info
	// Close ends what the opener started (for a session of its own: log
	// out, which tells contacts "unavailable"; for a borrowed one, e.g.
	// the agent's, only the loan). Nil: nothing to do.
	Close func()
	// Own: the session was opened for this call. Its on-the-phone
	// presence then has priority -1, so that the server neither routes
	// messages for the bare JID to it nor hands it stored offline messages
	// (RFC 6121 §4.7.2.3, §8.5.2.1.1): a call must not swallow the user's
	// chat.
	Own bool
	// Restore is the presence to send after the call; nil sends none (an
	// own session: its Close says "unavailable").
	Restore *protocol.Presence
}

// Options shape a Tracker.
type Options struct {
	// Timeout bounds each update (DefaultTimeout when 0).
	Timeout time.Duration
	// Note receives one line per thing that went wrong or was left out
	// (nil: dropped).
	Note func(string)
}

// Tracker follows the calls of one command. It is level-triggered: the
// user is on the phone while more Up calls than Down calls were made, so
// several calls at once (answer --concurrency) are one on-the-phone span,
// and a call that ended before the session opened changes nothing. Its
// methods never block for longer than the bounds above and are safe to
// call from any goroutine.
type Tracker struct {
	opts Options
	poke chan struct{} // cap 1: the worker has something to look at
	done chan struct{}

	mu      sync.Mutex
	calls   int      // Up minus Down, never below 0
	closed  bool     // Close was called
	applied []string // what was sent (Applied)
}

// Start opens the Chat session with open in the background (concurrently
// with the call's set-up: it never delays the INVITE) and returns at once.
// ctx bounds the opening only; updates after it was cancelled (Ctrl-C
// hung the call up) still run, each within the timeout.
func Start(ctx context.Context, open func(context.Context) (Session, error), opts Options) *Tracker {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Note == nil {
		opts.Note = func(string) {}
	}
	t := &Tracker{opts: opts, poke: make(chan struct{}, 1), done: make(chan struct{})}
	go t.run(ctx, open)
	return t
}

// Up says a call is answered: show the user as on the phone. A nil
// Tracker (the feature is off) does nothing, as do its other methods.
func (t *Tracker) Up() { t.change(+1) }

// Down says a call ended (answered or not): once no call is up, restore
// what was.
func (t *Tracker) Down() { t.change(-1) }

func (t *Tracker) change(d int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.calls = max(0, t.calls+d)
	t.mu.Unlock()
	t.wake()
}

func (t *Tracker) wake() {
	select {
	case t.poke <- struct{}{}:
	default: // a poke is pending already
	}
}

// want reports whether the user should be shown on the phone, and
// whether the tracker is closing.
func (t *Tracker) want() (up, closing bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls > 0 && !t.closed, t.closed
}

// Close ends the tracker: a call still up is taken as ended (restored),
// then the session is closed. It waits at most wait for that.
func (t *Tracker) Close(wait time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wake()
	select {
	case <-t.done:
	case <-time.After(wait):
		t.opts.Note(fmt.Sprintf("presence: not restored within %s; the chat session ends with the command", wait))
	}
}

// Applied lists what the tracker sent, in order ("presence dnd", …).
func (t *Tracker) Applied() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.applied...)
}

func (t *Tracker) record(s string) {
	t.mu.Lock()
	t.applied = append(t.applied, s)
	t.mu.Unlock()
}

func (t *Tracker) run(ctx context.Context, open func(context.Context) (Session, error)) {
	defer close(t.done)
	octx, cancel := context.WithTimeout(ctx, 3*t.opts.Timeout)
	s, err := open(octx)
	cancel()
	if err != nil {
		t.opts.Note(fmt.Sprintf("presence: the chat aspect did not open, contacts will not see the call: %v", err))
		return
	}
	if s.Close != nil {
		defer s.Close()
	}
	ap, canActivity := s.IMPP.(protocol.ActivityPublisher)
	canActivity = canActivity && s.Info.Has(protocol.CapActivity)
	canPresence := s.Info.Has(protocol.CapPresence)
	if !canPresence {
		t.opts.Note(fmt.Sprintf("presence: the chat backend %q cannot set presence", s.Info.Name))
	}
	up, activity := false, false
	bg := context.WithoutCancel(ctx)
	do := func(what string, f func(context.Context) error) bool {
		c, cancel := context.WithTimeout(bg, t.opts.Timeout)
		defer cancel()
		if err := f(c); err != nil {
			t.opts.Note(fmt.Sprintf("presence: %s: %v", what, err))
			return false
		}
		t.record(what)
		return true
	}
	down := func() {
		if activity {
			// XEP-0108 §5: an empty <activity/> ends it.
			do("activity retracted", func(c context.Context) error { return ap.PublishActivity(c, protocol.Activity{}) })
			activity = false
		}
		if r := s.Restore; r != nil && canPresence {
			do("presence restored", func(c context.Context) error { return s.IMPP.SetPresence(c, *r) })
		}
		up = false
	}
	for {
		want, closing := t.want()
		switch {
		case want && !up && canPresence:
			// The activity first: a contact who sees the dnd presence
			// finds the activity already there (and on the way back it is
			// retracted before the presence changes).
			if canActivity {
				activity = do("activity talking/on_the_phone", func(c context.Context) error { return ap.PublishActivity(c, OnThePhone) })
				canActivity = activity // not retried: see below
			}
			p := protocol.Presence{Show: "dnd", Status: Status}
			if s.Own {
				p.Priority = -1
			}
			up = do("presence dnd", func(c context.Context) error { return s.IMPP.SetPresence(c, p) })
			if !up {
				// Not retried: a server that refused once would refuse
				// again, and each try would be another note.
				canPresence = false
				if activity {
					down()
				}
			}
		case !want && up:
			down()
		}
		if closing {
			return
		}
		<-t.poke
	}
}
