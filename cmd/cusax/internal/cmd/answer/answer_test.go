package answer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/cusax/cusax/plugins/policy"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdAnswer(f, nil) }

// env is a test world whose telephony backend can answer, with the real
// default policy (it denies a mismatch).
func env(t *testing.T) (*cmdtest.Env, *answeringBackend) {
	t.Helper()
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	b := newAnsweringBackend(e.Service)
	e.Source.Telephony["sip"] = b
	e.Source.Policies["default"] = policy.New()
	return e, b
}

// invite is an INVITE to alice from from, with extra headers.
func invite(callID, from string, extra ...string) protocol.IncomingCall {
	lines := []string{
		"INVITE sip:alice@example.com SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
		"To: <sip:alice@example.com>",
		"From: " + from + ";tag=1928301774",
		"Call-ID: " + callID + "@pc33.example.test",
		"CSeq: 314159 INVITE",
	}
	lines = append(lines, extra...)
	raw := strings.Join(append(lines, "Content-Length: 0", "", ""), "\r\n")
	return protocol.IncomingCall{CallID: callID, Raw: []byte(raw), Source: "192.0.2.1:5060"}
}

func hint(jid string) string { return "Call-Info: <xmpp:" + jid + ">;purpose=impp" }

// bob is a verified call from bob (his hint, confirmed by his vCard).
func bob(callID string) protocol.IncomingCall {
	return invite(callID, "<sip:bob@example.com>", hint(cmdtest.BobJID))
}

// session runs `cusax answer args` in the background; ring hands it a
// call once it has registered; stop presses Ctrl-C (unless it ended by
// itself) and returns what it did.
type listener struct {
	t      *testing.T
	e      *cmdtest.Env
	cancel context.CancelFunc
	done   chan cmdtest.Result
}

func start(t *testing.T, e *cmdtest.Env, args ...string) *listener {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e.Factory.Context = ctx
	s := &listener{t: t, e: e, cancel: cancel, done: make(chan cmdtest.Result, 1)}
	go func() { s.done <- e.Run(newCmd, args...) }()
	return s
}

func (s *listener) ring(in protocol.IncomingCall) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, n := s.e.Service.Ring(cmdtest.AliceAOR, in); n == 1 {
			return
		}
		select {
		case r := <-s.done:
			s.t.Fatalf("answer ended: exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatal("answer did not register")
		}
	}
}

// wait returns the result of a run that ends by itself (--max-calls).
func (s *listener) wait() cmdtest.Result {
	s.t.Helper()
	select {
	case r := <-s.done:
		return r
	case <-time.After(20 * time.Second):
		s.t.Fatal("answer did not end by itself")
		return cmdtest.Result{}
	}
}

