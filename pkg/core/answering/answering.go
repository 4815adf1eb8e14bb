package answering

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/callerjudge"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/protocol"
)

// Telephony is what a Handler needs of the telephony session: reject with
// Respond, take with Answer (protocol.Answerer).
type Telephony interface {
	Respond(ctx context.Context, callID string, status int, reason string) error
	protocol.Answerer
}

// CallerJudge judges a caller against the roster (callerjudge.Judge).
type CallerJudge interface {
	Judge(ctx context.Context, call callerid.Call) (callerjudge.Outcome, error)
}

// Policies returns the account's policy chain (session.Plugins).
type Policies interface {
	Policies(ctx context.Context) (policychain.Chain, error)
}

// Prompter asks the user about a call a policy left to them ("ask"). A nil
// Prompter, or one that cannot prompt, rejects such calls.
type Prompter interface {
	CanPrompt() bool
	// Confirm asks question and reports a yes.
	Confirm(ctx context.Context, question string) (bool, error)
}

// Runner runs the user's handler with env added to its environment.
type Runner interface {
	Run(ctx context.Context, env []string) ExecResult
}

// Notifier sends the after-call message (RFC 7081 §3.5: chat is the side
// channel).
type Notifier interface {
	Notify(ctx context.Context, text string) error
}

// Rejection is the final response a rejected call gets.
type Rejection struct {
	Status int
	Reason string
}

// Rejections by --reject-with name (RFC 3261 §21.4.7, §21.6.2, §21.4.18).
var Rejections = map[string]Rejection{
	"busy":        {486, "Busy Here"},
	"decline":     {603, "Decline"},
	"unavailable": {480, "Temporarily Unavailable"},
}

// respondTimeout bounds sending a final response.
const respondTimeout = 5 * time.Second

// Busy is what a call beyond the concurrency limit gets.
var Busy = Rejection{486, "Busy Here"}

// Exec events (--exec-on).
const (
	ExecOnEnd    = "end"    // after each call, taken or not
	ExecOnAnswer = "answer" // when a taken call is answered, while it runs
)

