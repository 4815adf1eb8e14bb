package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/oncall"
	"github.com/cusax/cusax/pkg/protocol"
	xmppbackend "github.com/cusax/cusax/plugins/xmpp"
)

// presenceUser is a bed user logged in with cusax (account "lab", SIP over
// UDP) in a home of its own.
type presenceUser struct {
	name, jid, home, password string
}

func newPresenceUser(t *testing.T, bed *testbed.Bed, name string) presenceUser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, name)
	if err != nil {
		t.Fatal(err)
	}
	u := presenceUser{name: name, jid: bed.JID(name), home: t.TempDir(), password: users[name].Password}
	if r := runCLI(t, u.home, u.password+"\n", loginArgs(bed, name, "sip:"+bed.SIPUDPAddr+";transport=udp")...); r.code != 0 {
		t.Fatalf("login %s: %d\n%s", name, r.code, r.stderr)
	}
	return u
}

func (u presenceUser) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", u.home+"/state")
	t.Setenv("XDG_CACHE_HOME", u.home+"/cache")
	return runCLI(t, u.home, "", args...)
}

// rosterPresence is `cusax roster --presence --json` of u, by JID.
func (u presenceUser) rosterPresence(t *testing.T) map[string][2]string {
	t.Helper()
	r := u.run(t, "roster", "--presence", "--presence-wait", "500ms", "--json")
	if r.code != 0 {
		t.Fatalf("roster --presence: exit %d", r.code)
	}
	var got []struct {
		JID          string `json:"jid"`
		Subscription string `json:"subscription"`
		Presence     struct {
			State string `json:"state"`
		} `json:"presence"`
	}
	if err := cmdtest.UnmarshalList(r.stdout, "contacts", &got); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	out := map[string][2]string{}
	for _, c := range got {
		out[c.JID] = [2]string{c.Subscription, c.Presence.State}
	}
	return out
}

