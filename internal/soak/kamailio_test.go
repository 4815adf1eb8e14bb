package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// callCount is a kamailio row: every call placed, sorted by what became
// of it (see docs/soak.md, "Calls").
type callCount struct {
	placed   int
	received int // whois-caller printed its Call-ID
	lost     int // Kamailio relayed it to the listener, which never printed it
	refused  int // refused while deregistered: 480/404 from the registrar itself, never relayed
	other    int // none of these (no final response, or one the registrar gave for another reason)
}

func (c *callCount) summary() []string {
	s := []string{fmt.Sprintf("refused while deregistered %d (480 from the registrar, which had no binding for bob: never reached cusax)", c.refused)}
	if c.other > 0 {
		s = append(s, fmt.Sprintf("%d neither received nor refused by the registrar", c.other))
	}
	return s
}

// placedCall is one counted call of a round and what became of it.
type placedCall struct {
	id      string
	at      time.Time
	status  int    // final response sipp saw; 0: none
	state   string // what the listener had said about its registration when the call was placed
	printed bool   // whois-caller printed the Call-ID
	inLog   bool   // Kamailio logged the INVITE (its log prefix carries the Call-ID)
	relayed bool   // … and relayed it to a registered contact
}

func isLostLine(s string) bool {
	return strings.HasPrefix(s, "cusax: whois-caller: registration of ") && strings.Contains(s, " lost (")
}

func isRestoredLine(s string) bool {
	return strings.HasPrefix(s, "cusax: whois-caller: registered ") && strings.Contains(s, " again (")
}

// (d) Kamailio restarts while `whois-caller --listen` runs as home (bob's
// account; SIP over TCP or UDP). Once the listener says it registered
// again (waiting at most wait), alice calls three more times. Each call
// is received (printed), lost (relayed by Kamailio, never printed) or
// refused while deregistered (the registrar answered 480 itself).
func (r *run) kamailioRestart(round int, name, home string, wait time.Duration) {
	w := r.row(name)
	w.rounds++
	if w.calls == nil {
		w.calls = &callCount{}
	}
	l, err := r.start(name+"-whois", home, "whois-caller", "--listen", "--on-call", "busy", "--json")
	if err != nil {
		w.note("round %d: %v", round, err)
		return
	}
	l.tailStderr()
	defer func() {
		if !l.exited() {
			w.stopListener(l, "whois-caller")
		} else {
			w.exit("whois-caller", l)
		}
		w.leftover += leftovers(r.bin, 5*time.Second)
	}()
	var restart time.Time // zero until Kamailio restarts
	var calls []*placedCall
	call := func(id string, count bool) int {
		c := &placedCall{id: id, at: time.Now(), state: "registered"}
		if !restart.IsZero() {
			c.state = "said nothing since the restart"
			if _, ok := l.stderrLine(restart, isLostLine); ok {
				c.state = "said lost"
			}
			if _, ok := l.stderrLine(restart, isRestoredLine); ok {
				c.state = "registered again"
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, _ := r.bed.SippInvite(ctx, testbed.SippInviteOptions{From: "alice", To: "sip:bob@" + r.bed.Domain, ExpectStatus: 486, CallID: id})
		c.status = res.Status
		if count {
			calls = append(calls, c)
		}
		return res.Status
	}
	// Ready: bob's registration answers (the probe calls are not counted).
	ready := false
	for i := 0; i < 20 && !l.exited(); i++ {
		if call(fmt.Sprintf("probe-%d", r.rng.Int64()), false) == 486 {
			ready = true
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !ready {
		w.note("round %d: whois-caller --listen never answered 486", round)
		return
	}
	want := ids(strings.ReplaceAll(name, "-", ""), round, 4)
	call(want[0], true)
	restart = time.Now()
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = r.bed.RestartKamailio(rctx)
	rcancel()
	if err != nil {
		w.note("round %d: %v", round, err)
		return
	}
	back := time.Since(restart)
	if wait > 0 {
		l.waitStderr(restart, isRestoredLine, wait-back)
	}
	for _, id := range want[1:] {
		time.Sleep(2 * time.Second)
		call(id, true)
	}
	l.waitLine(want[len(want)-1], 3*time.Second)

	// What the listener said, and how long after the restart began.
	recovery := fmt.Sprintf("Kamailio back %.1f s after the restart began; ", back.Seconds())
	if ll, ok := l.stderrLine(restart, isLostLine); ok {
		recovery += fmt.Sprintf("\"lost\" at %.1f s, ", ll.at.Sub(restart).Seconds())
	} else {
		recovery += "no \"lost\" line, "
	}
	if rl, ok := l.stderrLine(restart, isRestoredLine); ok {
		recovery += fmt.Sprintf("\"registered again\" at %.1f s", rl.at.Sub(restart).Seconds())
	} else {
		recovery += fmt.Sprintf("no \"registered again\" by %.1f s", time.Since(restart).Seconds())
	}
	if wait > 0 {
		recovery += fmt.Sprintf(" (waited up to %s)", wait)
	} else {
		recovery += " (not waited for)"
	}

	relayed := r.kamailioRelayed()
	var per []string
	for i, c := range calls {
		c.printed = r.tally.seen([]string{c.id}) > 0
		c.inLog, c.relayed = relayed(c.id)
		w.calls.placed++
		verdict := ""
		switch {
		case c.printed:
			w.calls.received++
			verdict = "received"
			if !c.relayed {
				// The relay test below would then miss lost calls too.
				w.note("round %d: call %s was printed but Kamailio's log shows no relay of it", round, c.id)
			}
		case c.relayed:
			w.calls.lost++
			verdict = "lost (relayed, not printed)"
		case c.inLog && (c.status == 480 || c.status == 404):
			w.calls.refused++
			verdict = "refused while deregistered"
		case !c.inLog && (c.status == 480 || c.status == 404):
			// Kamailio's log did not say: by the response alone.
			w.calls.refused++
			verdict = "refused while deregistered (by the response; not in Kamailio's log)"
		default:
			w.calls.other++
			verdict = "neither received nor refused"
		}
		when := "before"
		if i > 0 {
			when = fmt.Sprintf("+%.1f s", c.at.Sub(restart).Seconds())
		}
		per = append(per, fmt.Sprintf("%s %d %s [listener: %s]", when, c.status, verdict, c.state))
		if c.state == "registered again" && verdict != "received" {
			w.note("round %d: call %s failed although the listener had said it registered again", round, c.id)
		}
	}
	w.note("round %d: %s; calls: %s", round, recovery, strings.Join(per, ", "))
}

// kamailioRelayed reads the bed's Kamailio log (kept across restarts) and
// returns, for a Call-ID, whether Kamailio logged the INVITE at all and
// whether it relayed it to a registered contact (its
// "cusax-testbed: INVITE … to …" line, written only after a successful
// registrar lookup).
func (r *run) kamailioRelayed() func(callID string) (inLog, relayed bool) {
	var text string
	for _, f := range r.bed.LogFiles() {
		if strings.HasPrefix(filepath.Base(f), "kamailio") {
			b, _ := os.ReadFile(f)
			text += string(b)
		}
	}
	lines := strings.Split(text, "\n")
	return func(callID string) (inLog, relayed bool) {
		for _, l := range lines {
			if !strings.Contains(l, callID) {
				continue
			}
			inLog = true
			if strings.Contains(l, "cusax-testbed: INVITE ") {
				relayed = true
			}
		}
		return inLog, relayed
	}
}