// Handler takes or rejects incoming calls. Its fields are set once; Handle
// may run for several calls at a time.
type Handler struct {
	Tel      Telephony
	Judge    CallerJudge
	Policies Policies
	Prompter Prompter // nil: "ask" rejects
	Exec     Runner   // nil: no handler
	ExecOn   string   // ExecOnEnd (default) or ExecOnAnswer
	Notify   Notifier // nil: no notification

	// Account names the account (CUSAX_ACCOUNT for the handler).
	Account string
	// Accept lists the verdicts taken when every policy abstains.
	Accept []string
	Reject Rejection
	// TrustPAI: the account's trust_asserted_identity (RFC 3325 §9.1).
	TrustPAI bool
	// Request is how a taken call is answered; CallID and RecordFile are
	// filled in per call.
	Request protocol.AnswerRequest
	// Record is the recording template ("" records nothing).
	Record Template
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// AfterTimeout bounds the notification once the call is over.
	AfterTimeout time.Duration
	// CallUp and CallDown, when set, are called when a taken call is
	// answered and when that call is over (the on-the-phone presence,
	// RFC 7081 §3). They must not block.
	CallUp, CallDown func()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// parse reads the caller from an INVITE. RFC 3325 §9.1: P-Asserted-
// Identity counts only from the account's own proxy, and only when the
// account says that proxy forms a trust domain.
func (h *Handler) parse(in protocol.IncomingCall) (callerid.Call, error) {
	norm, err := callerid.Normalize(in.Raw)
	if err != nil {
		return callerid.Call{}, err
	}
	return callerid.Parse(norm, in.ViaProxy && h.TrustPAI)
}

// Refuse answers a call 486 without judging it: --concurrency calls are
// already in progress. The caller is read from the INVITE for the report.
func (h *Handler) Refuse(ctx context.Context, in protocol.IncomingCall, inProgress int) Report {
	r := Report{CallID: in.CallID, Remote: in.Source, Action: ActionBusy,
		Decision: protocol.Decision{Verdict: protocol.Deny, Policy: "--concurrency",
			Reason: fmt.Sprintf("%d call(s) in progress", inProgress)}}
	if call, err := h.parse(in); err == nil {
		r.Caller = call.Caller
	}
	h.reject(ctx, &r, Busy)
	h.after(ctx, &r)
	return r
}

// Handle judges one call, decides, and takes or rejects it; it returns
// when the call and its handler are over. ctx ending hangs a taken call up.
func (h *Handler) Handle(ctx context.Context, in protocol.IncomingCall) Report {
	return h.HandleThen(ctx, in, nil)
}

// HandleThen is Handle; ended, if not nil, is called once the call itself
// is over, before the handler (--exec-on end) and the notification run:
// --concurrency counts calls, and a slow or hung handler (bounded by
// --exec-timeout) must not have the next callers refused busy.
func (h *Handler) HandleThen(ctx context.Context, in protocol.IncomingCall, ended func()) Report {
	r := Report{CallID: in.CallID, Remote: in.Source}
	after := func() {
		if ended != nil {
			ended()
		}
		h.after(ctx, &r)
	}
	call, err := h.parse(in)
	if err != nil {
		r.Error = "unreadable INVITE: " + err.Error()
		r.Decision = protocol.Decision{Verdict: protocol.Deny, Policy: "cusax", Reason: "the caller cannot be judged"}
		h.reject(ctx, &r, h.Reject)
		after()
		return r
	}
	r.Caller = call.Caller
	out, err := h.Judge.Judge(ctx, call)
	if err != nil {
		// Fail closed: a caller that cannot be judged is not taken.
		r.Error = "judge: " + err.Error()
		r.Decision = protocol.Decision{Verdict: protocol.Deny, Policy: "cusax", Reason: "the caller cannot be judged"}
		h.reject(ctx, &r, h.Reject)
		after()
		return r
	}
	r.Caller, r.Verdict, r.Hint, r.Contact, r.Name = out.Caller, out.Verdict, out.Hint, out.JID, out.Name
	r.NumbersUnresolved = out.NumbersUnresolved
	d, err := h.decide(ctx, out.Result)
	r.Decision = d
	if err != nil {
		r.Error = "policy: " + err.Error()
		h.reject(ctx, &r, h.Reject)
		after()
		return r
	}
	if d.Verdict != protocol.Allow {
		h.reject(ctx, &r, h.Reject)
		after()
		return r
	}
	h.take(ctx, &r)
	after()
	return r
}

// decide asks the policy chain (JudgeCallerBinding); when every policy
// abstains, --accept decides by the verdict. RFC 7081 §3.5: accepting a
// call from someone outside the roster is a matter of policy; the default
// policy denies a mismatch (a possible spoof, RFC 6993 §4). "ask" prompts
// on a terminal, else rejects.
func (h *Handler) decide(ctx context.Context, res callerid.Result) (protocol.Decision, error) {
	chain, err := h.Policies.Policies(ctx)
	if err != nil {
		return protocol.Decision{Verdict: protocol.Deny, Policy: "cusax", Reason: "the policy chain did not start"}, err
	}
	req := protocol.BindingRequest{Caller: res.Caller, Hint: res.Hint, JID: res.JID, Verdict: res.Verdict}
	out, err := policychain.Run(ctx, chain, policychain.Op[protocol.Decision]{
		Name: "JudgeCallerBinding",
		Ask: func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (protocol.Decision, error) {
			r := req
			r.Prior = prior
			return p.JudgeCallerBinding(ctx, r)
		},
		Decision: func(d *protocol.Decision) *protocol.Decision { return d },
	})
	if err != nil {
		return protocol.Decision{Verdict: protocol.Deny, Policy: "cusax", Reason: "a policy failed", Chain: out.Chain}, err
	}
	d := out.Final
	switch d.Verdict {
	case protocol.Abstain:
		d.Policy = "--accept"
		if slices.Contains(h.Accept, res.Verdict) {
			d.Verdict, d.Reason = protocol.Allow, fmt.Sprintf("verdict %s is in --accept", res.Verdict)
		} else {
			d.Verdict, d.Reason = protocol.Deny, fmt.Sprintf("verdict %s is not in --accept", res.Verdict)
		}
	case protocol.Ask:
		if h.Prompter == nil || !h.Prompter.CanPrompt() {
			d.Verdict, d.Reason = protocol.Deny, d.Reason+"; no terminal to ask on, so rejected"
			break
		}
		who := res.Caller
		if res.JID != "" {
			who = fmt.Sprintf("%s <%s> (caller %s)", res.Name, res.JID, res.Caller)
		}
		yes, err := h.Prompter.Confirm(ctx, fmt.Sprintf("Answer the call from %s, judged %s? (%s: %s)", who, res.Verdict, d.Policy, d.Reason))
		d.Policy = "user"
		switch {
		case err != nil:
			d.Verdict, d.Reason = protocol.Deny, "not answered at the prompt: "+err.Error()
		case yes:
			d.Verdict, d.Reason = protocol.Allow, "accepted at the prompt"
		default:
			d.Verdict, d.Reason = protocol.Deny, "refused at the prompt"
		}
	}
	return d, nil
}

// reject sends the final response for a call not taken.
func (h *Handler) reject(ctx context.Context, r *Report, rej Rejection) {
	r.Action = ActionRejected
	if r.Decision.Policy == "--concurrency" {
		r.Action = ActionBusy
	}
	// A call still ringing gets its final response even after Ctrl-C,
	// rather than ringing on until the caller gives up.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), respondTimeout)
	defer cancel()
	if err := h.Tel.Respond(rctx, r.CallID, rej.Status, rej.Reason); err != nil {
		if errors.Is(err, protocol.ErrNotFound) {
			r.Action, r.Note = ActionMissed, "the caller hung up first"
		} else if r.Error == "" {
			r.Error = fmt.Sprintf("respond %d: %v", rej.Status, err)
		}
		return
	}
	r.Status = rej.Status
}

// take answers the call as Request says and follows its events.
func (h *Handler) take(ctx context.Context, r *Report) {
	req := h.Request
	req.CallID = r.CallID
	if !h.Record.Empty() {
		path, err := h.Record.Path(Fields{Time: h.now(), Caller: r.Caller, Verdict: r.Verdict, CallID: r.CallID})
		if err != nil {
			r.Error = "record: " + err.Error()
			h.reject(ctx, r, Rejections["unavailable"])
			r.Action = ActionMissed
			return
		}
		req.RecordFile = path
	}
	// Ending actx hangs the call up (protocol.Answerer), as Ctrl-C does.
	actx, hangup := context.WithCancel(ctx)
	defer hangup()
	breach := false
	st, err := h.Tel.Answer(actx, req)
	if err != nil {
		r.Action = ActionMissed
		if errors.Is(err, protocol.ErrNotFound) {
			r.Note = "the caller hung up first"
		} else {
			r.Error = "answer: " + err.Error()
		}
		return
	}
	defer st.Close()
	r.Action = ActionAnswered
	var during chan ExecResult
	up := false // CallUp was called
	for {
		ev, err := st.Recv()
		if err != nil {
			if ctx.Err() != nil || breach {
				// Ctrl-C (or our hang-up below): the backend hangs up (BYE from us, or a final
				// response to a call still ringing), but over the wire
				// the cancelled RPC ends the stream before its final
				// event (protocol.Answerer): report what is known.
				interrupted(r, req.RecordFile, h.now())
				break
			}
			r.Error = "answer: the call's events ended without a final one: " + err.Error()
			break
		}
		if ev.MediaProtection != "" {
			r.MediaProtection, r.MediaKeying = ev.MediaProtection, ev.MediaKeying
		}
		if ev.MediaProtection == protocol.MediaInClear && req.Encryption == protocol.MediaEncryptionSRTP && !breach {
			// The backend broke "SRTP or no call": hang up at once.
			breach = true
			r.Error = "the backend reported the media in clear although media_encryption = srtp: hung up"
			hangup()
		}
		if ev.Kind == protocol.AnswerAnswered && r.AnsweredAt == nil {
			t := h.now().UTC()
			r.AnsweredAt = &t
			if h.CallUp != nil {
				h.CallUp()
				up = true
			}
			if h.Exec != nil && h.ExecOn == ExecOnAnswer {
				during = make(chan ExecResult, 1)
				env := h.env(*r, ExecOnAnswer)
				go func() { during <- h.Exec.Run(context.WithoutCancel(ctx), env) }()
			}
		}
		if ev.Final {
			r.Status = ev.StatusCode
			r.DurationMS = ev.Duration.Milliseconds()
			r.HungUpBy, r.Digits = ev.HungUpBy, ev.Digits
			r.RTPSent, r.RTPReceived, r.Codec = ev.RTPSent, ev.RTPRecv, ev.Codec
			r.RecordedSamples, r.Note = ev.RecordedSamples, ev.Note
			if ev.RecordedSamples > 0 {
				r.Recorded = req.RecordFile
			}
			r.SRTPAuthFailures = ev.SRTPAuthFailures
			if ev.Answered {
				media(r)
			} else {
				r.MediaProtection, r.MediaKeying = "", ""
			}
			if !ev.Answered {
				r.Action = ActionMissed
				if ev.Reason != "" && r.Note == "" {
					r.Note = fmt.Sprintf("%d %s", ev.StatusCode, ev.Reason)
				}
			}
			break
		}
	}
	if up && h.CallDown != nil {
		h.CallDown()
	}
	if breach {
		r.MediaProtection, r.MediaKeying = protocol.MediaInClear, ""
	}
	if during != nil {
		res := <-during // the Runner bounds it (--exec-timeout)
		r.Exec = &res
	}
}

// interrupted fills in a call the host ended (Ctrl-C) whose final event
// never came: missed if it was still ringing; else answered, the
// backend's counts unknown.
func interrupted(r *Report, record string, now time.Time) {
	r.HungUpBy = protocol.HungUpByHost
	if r.AnsweredAt == nil {
		r.Action, r.Note = ActionMissed, "interrupted before the answer"
		return
	}
	r.Status = 200
	media(r)
	r.DurationMS = now.Sub(*r.AnsweredAt).Milliseconds()
	r.Note = "interrupted: the backend's final counts were not received"
	// More than a WAV header (44 bytes): the backend wrote samples.
	if fi, err := os.Lstat(record); record != "" && err == nil && fi.Mode().IsRegular() && fi.Size() > 44 {
		r.Recorded = record
	}
}

// media settles how an answered call's media was protected. RFC 7590
// §3.6 applied to media: the user is told; a backend that did not say (no
// srtp capability) sent it in clear.
func media(r *Report) {
	if r.MediaProtection == "" || r.MediaProtection == protocol.MediaInClear {
		r.MediaProtection, r.MediaKeying = protocol.MediaInClear, ""
	}
}

// after runs the handler (--exec-on end) and sends the notification; both
// run even when ctx ended (Ctrl-C), bounded by their own timeouts.
func (h *Handler) after(ctx context.Context, r *Report) {
	ctx = context.WithoutCancel(ctx)
	if h.Exec != nil && h.ExecOn != ExecOnAnswer {
		res := h.Exec.Run(ctx, h.env(*r, ExecOnEnd))
		r.Exec = &res
	}
	if h.Notify != nil {
		t := h.AfterTimeout
		if t <= 0 {
			t = 10 * time.Second
		}
		nctx, cancel := context.WithTimeout(ctx, t)
		defer cancel()
		if err := h.Notify.Notify(nctx, r.Summary()); err != nil {
			r.NotifyError = err.Error()
		} else {
			r.Notified = true
		}
	}
}