// TestPresenceSubscribeAndUnknown: `roster subscribe` and `roster approve`
// against the real Prosody (RFC 6121 §3.1), and what `roster --presence`
// says of a contact before and after: unknown without a subscription to
// their presence (§2.1.2.1), offline with one and no presence.
func TestPresenceSubscribeAndUnknown(t *testing.T) {
	bed := testbed.Shared(t)
	al := newPresenceUser(t, bed, "psubal")
	bo := newPresenceUser(t, bed, "psubbo")

	// bob asks; before alice answers, bob's roster has her with
	// subscription none: her presence is unknown to him, not offline.
	r := bo.run(t, "roster", "subscribe", al.jid, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"presence_type": "subscribe"`) {
		t.Fatalf("roster subscribe: exit %d: %s", r.code, r.stdout)
	}
	if got := bo.rosterPresence(t)[al.jid]; got != [2]string{"none", "unknown"} {
		t.Errorf("bob's view of alice before approval = %v, want [none unknown]", got)
	}
	if r := al.run(t, "roster", "approve", bo.jid); r.code != 0 || r.stdout != "subscribed\t"+bo.jid+"\n" {
		t.Fatalf("roster approve: exit %d: %q", r.code, r.stdout)
	}
	// Alice is offline: bob, now subscribed ("to"), may say so.
	if got := bo.rosterPresence(t)[al.jid]; got != [2]string{"to", "offline"} {
		t.Errorf("bob's view of alice after approval = %v, want [to offline]", got)
	}
	// Alice's side: bob sees her ("from"), she does not see him: unknown.
	if got := al.rosterPresence(t)[bo.jid]; got != [2]string{"from", "unknown"} {
		t.Errorf("alice's view of bob = %v, want [from unknown]", got)
	}
	for _, bad := range []string{"not-a-jid", "a@b@c", "@" + bed.Domain} {
		if r := bo.run(t, "roster", "subscribe", bad); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("roster subscribe %q: exit %d, stderr %q; want exit 2 and one line", bad, r.code, r.stderr)
		}
	}
}

// watcher is bob's client: our xmpp backend in the test, with its
// presence stream.
type watcher struct {
	sess protocol.IMPPSession
	ps   protocol.Stream[protocol.Presence]
	got  chan protocol.Presence
}

func newWatcher(t *testing.T, bed *testbed.Bed, u presenceUser) *watcher {
	t.Helper()
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := xmppbackend.New(nil).Connect(ctx, protocol.ConnectRequest{
		Address: u.jid, Password: u.password, Server: bed.XMPPAddr, CAPEM: ca, Resource: "watch", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sess.Close(context.Background()) })
	// The stream lives as long as the test (not ctx, the log-in's bound).
	ps, err := sess.Presences(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	w := &watcher{sess: sess, ps: ps, got: make(chan protocol.Presence, 256)}
	go func() {
		defer close(w.got)
		for {
			p, err := ps.Recv()
			if err != nil {
				return
			}
			w.got <- p
		}
	}()
	// Initial presence: only then does the server send us contacts' presence.
	if err := sess.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// next waits up to d for a presence from bare that match accepts.
func (w *watcher) next(t *testing.T, bare string, d time.Duration, what string, match func(protocol.Presence) bool) protocol.Presence {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case p, ok := <-w.got:
			if !ok {
				t.Fatalf("%s: the presence stream ended", what)
			}
			if !strings.HasPrefix(p.From, bare+"/") && p.From != bare {
				continue
			}
			t.Logf("watcher: %+v", p)
			if match(p) {
				return p
			}
		case <-deadline:
			t.Fatalf("%s: not seen within %s", what, d)
		}
	}
}

func (w *watcher) activity(t *testing.T, jid string) protocol.Activity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := w.sess.(interface {
		Activity(context.Context, string) (protocol.Activity, error)
	}).Activity(ctx, jid)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPresenceOnThePhone (issue 17, must show): bob is subscribed to
// alice's presence (through `roster subscribe` / `approve`). While alice's
// `cusax call` to a sipp callee is up, bob's client sees her presence go
// to dnd "on the phone", and reads her XEP-0108 activity
// talking/on_the_phone from PEP (the bed's Prosody has mod_pep); after the
// hang-up the activity is retracted and her presence goes back. Without an
// agent "back" is unavailable: the call's own Chat session was the only
// one alice had, and it logs out with the command (with `cusax agent`
// running, the agent's session gets the presence it had before).
func TestPresenceOnThePhone(t *testing.T) {
	bed := testbed.Shared(t)
	bin := cusaxBinary(t) // built first: the build must not eat the call's time
	al := newPresenceUser(t, bed, "pcallal")
	bo := newPresenceUser(t, bed, "pcallbo")
	callee := calleeUser(t, bed, "pcallee")
	if r := bo.run(t, "roster", "subscribe", al.jid); r.code != 0 {
		t.Fatalf("subscribe: exit %d", r.code)
	}
	if r := al.run(t, "roster", "approve", bo.jid); r.code != 0 {
		t.Fatalf("approve: exit %d", r.code)
	}
	w := newWatcher(t, bed, bo)

	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, HoldTimeout: 20 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config", al.home+"/cusax/config.toml", "call", uas.URI, "--duration", "4s", "--json")
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+al.home, "XDG_DATA_HOME="+al.home+"/data",
		"XDG_CACHE_HOME="+al.home+"/cache", "XDG_STATE_HOME="+al.home+"/state", "CUSAX_PLUGIN_PATH=")
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	p := w.next(t, al.jid, 20*time.Second, "alice on the phone", func(p protocol.Presence) bool { return p.Type == "" && p.Show == "dnd" })
	seenAt := time.Since(t0)
	if p.Status != oncall.Status {
		t.Errorf("status %q, want %q", p.Status, oncall.Status)
	}
	select {
	case err := <-done:
		t.Fatalf("the call ended before its --duration while dnd was checked: %v\n%s", err, stderr.String())
	default:
	}
	if a := w.activity(t, al.jid); a != oncall.OnThePhone {
		t.Errorf("alice's activity during the call = %+v, want %+v", a, oncall.OnThePhone)
	}
	back := w.next(t, al.jid, 30*time.Second, "alice after the hang-up", func(q protocol.Presence) bool { return q.From == p.From && q.Type == "unavailable" })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("call: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end")
	}
	t.Logf("call stderr:\n%s", stderr.String())
	var out struct {
		Answered   bool  `json:"answered"`
		DurationMS int64 `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil || !out.Answered {
		t.Fatalf("outcome %v: %s", err, stdout.String())
	}
	if a := w.activity(t, al.jid); a != (protocol.Activity{}) {
		t.Errorf("alice's activity after the call = %+v, want none (XEP-0108 §5)", a)
	}
	if res, err := uas.Wait(15 * time.Second); err != nil || res.Successful != 1 {
		t.Errorf("callee: %+v, %v", res, err)
	}
	t.Logf("dnd seen %d ms after the start; back to %q; call %d ms", seenAt.Milliseconds(), back.Type, out.DurationMS)
}

// TestPresenceOnThePhoneAnswer: the same for a call taken by `cusax
// answer` (a sipp caller through Kamailio, holding 3 s): bob sees alice
// dnd "on the phone" with the activity while the call is up, then
// unavailable again, as the listener's own Chat session was before the
// call (it takes no presence otherwise: it only judges callers).
func TestPresenceOnThePhoneAnswer(t *testing.T) {
	bed := testbed.Shared(t)
	cusaxBinary(t)
	al := newPresenceUser(t, bed, "pansal")
	bo := newPresenceUser(t, bed, "pansbo")
	if r := bo.run(t, "roster", "subscribe", al.jid); r.code != 0 {
		t.Fatalf("subscribe: exit %d", r.code)
	}
	if r := al.run(t, "roster", "approve", bo.jid); r.code != 0 {
		t.Fatalf("approve: exit %d", r.code)
	}
	w := newWatcher(t, bed, bo)
	p := startAnswer(t, al.home, nil, "--max-calls", "1", "--duration", "30s",
		"--accept", "verified,verified-by-scan,ambiguous,mismatch,not-in-roster,unknown,anonymous")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := callID("pres")
	call := sippCall(ctx, bed, testbed.SippCallOptions{From: "bob", To: "sip:" + al.name + "@" + bed.Domain, CallID: id, Hold: 3 * time.Second})
	dnd := w.next(t, al.jid, 20*time.Second, "alice on the phone", func(p protocol.Presence) bool { return p.Type == "" && p.Show == "dnd" })
	if dnd.Status != oncall.Status {
		t.Errorf("status %q", dnd.Status)
	}
	if a := w.activity(t, al.jid); a != oncall.OnThePhone {
		t.Errorf("activity during the call = %+v", a)
	}
	w.next(t, al.jid, 20*time.Second, "alice after the call", func(q protocol.Presence) bool { return q.From == dnd.From && q.Type == "unavailable" })
	(<-call).must(t)
	r := p.report(t, 1, 10*time.Second)
	if r.CallID != id || r.Action != "answered" {
		t.Errorf("report %+v", r)
	}
	if a := w.activity(t, al.jid); a != (protocol.Activity{}) {
		t.Errorf("activity after the call = %+v, want none", a)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Errorf("answer exit %d: %s", code, p.stderr.String())
	}
}

// TestPresenceCommand: `cusax presence away` without an agent: bob sees
// alice away, then unavailable when the command's session ends (it says
// so); with --hold she stays away until Ctrl-C. The hostile case: a
// message stored for alice while she was offline is not swallowed by
// these sessions nobody reads, nor by `roster --presence`: her next real
// session gets it. (Two guards hold here: the priority -1 of those
// sessions, RFC 6121 §8.5.2.1.1, and, on this Prosody, XEP-0198, which
// stores again what a session never acknowledged; this test alone does
// not tell them apart.)
func TestPresenceCommand(t *testing.T) {
	bed := testbed.Shared(t)
	cusaxBinary(t)
	al := newPresenceUser(t, bed, "pcmdal")
	bo := newPresenceUser(t, bed, "pcmdbo")
	if r := bo.run(t, "roster", "subscribe", al.jid); r.code != 0 {
		t.Fatalf("subscribe: exit %d", r.code)
	}
	if r := al.run(t, "roster", "approve", bo.jid); r.code != 0 {
		t.Fatalf("approve: exit %d", r.code)
	}
	w := newWatcher(t, bed, bo)
	// Stored offline for alice (RFC 6121 §8.5.2.2.1), before anything.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.sess.Send(ctx, protocol.Message{To: al.jid, Type: "chat", Body: "while you were out"}); err != nil {
		t.Fatal(err)
	}

	r := al.run(t, "presence", "away", "--status", "lunch", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"lasts": "command"`) || !strings.Contains(r.stderr, "the presence ends with this command") {
		t.Fatalf("presence away: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	p := w.next(t, al.jid, 10*time.Second, "alice away", func(p protocol.Presence) bool { return p.Type == "" })
	if p.Show != "away" || p.Status != "lunch" {
		t.Errorf("alice's presence %+v, want away: lunch", p)
	}
	w.next(t, al.jid, 10*time.Second, "alice unavailable after the command", func(q protocol.Presence) bool { return q.From == p.From && q.Type == "unavailable" })
	if r := al.run(t, "presence"); r.code != 0 || r.stdout != "away\tlunch\n" {
		t.Errorf("presence (show): exit %d, %q", r.code, r.stdout)
	}

	// --hold: up until Ctrl-C.
	proc := startCusax(t, al.home, false, "presence", "dnd", "--hold")
	held := w.next(t, al.jid, 20*time.Second, "alice dnd held", func(p protocol.Presence) bool { return p.Type == "" && p.Show == "dnd" })
	select {
	case <-proc.exited:
		t.Fatalf("presence --hold exited %d: %s", proc.code, proc.stderr.String())
	case <-time.After(time.Second):
	}
	_ = proc.cmd.Process.Signal(os.Interrupt)
	w.next(t, al.jid, 10*time.Second, "alice unavailable after Ctrl-C", func(q protocol.Presence) bool { return q.From == held.From && q.Type == "unavailable" })
	if code := proc.wait(t, 10*time.Second); code != 130 {
		t.Errorf("presence --hold after Ctrl-C: exit %d, want 130", code)
	}

	// roster --presence only looks either.
	if r := al.run(t, "roster", "--presence", "--presence-wait", "500ms"); r.code != 0 {
		t.Fatalf("roster --presence: exit %d", r.code)
	}

	// The offline message is still there for alice's next real session.
	ca, _ := os.ReadFile(bed.CAFile)
	s, err := xmppbackend.New(nil).Connect(ctx, protocol.ConnectRequest{Address: al.jid, Password: al.password, Server: bed.XMPPAddr, CAPEM: ca, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ms, err := s.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	if err := s.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan protocol.Message, 1)
	go func() {
		for {
			m, err := ms.Recv()
			if err != nil {
				return
			}
			if m.Body == "while you were out" {
				got <- m
				return
			}
		}
	}()
	select {
	case m := <-got:
		if m.Delay.IsZero() {
			t.Errorf("the stored message has no XEP-0203 delay: %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message stored offline was swallowed: not delivered to alice's next session")
	}
}

// binRun runs the cusax binary with env and waits (bounded).
func binRun(t *testing.T, env []string, home string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cusaxBinary(t), append([]string{"--config", home + "/cusax/config.toml"}, args...)...)
	cmd.Env = env
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := cliResult{stdout: out.String(), stderr: errOut.String(), code: code}
	t.Logf("cusax %s → exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}

// TestPresenceOnThePhoneWithAgent: with `cusax agent` keeping alice
// connected, `cusax presence away` changes the agent's presence (it
// lasts), a `cusax call` shows dnd "on the phone" on the agent's session
// and, after the hang-up, bob sees her back to away: the presence she had
// set, not unavailable.
func TestPresenceOnThePhoneWithAgent(t *testing.T) {
	bed := testbed.Shared(t)
	bin := cusaxBinary(t)
	al := newPresenceUser(t, bed, "pagtal")
	bo := newPresenceUser(t, bed, "pagtbo")
	callee := calleeUser(t, bed, "pagtcallee")
	if r := bo.run(t, "roster", "subscribe", al.jid); r.code != 0 {
		t.Fatalf("subscribe: exit %d", r.code)
	}
	if r := al.run(t, "roster", "approve", bo.jid); r.code != 0 {
		t.Fatalf("approve: exit %d", r.code)
	}
	// And the other way round: alice sees bob's presence too.
	if r := al.run(t, "roster", "subscribe", bo.jid); r.code != 0 {
		t.Fatalf("subscribe: exit %d", r.code)
	}
	if r := bo.run(t, "roster", "approve", al.jid); r.code != 0 {
		t.Fatalf("approve: exit %d", r.code)
	}
	rt, err := os.MkdirTemp("", "rt-") // short: sun_path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	env := append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+al.home, "XDG_DATA_HOME="+al.home+"/data",
		"XDG_CACHE_HOME="+al.home+"/cache", "XDG_STATE_HOME="+al.home+"/state", "XDG_RUNTIME_DIR="+rt, "CUSAX_PLUGIN_PATH=")
	w := newWatcher(t, bed, bo)

	agent := exec.Command(bin, "--config", al.home+"/cusax/config.toml", "agent", "run")
	agent.Env = env
	agentErr := &lockedBuffer{}
	agent.Stderr = agentErr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan struct{})
	go func() { _ = agent.Wait(); close(agentDone) }()
	t.Cleanup(func() {
		_ = agent.Process.Signal(os.Interrupt)
		select {
		case <-agentDone:
		case <-time.After(15 * time.Second):
			_ = agent.Process.Kill()
			<-agentDone
		}
		t.Logf("agent stderr:\n%s", agentErr.String())
	})
	waitFor(t, "the agent's chat connected", 30*time.Second, func() bool { return strings.Contains(agentErr.String(), "chat: connected") })
	w.next(t, al.jid, 20*time.Second, "the agent online", func(p protocol.Presence) bool { return p.Type == "" })

	r := binRun(t, env, al.home, "presence", "away", "--status", "lunch", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"lasts": "agent"`) || strings.Contains(r.stderr, "ends with this command") {
		t.Fatalf("presence away through the agent: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	away := w.next(t, al.jid, 10*time.Second, "alice away", func(p protocol.Presence) bool { return p.Type == "" && p.Show == "away" })

	// roster --presence reads the agent's live view: bob (online, the
	// watcher) is available at once, and alice's own presence is left
	// alone (the next one bob sees from her is the call's dnd).
	r = binRun(t, env, al.home, "roster", "--presence", "--json")
	var view []struct {
		JID      string `json:"jid"`
		Presence struct {
			State string `json:"state"`
		} `json:"presence"`
	}
	if err := cmdtest.UnmarshalList(r.stdout, "contacts", &view); err != nil || r.code != 0 {
		t.Fatalf("roster --presence through the agent: exit %d, %v", r.code, err)
	}
	for _, c := range view {
		if c.JID == bo.jid && c.Presence.State != "available" {
			t.Errorf("bob through the agent's live view: %q, want available", c.Presence.State)
		}
	}

	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, HoldTimeout: 20 * time.Second})
	call := make(chan cliResult, 1)
	go func() { call <- binRun(t, env, al.home, "call", uas.URI, "--duration", "4s", "--json") }()
	dnd := w.next(t, al.jid, 20*time.Second, "alice's next presence", func(protocol.Presence) bool { return true })
	if dnd.From != away.From || dnd.Show != "dnd" || dnd.Status != oncall.Status {
		t.Errorf("on the phone: %+v, want status %q on the agent's resource %s", dnd, oncall.Status, away.From)
	}
	if a := w.activity(t, al.jid); a != oncall.OnThePhone {
		t.Errorf("activity during the call = %+v", a)
	}
	back := w.next(t, al.jid, 30*time.Second, "alice after the call", func(p protocol.Presence) bool { return p.From == dnd.From && p.Show != "dnd" })
	if back.Type != "" || back.Show != "away" || back.Status != "lunch" {
		t.Errorf("after the call: %+v, want away: lunch again (the agent's session stays)", back)
	}
	select {
	case r := <-call:
		if r.code != 0 {
			t.Errorf("call: exit %d", r.code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the call did not end")
	}
	if a := w.activity(t, al.jid); a != (protocol.Activity{}) {
		t.Errorf("activity after the call = %+v, want none", a)
	}
}
