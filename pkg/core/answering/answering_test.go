package answering

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/callerjudge"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// evStream is a protocol.Stream of scripted answer events.
type evStream struct{ ch chan protocol.AnswerEvent }

func (s evStream) Recv() (protocol.AnswerEvent, error) {
	ev, ok := <-s.ch
	if !ok {
		return ev, io.EOF
	}
	return ev, nil
}
func (s evStream) Close() error { return nil }

// tel records responses and answers, and plays final for each Answer.
type tel struct {
	mu        sync.Mutex
	responses []string
	answers   []protocol.AnswerRequest
	final     protocol.AnswerEvent
	answerErr error
}

func (t *tel) Respond(_ context.Context, callID string, status int, reason string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.responses = append(t.responses, fmt.Sprintf("%s %d %s", callID, status, reason))
	return nil
}

func (t *tel) Answer(_ context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.answers = append(t.answers, req)
	if t.answerErr != nil {
		return nil, t.answerErr
	}
	ch := make(chan protocol.AnswerEvent, 4)
	ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerRinging}
	ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerAnswered}
	f := t.final
	f.CallID, f.Kind, f.Final = req.CallID, protocol.AnswerEnded, true
	ch <- f
	close(ch)
	return evStream{ch}, nil
}

// judge returns a fixed outcome.
type judge struct {
	res callerid.Result
	err error
}

func (j judge) Judge(_ context.Context, call callerid.Call) (callerjudge.Outcome, error) {
	r := j.res
	r.Caller = call.Caller
	return callerjudge.Outcome{Result: r}, j.err
}

type chain struct {
	c   policychain.Chain
	err error
}

func (c chain) Policies(context.Context) (policychain.Chain, error) { return c.c, c.err }

func policies(ps ...*fake.Policy) chain {
	var c policychain.Chain
	for _, p := range ps {
		c.Members = append(c.Members, policychain.Member{Name: p.Name, Policy: p})
	}
	return chain{c: c}
}

type prompter struct {
	can, yes bool
	asked    []string
}

func (p *prompter) CanPrompt() bool { return p.can }
func (p *prompter) Confirm(_ context.Context, q string) (bool, error) {
	p.asked = append(p.asked, q)
	return p.yes, nil
}

type notifier struct{ sent []string }

func (n *notifier) Notify(_ context.Context, text string) error {
	n.sent = append(n.sent, text)
	return nil
}

type runner struct{ envs [][]string }

func (r *runner) Run(_ context.Context, env []string) ExecResult {
	r.envs = append(r.envs, env)
	zero := 0
	return ExecResult{On: ExecOnEnd, ExitStatus: &zero}
}

func invite(from string) protocol.IncomingCall {
	raw := "INVITE sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
		"From: " + from + ";tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: c1@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	return protocol.IncomingCall{CallID: "c1", Raw: []byte(raw), Source: "192.0.2.1:5060"}
}

func denyMismatch(r protocol.BindingRequest) protocol.Decision {
	if r.Verdict == "mismatch" {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "possible spoof"}
	}
	return protocol.Decision{Verdict: protocol.Abstain}
}