// stop presses Ctrl-C.
func (s *listener) stop() cmdtest.Result {
	s.t.Helper()
	s.cancel()
	select {
	case r := <-s.done:
		return r
	case <-time.After(20 * time.Second):
		s.t.Fatal("answer still running 20 s after Ctrl-C")
		return cmdtest.Result{}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// report is a JSON line as a script reads it.
type report struct {
	CallID   string `json:"call_id"`
	Caller   string `json:"caller"`
	Contact  string `json:"contact"`
	Verdict  string `json:"verdict"`
	Action   string `json:"action"`
	Status   int    `json:"status_code"`
	Decision struct {
		Verdict string `json:"verdict"`
		Policy  string `json:"policy"`
		Reason  string `json:"reason"`
		Chain   []struct {
			Policy  string `json:"policy"`
			Verdict string `json:"verdict"`
		} `json:"chain"`
	} `json:"decision"`
	AnsweredAt  *time.Time `json:"answered_at"`
	DurationMS  int64      `json:"duration_ms"`
	HungUpBy    string     `json:"hung_up_by"`
	Digits      string     `json:"digits"`
	Recorded    string     `json:"recorded"`
	RTPSent     int64      `json:"rtp_sent"`
	RTPReceived int64      `json:"rtp_received"`
	Exec        *struct {
		On         string `json:"on"`
		ExitStatus *int   `json:"exit_status"`
		TimedOut   bool   `json:"timed_out"`
		Error      string `json:"error"`
	} `json:"exec"`
	Notified bool   `json:"notified"`
	Error    string `json:"error"`
}

// reports parses stdout's JSON lines, by Call-ID.
func reports(t *testing.T, stdout string) map[string]report {
	t.Helper()
	out := map[string]report{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		var r report
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if _, dup := out[r.CallID]; dup {
			t.Errorf("call %s reported twice", r.CallID)
		}
		out[r.CallID] = r
	}
	return out
}

// greeting writes a valid WAV for --play.
func greeting(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "greeting.wav")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := media.WriteWAV(f, 8000, make([]int16, 800)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAnswerVerified: a verified caller is answered as the flags say, and
// the JSON line holds what a script needs; --max-calls 1 exits 0.
func TestAnswerVerified(t *testing.T) {
	e, b := env(t)
	dir := t.TempDir()
	play := greeting(t)
	b.digits["bob-1"] = "1234"
	s := start(t, e, "--json", "--max-calls", "1", "--ring", "2s", "--play", play, "--record", dir+"/{verdict}-{caller}.wav",
		"--digits", "4", "--until", "#", "--digit-timeout", "3s", "--duration", "1m", "--silence-hangup", "5s")
	s.ring(bob("bob-1"))
	r := s.wait()
	jsoncheck.Validate(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}
	got := reports(t, r.Stdout)["bob-1"]
	rec := filepath.Join(dir, "verified-bob.wav")
	if got.Action != "answered" || got.Status != 200 || got.Caller != "sip:bob@example.com" || got.Contact != cmdtest.BobJID ||
		got.Verdict != "verified" || got.Decision.Verdict != "allow" || got.Decision.Policy != "--accept" ||
		len(got.Decision.Chain) != 1 || got.Decision.Chain[0].Policy != "default" || got.Decision.Chain[0].Verdict != "abstain" ||
		got.AnsweredAt == nil || got.DurationMS != 12000 || got.HungUpBy != "caller" || got.Digits != "1234" ||
		got.Recorded != rec || got.RTPSent != 600 || got.RTPReceived != 598 || got.Exec != nil {
		t.Errorf("report %+v\n%s", got, r.Stdout)
	}
	want := protocol.AnswerRequest{CallID: "bob-1", Ring: 2 * time.Second, PlayFile: play, RecordFile: rec, Digits: 4, Until: "#",
		DigitTimeout: 3 * time.Second, Duration: time.Minute, SilenceHangup: 5 * time.Second}
	if reqs := b.Requests(); len(reqs) != 1 || reqs[0] != want {
		t.Errorf("answer requests %+v", reqs)
	}
	if _, err := os.Stat(rec); err != nil {
		t.Errorf("recording: %v", err)
	}
	if !strings.Contains(r.Stderr, "cusax: answering calls to sip:alice@example.com") {
		t.Errorf("stderr %q", r.Stderr)
	}
}

// TestAnswerRejects: a mismatch (a spoofed Call-Info) is rejected 603 by
// the default policy with no Answer; --accept and --reject-with decide
// when every policy abstains.
func TestAnswerRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     protocol.IncomingCall
		args   []string
		action string
		status int
		policy string
	}{
		{"mismatch", invite("spoof", "<sip:mallory@evil.example>", hint(cmdtest.BobJID)), nil, "rejected", 603, "default"},
		{"unknown, default accept", invite("stranger", "<sip:stranger@example.com>"), nil, "rejected", 603, "--accept"},
		{"unknown, busy", invite("stranger", "<sip:stranger@example.com>"), []string{"--reject-with", "busy"}, "rejected", 486, "--accept"},
		{"unknown, unavailable", invite("stranger", "<sip:stranger@example.com>"), []string{"--reject-with", "unavailable"}, "rejected", 480, "--accept"},
		{"unknown accepted", invite("stranger", "<sip:stranger@example.com>"), []string{"--accept", "unknown"}, "answered", 200, "--accept"},
		{"verified not accepted", bob("bob"), []string{"--accept", "verified-by-scan"}, "rejected", 603, "--accept"},
		{"mismatch accepted by flag, denied by policy", invite("spoof", "<sip:mallory@evil.example>", hint(cmdtest.BobJID)),
			[]string{"--accept", "mismatch"}, "rejected", 603, "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, b := env(t)
			s := start(t, e, append([]string{"--json", "--max-calls", "1"}, tc.args...)...)
			s.ring(tc.in)
			r := s.wait()
			got := reports(t, r.Stdout)[tc.in.CallID]
			if r.Code != 0 || got.Action != tc.action || got.Status != tc.status || got.Decision.Policy != tc.policy {
				t.Errorf("exit %d, report %+v\n%s", r.Code, got, r.Stderr)
			}
			resp := e.Service.Responses()
			if len(resp) != 1 || resp[0].Status != tc.status {
				t.Errorf("responses %+v", resp)
			}
			if n := len(b.Requests()); (tc.action == "answered") != (n == 1) {
				t.Errorf("%d Answer calls for a call %s", n, tc.action)
			}
			if tc.name == "mismatch" && !strings.Contains(r.Stderr, "possible spoof") {
				t.Errorf("stderr %q", r.Stderr)
			}
		})
	}
}

