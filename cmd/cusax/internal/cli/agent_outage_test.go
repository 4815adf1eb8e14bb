//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// outageOneLiner is one `cusax chat` one-liner of alice's, run in the
// background so the test can see (on its --debug stderr) that it reached
// the agent before the outage ends.
type outageOneLiner struct {
	body   string
	stderr lockedBuffer
	stdout lockedBuffer
	err    error
	done   chan struct{}
}

// TestAgentCombinedOutage (issue 17, the second must-show): alice's
// account (SIP over TLS + XMPP) kept by `cusax agent run`, bob's `cusax
// chat --listen --json` (no agent for bob: --no-agent, so it logs in
// itself and no other agent on the machine can serve it).
//   - Prosody stopped; while it is away 20 one-liners `cusax --account
//     lab chat BOB "outage NN"` are started at once; they reach alice's
//     agent, which holds them until it is connected again (their Connect
//     waits for the chat aspect up to their deadline). Only when all 20
//     are at the agent is Prosody started again.
//   - The agent and bob's listener each say lost, then connected again,
//     within 10 s of Prosody being back; all 20 one-liners exit 0; bob's
//     listener prints each of the 20 exactly once, "delayed": true, with
//     a delay time inside the outage (XEP-0203: the agent stamps what it
//     held with the time it was handed over).
//   - `cusax answer` for alice attached through the agent (a lease: no
//     REGISTER of its own); Kamailio restarted (it forgets every
//     binding): the agent registers again within 10 s (its stderr, its
//     Status, Kamailio's location table: one binding), and a sipp call to
//     alice's AOR through Kamailio is answered by `cusax answer` (200).
func TestAgentCombinedOutage(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	h := bedAgentHome(t, ctx, bed, "outalice")
	aor := "sip:outalice@" + bed.Domain
	bobHome, bob := deliveryUser(t, bed, "outbob", "")

	// alice's agent, as a user would run it under systemd.
	agent := h.run(t)
	agent.waitLog(t, "lab: telephony: registered "+aor+" over tls", 30*time.Second)
	agent.waitLog(t, "lab: chat: connected as", 30*time.Second)
	// Processes started by startCusax (the answer below) inherit this:
	// they find alice's agent.
	t.Setenv("XDG_RUNTIME_DIR", h.rt)

	listener := startCusax(t, bobHome, false, "--no-agent", "chat", "--listen", "--json", "--give-up-after", "0", "--listen-for", "140s")
	waitPresence(t, bed, bob)

	// Prosody away.
	stopped := time.Now()
	if err := bed.StopProsody(); err != nil {
		t.Fatal(err)
	}
	// bob's listener holds a message stream: it sees the stream end at
	// once. (The agent notices through its probe or, sooner, through the
	// one-liners' calls failing on the dead session: checked below.)
	waitStderr(t, listener, "cusax: chat: connection of "+bob+" lost (", 15*time.Second)

	const total = 20
	var wg sync.WaitGroup
	liners := make([]*outageOneLiner, total)
	for i := range liners {
		o := &outageOneLiner{body: fmt.Sprintf("outage %02d", i+1), done: make(chan struct{})}
		liners[i] = o
		cmd := exec.CommandContext(ctx, cusaxBinary(t), "--config", h.home+"/cusax/config.toml", "--debug",
			"--account", "lab", "chat", "--json", bob, o.body)
		cmd.Env = h.env
		cmd.Stdout, cmd.Stderr = &o.stdout, &o.stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(o.done)
			o.err = cmd.Run()
		}()
	}
	// The outage lasts until every one-liner is at the agent (its lease
	// asked for), not a fixed time: under load starting 20 processes may
	// take a while.
	waitFor(t, "the 20 one-liners to reach the agent", 30*time.Second, func() bool {
		for _, o := range liners {
			select {
			case <-o.done:
				t.Fatalf("%q exited during the outage: %v\n%s", o.body, o.err, o.stderr.String())
			default:
			}
			if !strings.Contains(o.stderr.String(), "using the agent's live session") {
				return false
			}
		}
		return true
	})
	reached := time.Now()
	noticed := agent.waitLog(t, "lab: chat: connection lost", 15*time.Second)
	t.Logf("the 20 one-liners at the agent %.2f s after Prosody stopped; the agent said lost by %.2f s", reached.Sub(stopped).Seconds(), noticed.Sub(stopped).Seconds())
	if err := bed.RestartProsody(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("Prosody away %.1f s (until the 20 one-liners were at the agent)", back.Sub(stopped).Seconds())

	// Both back within 10 s of the server.
	again := agent.waitLog(t, "lab: chat: connected again after", 10*time.Second)
	t.Logf("agent: chat connected again %.1f s after Prosody was back", again.Sub(back).Seconds())
	waitStderr(t, listener, "cusax: chat: connection of "+bob+" restored; listening again after ", 10*time.Second-time.Since(back))
	t.Logf("bob's chat --listen listening again %.1f s after Prosody was back (seen by then)", time.Since(back).Seconds())

	// All 20 one-liners went through, each exit 0.
	waitFor(t, "the 20 one-liners to exit", 30*time.Second, func() bool {
		for _, o := range liners {
			select {
			case <-o.done:
			default:
				return false
			}
		}
		return true
	})
	wg.Wait()
	for _, o := range liners {
		var ee *exec.ExitError
		if o.err != nil {
			code := -1
			if errors.As(o.err, &ee) {
				code = ee.ExitCode()
			}
			t.Errorf("%q: exit %d (%v), want 0\nstdout: %s\nstderr: %s", o.body, code, o.err, o.stdout.String(), o.stderr.String())
		}
	}
	sent := time.Now()
	t.Logf("the 20 one-liners all exited %.1f s after Prosody was back", sent.Sub(back).Seconds())

	// bob's listener: each of the 20 once, delayed, stamped inside the
	// outage. A live message sent after them marks the end (no sleep to
	// wait for duplicates).
	sendFromBob(t, ctx, bed, bob, "live after the outage")
	got := waitBody(t, listener, "live after the outage")
	seen := map[string]int{}
	// Stamps have whole seconds (XEP-0082 allows fractions; Prosody's
	// have none): the window starts at the second Prosody stopped.
	from, to := stopped.Truncate(time.Second), back
	for _, m := range got {
		seen[m.Body]++
		if !strings.HasPrefix(m.Body, "outage ") {
			continue
		}
		switch {
		case !m.Delayed || m.Delay == nil:
			t.Errorf("%s: not marked delayed: %+v", m.Body, m)
		case m.Delay.Before(from) || m.Delay.After(to):
			t.Errorf("%s: delay %s, want inside the outage [%s, %s]", m.Body, m.Delay.UTC().Format(time.RFC3339Nano),
				from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
		case !strings.HasPrefix(m.From, "outalice@"+bed.Domain):
			t.Errorf("%s: from %s", m.Body, m.From)
		}
	}
	var first, last time.Time
	for _, m := range got {
		if m.Delay != nil && strings.HasPrefix(m.Body, "outage ") {
			if first.IsZero() || m.Delay.Before(first) {
				first = *m.Delay
			}
			if m.Delay.After(last) {
				last = *m.Delay
			}
		}
	}
	t.Logf("bob's listener: %d lines; the delay stamps from %+.2f s to %+.2f s after Prosody stopped (it was back at %+.2f s)",
		len(got), first.Sub(stopped).Seconds(), last.Sub(stopped).Seconds(), back.Sub(stopped).Seconds())
	missing, dup := 0, 0
	for _, o := range liners {
		switch seen[o.body] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing != 0 || dup != 0 || len(got) != total+1 {
		t.Errorf("bob's listener printed %d lines, want %d: %d missing, %d duplicated\n%s", len(got), total+1, missing, dup,
			strings.Join(listener.output(), "\n"))
	}

	// `cusax answer` for alice, attached through the agent: its
	// registration is the agent's lease (no REGISTER of its own). sipp
	// offers plain RTP: optional media encryption takes it.
	before := countsFor(t, bed, "outalice")
	ans := startAnswer(t, h.home, nil, "--give-up-after", "0", "--media-encryption", "optional", "--duration", "1s",
		"--accept", "verified,verified-by-scan,ambiguous,mismatch,not-in-roster,unknown")
	if after := countsFor(t, bed, "outalice"); after != before {
		t.Errorf("cusax answer through the agent caused %d XMPP logins and %d REGISTERs; want none (a lease)",
			after.logins-before.logins, after.registers-before.registers)
	}

	// Kamailio away and back: it forgets every binding.
	if err := bed.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	back = time.Now()
	agent.waitLog(t, "lab: telephony: registration lost", 10*time.Second)
	again = agent.waitLog(t, "lab: telephony: registered again after", 10*time.Second-time.Since(back))
	t.Logf("agent: registered again %.1f s after Kamailio was back", again.Sub(back).Seconds())
	if st := h.status(t); len(st.Accounts) != 1 || st.Accounts[0].Telephony.State != "connected" || st.Accounts[0].Chat.State != "connected" {
		t.Errorf("agent status after the restarts: %+v", st)
	}
	if b := bindings(t, bed, "outalice"); len(b) != 1 {
		t.Errorf("Kamailio's bindings for outalice after its restart: %v, want the agent's one", b)
	}

	// A call to alice's AOR through Kamailio reaches her answer (200).
	id := callID("outage")
	res := (<-sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: aor, CallID: id, Hold: 500 * time.Millisecond})).must(t)
	t.Logf("sipp: call %s answered, set-up %s", res.CallID, res.Setup)
	if r := ans.reportFor(t, id, 15*time.Second); r.Action != "answered" || r.Error != "" {
		t.Errorf("cusax answer reported %+v, want the call answered", r)
	}
	if strings.Contains(agent.stderr.String(), "nobody is answering") {
		t.Errorf("the agent answered a call its lease (cusax answer) was listening for:\n%s", agent.stderr.String())
	}
	select {
	case <-listener.exited:
		t.Errorf("bob's chat --listen exited %d:\n%s", listener.code, listener.stderr.String())
	default:
	}
}