// TestHandleDecides: the policy chain decides (JudgeCallerBinding), and
// --accept only when every policy abstained; a rejected call gets the
// --reject-with status and never an Answer; "ask" prompts only where it
// can; a judge or policy failure rejects (fails closed).
func TestHandleDecides(t *testing.T) {
	accept := []string{"verified", "verified-by-scan"}
	for _, tc := range []struct {
		name     string
		verdict  string
		judgeErr error
		pol      chain
		prompt   *prompter
		action   string
		policy   string
		response string
		chainLen int
	}{
		{name: "verified, all abstain", verdict: "verified", pol: policies(&fake.Policy{Name: "default"}),
			action: ActionAnswered, policy: "--accept", chainLen: 1},
		{name: "unknown not in --accept", verdict: "unknown", pol: policies(&fake.Policy{Name: "default"}),
			action: ActionRejected, policy: "--accept", response: "c1 603 Decline", chainLen: 1},
		{name: "mismatch denied by policy", verdict: "mismatch", pol: policies(&fake.Policy{Name: "default", OnCallerBinding: denyMismatch}),
			action: ActionRejected, policy: "default", response: "c1 603 Decline", chainLen: 1},
		{name: "later policy allows unknown", verdict: "unknown", pol: policies(&fake.Policy{Name: "default"},
			&fake.Policy{Name: "open", OnCallerBinding: func(protocol.BindingRequest) protocol.Decision {
				return protocol.Decision{Verdict: protocol.Allow, Reason: "open house"}
			}}), action: ActionAnswered, policy: "open", chainLen: 2},
		{name: "ask without terminal", verdict: "verified", pol: policies(&fake.Policy{Name: "asker", OnCallerBinding: func(protocol.BindingRequest) protocol.Decision {
			return protocol.Decision{Verdict: protocol.Ask, Reason: "check"}
		}}), action: ActionRejected, policy: "asker", response: "c1 603 Decline", chainLen: 1},
		{name: "ask, user says yes", verdict: "unknown", prompt: &prompter{can: true, yes: true}, pol: policies(&fake.Policy{Name: "asker", OnCallerBinding: func(protocol.BindingRequest) protocol.Decision {
			return protocol.Decision{Verdict: protocol.Ask, Reason: "check"}
		}}), action: ActionAnswered, policy: "user", chainLen: 1},
		{name: "ask, user says no", verdict: "verified", prompt: &prompter{can: true}, pol: policies(&fake.Policy{Name: "asker", OnCallerBinding: func(protocol.BindingRequest) protocol.Decision {
			return protocol.Decision{Verdict: protocol.Ask, Reason: "check"}
		}}), action: ActionRejected, policy: "user", response: "c1 603 Decline", chainLen: 1},
		{name: "judge fails", verdict: "verified", judgeErr: errors.New("roster: unreachable"), pol: policies(&fake.Policy{Name: "default"}),
			action: ActionRejected, policy: "cusax", response: "c1 603 Decline"},
		{name: "policy chain fails", verdict: "verified", pol: chain{err: errors.New("plugin crashed")},
			action: ActionRejected, policy: "cusax", response: "c1 603 Decline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := &tel{final: protocol.AnswerEvent{StatusCode: 200, Answered: true, HungUpBy: protocol.HungUpByCaller, Duration: 3 * time.Second}}
			h := &Handler{Tel: tl, Judge: judge{res: callerid.Result{Verdict: tc.verdict}, err: tc.judgeErr}, Policies: tc.pol,
				Accept: accept, Reject: Rejections["decline"]}
			if tc.prompt != nil {
				h.Prompter = tc.prompt
			}
			r := h.Handle(context.Background(), invite("<sip:bob@example.com>"))
			if r.Action != tc.action || r.Decision.Policy != tc.policy || len(r.Decision.Chain) != tc.chainLen {
				t.Errorf("action %s, decision %+v", r.Action, r.Decision)
			}
			if (tc.action == ActionAnswered) != (len(tl.answers) == 1) {
				t.Errorf("answers %+v for action %s", tl.answers, r.Action)
			}
			if tc.response != "" && !slices.Equal(tl.responses, []string{tc.response}) {
				t.Errorf("responses %q", tl.responses)
			}
			if (tc.judgeErr != nil || tc.pol.err != nil) != (r.Error != "") {
				t.Errorf("error %q", r.Error)
			}
			if tc.prompt != nil && len(tc.prompt.asked) != 1 {
				t.Errorf("asked %q", tc.prompt.asked)
			}
		})
	}
}

// TestHandleAnswered: a taken call's final event fills the report, the
// handler sees it in its environment, the notification summarises it.
func TestHandleAnswered(t *testing.T) {
	dir := t.TempDir()
	tmpl, err := ParseTemplate(dir + "/{caller}-{verdict}.wav")
	if err != nil {
		t.Fatal(err)
	}
	tl := &tel{final: protocol.AnswerEvent{StatusCode: 200, Answered: true, HungUpBy: protocol.HungUpByCaller,
		Duration: 12 * time.Second, Digits: "12", RTPSent: 600, RTPRecv: 598, Codec: "PCMU", RecordedSamples: 96000}}
	run, note := &runner{}, &notifier{}
	h := &Handler{Tel: tl, Judge: judge{res: callerid.Result{Verdict: "verified", JID: "bob@example.com", Name: "Bob"}},
		Policies: policies(&fake.Policy{Name: "default"}), Accept: []string{"verified"}, Reject: Rejections["busy"],
		Request: protocol.AnswerRequest{Ring: time.Second, Digits: 2}, Record: tmpl, Exec: run, Notify: note, Account: "home"}
	r := h.Handle(context.Background(), invite("<sip:bob@example.com>"))
	want := dir + "/bob-verified.wav"
	if r.Action != ActionAnswered || r.Status != 200 || r.DurationMS != 12000 || r.HungUpBy != "caller" || r.Digits != "12" ||
		r.RTPSent != 600 || r.RTPReceived != 598 || r.Recorded != want || r.AnsweredAt == nil || !r.Notified {
		t.Errorf("report %+v", r)
	}
	if a := tl.answers[0]; a.CallID != "c1" || a.RecordFile != want || a.Ring != time.Second || a.Digits != 2 {
		t.Errorf("answer request %+v", a)
	}
	env := strings.Join(run.envs[0], "\n")
	for _, v := range []string{"CUSAX_CALLER=sip:bob@example.com", "CUSAX_CONTACT=bob@example.com", "CUSAX_VERDICT=verified",
		"CUSAX_RECORDING=" + want, "CUSAX_DIGITS=12", "CUSAX_CALL_ID=c1", "CUSAX_EVENT=end", "CUSAX_ANSWERED=1"} {
		if !strings.Contains(env, v+"\n") && !strings.HasSuffix(env, v) {
			t.Errorf("env lacks %s:\n%s", v, env)
		}
	}
	if s := note.sent; len(s) != 1 || s[0] != "voicemail from Bob <bob@example.com> (verified), 12 s, digits 12, saved to "+want {
		t.Errorf("notified %q", s)
	}
}

