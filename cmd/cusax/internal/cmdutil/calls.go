package cmdutil

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// IncomingItem is one value of an IncomingCalls stream, or its end (Err).
type IncomingItem struct {
	Call protocol.IncomingCall
	Err  error
}

// PumpCalls reads st on a goroutine of its own, so that a listener can
// select on calls, Ctrl-C and its give-up timer at once. The last item
// carries the stream's error; closing done stops the pump.
func PumpCalls(st protocol.Stream[protocol.IncomingCall], done <-chan struct{}) <-chan IncomingItem {
	items := make(chan IncomingItem)
	go func() {
		for {
			in, err := st.Recv()
			select {
			case items <- IncomingItem{in, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return items
}

// CallListener says on stderr what an IncomingCalls stream reports
// besides calls (missed calls, registration changes), for the commands
// that listen (whois-caller --listen, answer), and keeps the --give-up-after
// timer: a listener that stays deaf says so with exit 7 (RFC 3261 §10.2.4:
// the backend keeps the binding; the listener bounds how long it waits).
type CallListener struct {
	Command     string // "whois-caller", "answer": the stderr prefix
	AOR         string
	GiveUpAfter time.Duration
	// Missed ends the missed-calls line: what did not happen to them
	// ("were being judged and were not judged").
	Missed string
	ErrOut io.Writer

	lostSince time.Time
	giveUp    <-chan time.Time
}

// Report prints in when it is a report, not a call, and reports whether
// it was one.
func (l *CallListener) Report(in protocol.IncomingCall) bool {
	if in.Missed > 0 {
		ids := strings.Join(in.MissedCallIDs, ", ")
		if uint64(len(in.MissedCallIDs)) < in.Missed {
			ids += ", …"
		}
		fmt.Fprintf(l.ErrOut, "cusax: %s: %d incoming call(s) arrived while %s (Call-ID %s)\n", l.Command, in.Missed, l.Missed, ids)
		return true
	}
	ev := in.Registration
	if ev == nil {
		return false
	}
	switch ev.State {
	case protocol.RegistrationLost:
		if l.lostSince.IsZero() {
			l.lostSince = time.Now()
			if l.GiveUpAfter > 0 {
				l.giveUp = time.After(l.GiveUpAfter)
			}
		}
	case protocol.RegistrationRestored:
		l.lostSince, l.giveUp = time.Time{}, nil
	}
	fmt.Fprintln(l.ErrOut, l.registrationLine(ev))
	return true
}

// GiveUp fires when the registration stayed lost for GiveUpAfter.
func (l *CallListener) GiveUp() <-chan time.Time { return l.giveUp }

// GiveUpErr is the error to end with when GiveUp fired (exit 7).
func (l *CallListener) GiveUpErr() error {
	return fmt.Errorf("%s: registration of %s lost %s ago and not restored; giving up (--give-up-after %s): %w",
		l.Command, l.AOR, time.Since(l.lostSince).Round(100*time.Millisecond), l.GiveUpAfter, protocol.ErrUnreachable)
}

func (l *CallListener) registrationLine(ev *protocol.RegistrationEvent) string {
	p := "cusax: " + l.Command + ": "
	switch ev.State {
	case protocol.RegistrationLost:
		return fmt.Sprintf("%sregistration of %s with %s over %s lost (%s); registering again", p, l.AOR, ev.Server, ev.Transport, ev.Reason)
	case protocol.RegistrationRetrying:
		return fmt.Sprintf("%sregistering %s again failed (%s); next attempt in %.1f s", p, l.AOR, ev.Reason, ev.Retry.Seconds())
	case protocol.RegistrationRestored:
		return fmt.Sprintf("%sregistered %s again (%s over %s) after %.1f s", p, l.AOR, ev.Address, ev.Transport, ev.Down.Seconds())
	}
	return fmt.Sprintf("%sregistration of %s: %s %s", p, l.AOR, ev.State, ev.Reason)
}