// TestAnswerPolicyChain: an account's policy that rejects anonymous
// callers does, even when --accept would take them; the JSON shows the
// whole chain.
func TestAnswerPolicyChain(t *testing.T) {
	cfg := cmdtest.Standard()
	cfg.Accounts[0].Policy = []string{"no-anonymous"}
	e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), nil)
	b := newAnsweringBackend(e.Service)
	e.Source.Telephony["sip"] = b
	e.Source.Policies["default"] = policy.New()
	noAnon := &fake.Policy{Name: "no-anonymous", OnCallerBinding: func(r protocol.BindingRequest) protocol.Decision {
		if r.Verdict == "anonymous" {
			return protocol.Decision{Verdict: protocol.Deny, Reason: "no anonymous calls"}
		}
		return protocol.Decision{Verdict: protocol.Abstain}
	}}
	e.Source.Policies["no-anonymous"] = noAnon
	s := start(t, e, "--json", "--max-calls", "2", "--concurrency", "2", "--accept", "anonymous,verified")
	s.ring(protocol.IncomingCall{CallID: "anon-1"}) // the fake's INVITE is from sip:anonymous@anonymous.invalid
	s.ring(bob("bob-2"))
	r := s.wait()
	all := reports(t, r.Stdout)
	anon, ok := all["anon-1"], all["bob-2"].Action == "answered"
	if r.Code != 0 || !ok || anon.Verdict != "anonymous" || anon.Action != "rejected" || anon.Status != 603 ||
		anon.Decision.Policy != "no-anonymous" || anon.Decision.Reason != "no anonymous calls" || len(anon.Decision.Chain) != 2 ||
		anon.Decision.Chain[0].Policy != "default" || anon.Decision.Chain[1].Verdict != "deny" {
		t.Errorf("exit %d, reports %+v\n%s", r.Code, all, r.Stderr)
	}
	if n := len(b.Requests()); n != 1 {
		t.Errorf("%d Answer calls, want 1 (bob's)", n)
	}
	if asked := noAnon.Asked(); !slices.Equal(asked, []string{"JudgeCallerBinding", "JudgeCallerBinding"}) {
		t.Errorf("asked %q", asked)
	}
}

// TestAnswerInterrupted: Ctrl-C hangs up the call in progress (by us, the
// host), reports it, and exits 130.
func TestAnswerInterrupted(t *testing.T) {
	e, b := env(t)
	release := b.Hold("bob-1")
	defer release()
	s := start(t, e, "--json")
	s.ring(bob("bob-1"))
	waitFor(t, "the call to be answered", func() bool { return len(b.Requests()) == 1 })
	r := s.stop()
	got := reports(t, r.Stdout)["bob-1"]
	if r.Code != cmdutil.ExitInterrupted || got.Action != "answered" || got.HungUpBy != "host" {
		t.Errorf("exit %d, report %+v: %v", r.Code, got, r.Err)
	}
}