// TestRefuse: beyond --concurrency a call gets 486 without being judged.
func TestRefuse(t *testing.T) {
	tl := &tel{}
	h := &Handler{Tel: tl, Judge: judge{err: errors.New("must not judge")}}
	r := h.Refuse(context.Background(), invite("<sip:carol@example.com>"), 1)
	if r.Action != ActionBusy || r.Status != 486 || r.Caller != "sip:carol@example.com" || r.Decision.Policy != "--concurrency" ||
		!slices.Equal(tl.responses, []string{"c1 486 Busy Here"}) {
		t.Errorf("report %+v, responses %q", r, tl.responses)
	}
}

// orderRunner records whether the call had ended when the handler ran.
type orderRunner struct{ ended *int }

func (r orderRunner) Run(context.Context, []string) ExecResult {
	n := *r.ended
	return ExecResult{On: ExecOnEnd, ExitStatus: &n}
}

// TestHandleThenEndsBeforeHandler: HandleThen reports the call over once,
// before the --exec handler runs, taken or rejected, so a slow handler
// holds no --concurrency slot (cusax answer releases it there).
func TestHandleThenEndsBeforeHandler(t *testing.T) {
	for _, verdict := range []string{"verified", "unknown"} {
		ended := 0
		tl := &tel{final: protocol.AnswerEvent{StatusCode: 200, Answered: true, HungUpBy: protocol.HungUpByCaller}}
		h := &Handler{Tel: tl, Judge: judge{res: callerid.Result{Verdict: verdict}}, Policies: policies(&fake.Policy{Name: "default"}),
			Accept: []string{"verified"}, Reject: Rejections["decline"], Exec: orderRunner{&ended}}
		r := h.HandleThen(context.Background(), invite("<sip:bob@example.com>"), func() { ended++ })
		if ended != 1 || r.Exec == nil || *r.Exec.ExitStatus != 1 {
			t.Errorf("%s: ended called %d times, the handler saw %v: want once, before it", verdict, ended, r.Exec)
		}
	}
}

// cutTel answers, then ends the events with ctx's error once ctx ends,
// without a final event: a backend over the wire after Ctrl-C.
type cutTel struct {
	tel
	interrupt func() // Ctrl-C, once the call is answered (or ringing)
	ringing   bool   // cut while ringing: no answered event
}

func (t *cutTel) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	// The backend writes a header and some samples before the RPC is cut.
	if req.RecordFile != "" {
		if err := os.WriteFile(req.RecordFile, make([]byte, 44+320), 0o600); err != nil {
			return nil, err
		}
	}
	kind := protocol.AnswerAnswered
	if t.ringing {
		kind = protocol.AnswerRinging
	}
	return &cutStream{ctx: ctx, id: req.CallID, interrupt: t.interrupt, kind: kind}, nil
}

type cutStream struct {
	ctx       context.Context
	id        string
	sent      bool
	interrupt func()
	kind      string
}

func (s *cutStream) Recv() (protocol.AnswerEvent, error) {
	if !s.sent {
		s.sent = true
		return protocol.AnswerEvent{CallID: s.id, Kind: s.kind}, nil
	}
	s.interrupt()
	<-s.ctx.Done()
	return protocol.AnswerEvent{}, s.ctx.Err()
}
func (s *cutStream) Close() error { return nil }

// TestHandleInterrupted: a taken call hung up by Ctrl-C whose stream ends
// with the cancelled RPC's error (protocol.Answerer allows it) is reported
// hung up by the host, with its duration and recording, not as an error.
func TestHandleInterrupted(t *testing.T) {
	dir := t.TempDir()
	tmpl, err := ParseTemplate(dir + "/{call_id}.wav")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{Tel: &cutTel{interrupt: cancel}, Judge: judge{res: callerid.Result{Verdict: "verified"}}, Policies: policies(&fake.Policy{Name: "default"}),
		Accept: []string{"verified"}, Reject: Rejections["decline"], Record: tmpl,
		Now: func() time.Time { clock = clock.Add(1500 * time.Millisecond); return clock }}
	r := h.Handle(ctx, invite("<sip:bob@example.com>"))
	if r.Action != ActionAnswered || r.HungUpBy != protocol.HungUpByHost || r.Status != 200 || r.DurationMS != 1500 ||
		r.Error != "" || r.Recorded != dir+"/c1.wav" {
		t.Errorf("report %+v", r)
	}
}

// TestHandleInterruptedRinging: Ctrl-C while the call still rings (--ring)
// and the stream cut before its final event: the call was never taken, so
// it is reported missed, not answered.
func TestHandleInterruptedRinging(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{Tel: &cutTel{interrupt: cancel, ringing: true}, Judge: judge{res: callerid.Result{Verdict: "verified"}},
		Policies: policies(&fake.Policy{Name: "default"}), Accept: []string{"verified"}, Reject: Rejections["decline"]}
	r := h.Handle(ctx, invite("<sip:bob@example.com>"))
	if r.Action != ActionMissed || r.HungUpBy != protocol.HungUpByHost || r.AnsweredAt != nil || r.Error != "" {
		t.Errorf("report %+v", r)
	}
}