// TestAnswerConcurrency: with --concurrency 1, a call that comes while
// one is in progress gets 486 and is neither judged nor answered; with
// --concurrency 2 both are answered at once.
func TestAnswerConcurrency(t *testing.T) {
	for _, tc := range []struct {
		concurrency string
		second      string
	}{{"1", "busy"}, {"2", "answered"}} {
		t.Run(tc.concurrency, func(t *testing.T) {
			e, b := env(t)
			release1, release2 := b.Hold("bob-1"), b.Hold("bob-2")
			defer release1()
			defer release2()
			s := start(t, e, "--json", "--max-calls", "2", "--concurrency", tc.concurrency)
			s.ring(bob("bob-1"))
			waitFor(t, "the first call to be answered", func() bool { return len(b.Requests()) == 1 })
			s.ring(bob("bob-2"))
			waitFor(t, "the second call's response", func() bool { return len(e.Service.Responses()) == 2 })
			release1()
			release2()
			r := s.wait()
			all := reports(t, r.Stdout)
			if r.Code != 0 || all["bob-1"].Action != "answered" || all["bob-2"].Action != tc.second {
				t.Errorf("exit %d, reports %+v", r.Code, all)
			}
			if got := all["bob-2"]; tc.second == "busy" && (got.Status != 486 || got.Decision.Policy != "--concurrency" || got.Verdict != "") {
				t.Errorf("busy call %+v", got)
			}
			want := map[string]int{"1": 1, "2": 2}[tc.concurrency]
			if n := len(b.Requests()); n != want {
				t.Errorf("%d Answer calls, want %d", n, want)
			}
		})
	}
}

// TestAnswerNotify: --notify sends one chat message per call over the
// account's XMPP aspect.
func TestAnswerNotify(t *testing.T) {
	e, _ := env(t)
	dir := t.TempDir()
	s := start(t, e, "--json", "--max-calls", "2", "--concurrency", "2", "--record", dir+"/{caller}.wav", "--notify", cmdtest.AliceJID)
	s.ring(bob("bob-1"))
	s.ring(invite("spoof-2", "<sip:mallory@evil.example>", hint(cmdtest.BobJID)))
	r := s.wait()
	all := reports(t, r.Stdout)
	if r.Code != 0 || !all["bob-1"].Notified || !all["spoof-2"].Notified {
		t.Fatalf("exit %d: %+v\n%s", r.Code, all, r.Stderr)
	}
	var bodies []string
	for _, m := range e.Service.Sent() {
		if m.To != cmdtest.AliceJID || m.Type != "chat" {
			t.Errorf("message %+v", m)
		}
		bodies = append(bodies, m.Body)
	}
	// One XMPP session for the run: the judge's roster and both messages.
	n := 0
	for _, st := range e.Source.Started() {
		if st == "impp/xmpp" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("XMPP backend started %d times: %q", n, e.Source.Started())
	}
	slices.Sort(bodies)
	want := []string{
		"missed call from Bob <bob@example.com> (mismatch): rejected with 603 (default: the caller's Call-Info hint is not confirmed by that contact's vCard: possible spoof)",
		"voicemail from Bob <bob@example.com> (verified), 12 s, saved to " + filepath.Join(dir, "bob.wav"),
	}
	if !slices.Equal(bodies, want) {
		t.Errorf("sent %q", bodies)
	}
}

// TestAnswerHuman: without --json, one tab-separated line per call.
func TestAnswerHuman(t *testing.T) {
	e, _ := env(t)
	s := start(t, e, "--max-calls", "2", "--concurrency", "2")
	s.ring(bob("bob-1"))
	s.ring(invite("stranger-2", "<sip:stranger@example.com>"))
	r := s.wait()
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	slices.Sort(lines)
	want := []string{
		"answered\tbob-1\tBob <bob@example.com>\tverified\t12.0 s\thung up by caller\tmedia none (plain RTP)",
		"rejected\tstranger-2\tsip:stranger@example.com\tunknown\t603\t--accept: verdict unknown is not in --accept",
	}
	if r.Code != 0 || !slices.Equal(lines, want) {
		t.Errorf("exit %d, stdout %q", r.Code, r.Stdout)
	}
}

// TestAnswerFailures: bad flags exit 2 with one line; a backend that
// cannot answer exits 6 naming it; start-up failures keep their codes.
func TestAnswerFailures(t *testing.T) {
	notWAV := filepath.Join(t.TempDir(), "not.wav")
	if err := os.WriteFile(notWAV, []byte("RIFF...."), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		setup func(e *cmdtest.Env)
		code  int
		want  string
	}{
		{name: "bad verdict", args: []string{"--accept", "friends"}, code: 2, want: `--accept "friends"`},
		{name: "bad reject-with", args: []string{"--reject-with", "hangup"}, code: 2, want: "--reject-with"},
		{name: "negative ring", args: []string{"--ring", "-1s"}, code: 2, want: "negative"},
		{name: "zero concurrency", args: []string{"--concurrency", "0"}, code: 2, want: "--concurrency"},
		{name: "bad until", args: []string{"--until", "x"}, code: 2, want: "--until"},
		{name: "missing play file", args: []string{"--play", "/nonexistent/greeting.wav"}, code: 2, want: "--play"},
		{name: "play not a WAV", args: []string{"--play", notWAV}, code: 2, want: "--play"},
		{name: "record dir missing", args: []string{"--record", "/nonexistent/{caller}.wav"}, code: 2, want: "--record"},
		{name: "exec missing", args: []string{"--exec", "/nonexistent/handler"}, code: 2, want: "--exec"},
		{name: "exec-on without exec", args: []string{"--exec-on", "answer"}, code: 2, want: "--exec-on"},
		{name: "bad exec-on", args: []string{"--exec", "true", "--exec-on", "ring"}, code: 2, want: "--exec-on"},
		{name: "arguments without exec", args: []string{"extra"}, code: 2, want: "no arguments"},
		{name: "exec arguments without --", args: []string{"--exec", "true", "extra"}, code: 2, want: "no arguments"},
		{name: "bad notify", args: []string{"--notify", "not a jid"}, code: 2, want: "--notify"},
		{name: "unknown flag", args: []string{"--answer-all"}, code: 2, want: "unknown flag"},
		{name: "backend cannot answer", setup: func(e *cmdtest.Env) {
			// A backend that does not declare the capability (the fake does by default).
			e.Source.Telephony["sip"] = e.Service.Telephony(protocol.CapRegister, protocol.CapIncomingCalls)
		},
			code: cmdutil.ExitPlugin, want: `telephony backend "sip" cannot answer calls`},
		{name: "wrong SIP password", setup: func(e *cmdtest.Env) {
			_ = e.Store.Set(context.Background(), secrets.Ref{Account: "home", Aspect: "sip"}, "wrong-pw")
		}, code: cmdutil.ExitAuth},
		{name: "unreachable", setup: func(e *cmdtest.Env) { e.Service.FailConnect(cmdtest.AliceAOR, protocol.ErrUnreachable) }, code: cmdutil.ExitNetwork},
		{name: "telephony plugin missing", setup: func(e *cmdtest.Env) { delete(e.Source.Telephony, "sip") }, code: cmdutil.ExitPlugin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := env(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			r := e.Run(newCmd, tc.args...)
			if r.Code != tc.code || r.Stdout != "" || r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) ||
				strings.Contains(r.Err.Error(), "\n") || strings.Contains(r.Err.Error(), "wrong-pw") {
				t.Errorf("exit %d, want %d: %v", r.Code, tc.code, r.Err)
			}
		})
	}
}

// TestAnswerAsk: a policy answering "ask" is asked on the terminal; with
// no terminal the call is rejected.
func TestAnswerAsk(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tty    bool
		input  string
		action string
		policy string
	}{
		{"terminal, yes", true, "y\n", "answered", "user"},
		{"terminal, no", true, "n\n", "rejected", "user"},
		{"no terminal", false, "y\n", "rejected", "asker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cmdtest.Standard()
			cfg.Accounts[0].Policy = []string{"asker"}
			e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), nil)
			b := newAnsweringBackend(e.Service)
			e.Source.Telephony["sip"] = b
			e.Source.Policies["asker"] = &fake.Policy{Name: "asker", OnCallerBinding: func(protocol.BindingRequest) protocol.Decision {
				return protocol.Decision{Verdict: protocol.Ask, Reason: "a stranger"}
			}}
			e.IO.SetTTY(tc.tty, false, tc.tty)
			e.In.WriteString(tc.input)
			s := start(t, e, "--json", "--max-calls", "1")
			s.ring(invite("stranger-1", "<sip:stranger@example.com>"))
			r := s.wait()
			got := reports(t, r.Stdout)["stranger-1"]
			if r.Code != 0 || got.Action != tc.action || got.Decision.Policy != tc.policy {
				t.Errorf("exit %d, report %+v", r.Code, got)
			}
			if asked := strings.Contains(r.Stderr, "Answer the call from sip:stranger@example.com, judged unknown? (asker: a stranger) [y/N]"); asked != tc.tty {
				t.Errorf("prompted %v, stderr %q", asked, r.Stderr)
			}
		})
	}
}
