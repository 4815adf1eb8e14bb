package call

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/callplan"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
)

// hangupWait bounds how long cusax waits, after Ctrl-C, for the CANCEL or
// BYE to be answered before it gives up on the final report.
const hangupWait = 10 * time.Second

// dial places the call through the plan's account and reports the outcome.
func (o *Options) dial(p *callplan.Plan) error {
	f := o.F
	ctx := f.Context
	a := p.Account
	// RFC 7081 §2: the account asks for calls over XMPP, which no backend
	// places; refuse rather than silently calling over SIP.
	if err := session.CallsOverXMPPError(a); err != nil {
		return err
	}
	o.announce(p)
	src, err := f.Backends()
	if err != nil {
		return err
	}
	// Only the SIP password: a call does not need the XMPP one (whose
	// password_command might prompt); none, and no secret store, when the
	// agent lends the registered session.
	var sipPW string
	if !session.Lends(ctx, src, protocol.KindTelephony, a.SIP.AOR) {
		store, _, err := f.Secrets()
		if err != nil {
			return err
		}
		if sipPW, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectSIP}, a.SIP.PasswordCommand); err != nil {
			return fmt.Errorf("telephony password: %w", err)
		}
	}
	ca, err := session.ReadCA(a)
	if err != nil {
		return err
	}
	// RFC 7081 §3: contacts see the call as dnd "on the phone". The Chat
	// aspect opens in the background; it never delays the INVITE.
	onCall := f.StartOnCall(a, o.NoPresence, false, nil)
	defer onCall.Close(hangupWait)
	var stopped sync.WaitGroup
	for _, p := range o.stopping {
		stopped.Go(p.Release)
	}
	o.stopping = nil
	defer stopped.Wait()
	plugins := o.early.take(a.Name)
	if plugins == nil {
		if plugins, err = session.Open(ctx, src, a, session.Only(protocol.KindTelephony)); err != nil {
			return err
		}
	}
	defer plugins.Close()
	if plugins.Telephony == nil {
		return fmt.Errorf("account %s has no telephony backend: %w", a.Name, protocol.ErrUnsupported)
	}
	// Before the INVITE: "srtp" with a backend that would send media in
	// clear is refused here (exit 14), not discovered after the call.
	info := plugins.Info(protocol.KindTelephony)
	_, backend := session.BackendNames(a)
	enc := cmdutil.MediaEncryption(o.MediaEncryption, a)
	if err := cmdutil.RequireSRTP(enc, info, backend, a.Name); err != nil {
		return fmt.Errorf("call %s: %w", p.URI, err)
	}
	cctx, cancel := context.WithTimeout(ctx, o.Timeout+2*time.Second)
	sess, err := plugins.Telephony.Connect(cctx, protocol.ConnectRequest{
		Address: a.SIP.AOR, Username: a.SIP.Username, Password: sipPW, Server: a.SIP.Proxy,
		CAPEM: ca, AllowPlaintext: a.SIP.AllowPlaintext, MinTLS: a.MinTLS(), Timeout: o.Timeout,
	})
	if err != nil {
		_, name := session.BackendNames(a)
		err = session.NoAnswer(ctx, cctx, err, protocol.KindTelephony, name, "Connect", o.Timeout+2*time.Second)
	}
	cancel()
	if err != nil {
		return fmt.Errorf("telephony: %w", err)
	}
	defer func() {
		// Close hangs up whatever is still up (it never leaves a call).
		c, cancel := context.WithTimeout(context.Background(), hangupWait)
		defer cancel()
		_ = sess.Close(c)
	}()

	mo := protocol.MediaOptions{
		PlayFile: o.Play, RecordFile: o.Record, DTMF: strings.ToUpper(o.DTMF),
		Duration: o.Duration, RingTimeout: o.RingTimeout, Video: o.Video, Encryption: enc, Keying: mediaKeying(o.MediaKeying, a),
	}
	if !o.HasDuration && o.Play == "" && o.DTMF == "" {
		mo.Duration = -1 // nothing to send and no limit: until one side hangs up
	}
	// The call's stream must outlive Ctrl-C: cancelling it would drop the
	// final report. Ctrl-C becomes a Hangup instead.
	st, err := sess.Dial(context.WithoutCancel(ctx), protocol.DialRequest{
		Target: p.URI, Headers: p.Headers, Anonymous: p.Anonymous, Media: mo,
	})
	if errors.Is(err, protocol.ErrUnsupported) && len(p.Headers) > 0 {
		// A backend that cannot add headers to the INVITE (baresip 1.0)
		// refuses before sending anything: call without them rather than
		// not at all, and say what the callee will not see (RFC 6993).
		fmt.Fprintf(f.IO.ErrOut, "cusax: note: the telephony backend %s cannot send %s: the callee will not see your XMPP address\n", backend, p.Headers[0].Name)
		p.Headers, p.NoCallInfo = nil, "the telephony backend "+backend+" cannot send it"
		st, err = sess.Dial(context.WithoutCancel(ctx), protocol.DialRequest{
			Target: p.URI, Anonymous: p.Anonymous, Media: mo,
		})
	}
	if errors.Is(err, protocol.ErrInvalid) {
		return cmdutil.Usagef("call %s: %v", p.URI, err)
	}
	if errors.Is(err, protocol.ErrMediaInsecure) {
		// Refused before the INVITE: no key may go over this signalling.
		return cmdutil.MediaInsecureHints(fmt.Errorf("call %s: %w", p.URI, err), a.Name, true)
	}
	if err != nil {
		return fmt.Errorf("call %s: %w", p.URI, err)
	}
	defer st.Close()
	out := Outcome{Target: p.Target, Via: p.Via, URI: p.URI}
	interrupted := false
	events := make(chan protocol.CallEvent)
	errc := make(chan error, 1)
	go func() {
		for {
			ev, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			events <- ev
		}
	}()
	var final *protocol.CallEvent
	mediaShown, clearSeen := false, false
	stop := ctx.Done()
	var giveUp <-chan time.Time
	for final == nil {
		select {
		case ev := <-events:
			if out.CallID == "" {
				out.CallID = ev.CallID
			}
			if ev.Final {
				final = &ev
				onCall.Down()
				continue
			}
			o.progress(ev)
			if ev.Answered {
				onCall.Up()
			}
			// Protected media is said at once; media in clear waits for
			// the final event, whose Note says why.
			if ev.Answered && ev.MediaProtection != "" && ev.MediaProtection != protocol.MediaInClear && !mediaShown {
				mediaShown = true
				cmdutil.ReportMedia(f.IO, "", ev.MediaProtection, ev.MediaKeying, cmdutil.ClearWhy(ev.Note, enc, info, backend))
			}
			if ev.Answered && ev.MediaProtection == protocol.MediaInClear && enc == protocol.MediaEncryptionSRTP {
				// A backend that declared srtp yet reports media in clear
				// breaks "SRTP or no call": hang up at once, do not trust it.
				clearSeen = true
				hctx, cancel := context.WithTimeout(context.Background(), hangupWait)
				if err := sess.Hangup(hctx, out.CallID); err != nil {
					f.Logger().Debug("hangup", "error", err)
				}
				cancel()
			}
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				err = errors.New("the call ended without a final report")
			}
			if errors.Is(err, protocol.ErrMediaInsecure) {
				// The callee answered without SRTP (or refused it): the
				// backend hung up before any media (exit 14).
				return cmdutil.MediaInsecureHints(fmt.Errorf("call %s: %w", p.URI, err), a.Name, false)
			}
			return fmt.Errorf("call %s: %w", p.URI, err)
		case <-stop:
			stop, interrupted = nil, true
			fmt.Fprintln(f.IO.ErrOut, "cusax: hanging up…")
			hctx, cancel := context.WithTimeout(context.Background(), hangupWait)
			if err := sess.Hangup(hctx, out.CallID); err != nil {
				f.Logger().Debug("hangup", "error", err)
			}
			cancel()
			giveUp = time.After(hangupWait)
		case <-giveUp:
			return cmdutil.ErrInterrupted
		}
	}
	fill(&out, final, o.Record)
	out.ExitCode = classify(&out, final, interrupted, o.DTMF)
	if o.Record != "" && final.RecordedSamples == 0 {
		warnNothingRecorded(o, final)
	}
	if final.Answered && !mediaShown {
		cmdutil.ReportMedia(f.IO, "", out.MediaProtection, out.MediaKeying, cmdutil.ClearWhy(final.Note, enc, info, backend))
	}
	breach := clearSeen || final.Answered && enc == protocol.MediaEncryptionSRTP && out.MediaProtection == protocol.MediaInClear
	if breach {
		out.Result, out.ExitCode = "media-insecure", cmdutil.ExitMediaInsecure
		out.MediaProtection, out.MediaKeying = protocol.MediaInClear, ""
	}
	if err := printOutcome(o, &out); err != nil {
		return err
	}
	if breach {
		return cmdutil.WithHint(fmt.Errorf("call %s: the telephony backend %q reported the media in clear although media_encryption = srtp (hung up): %w",
			p.URI, backend, protocol.ErrMediaInsecure), cmdutil.HintOptional(a.Name))
	}
	if out.ExitCode != cmdutil.ExitOK {
		err := cmdutil.WithExit(out.ExitCode, errors.New(out.summary()))
		if out.StatusCode == 488 && enc != protocol.MediaEncryptionSRTP {
			// RFC 4568 §7.1.2: an SRTP-only callee answers a plain offer 488.
			err = cmdutil.WithHint(err, fmt.Sprintf("if the callee takes SRTP only: set media_encryption = \"optional\" in the [account.sip] table of account %q, or --media-encryption optional, with SIP over TLS (a sips: or ;transport=tls proxy)", a.Name))
		}
		return err
	}
	return nil
}

func fill(out *Outcome, ev *protocol.CallEvent, record string) {
	out.StatusCode, out.Reason, out.Answered = ev.StatusCode, ev.Reason, ev.Answered
	out.SetupMS = ev.SetupTime.Milliseconds()
	out.DurationMS = ev.Duration.Milliseconds()
	out.RTPSent, out.RTPRecv, out.DTMFSent = ev.RTPSent, ev.RTPRecv, ev.DTMFSent
	out.Codec, out.MediaPeer, out.Note = ev.Codec, ev.MediaPeer, ev.Note
	if ev.Answered {
		// RFC 7590 §3.6: say how the media was protected; a backend that
		// cannot say (no srtp capability) sent it in clear.
		out.MediaProtection = cmdutil.MediaProtection(ev.MediaProtection)
		out.MediaKeying, out.SRTPAuthFailures = ev.MediaKeying, ev.SRTPAuthFailures
		if out.MediaProtection == protocol.MediaInClear {
			out.MediaKeying = ""
		}
	}
	if record != "" && ev.RecordedSamples > 0 {
		out.Recorded = record
		out.RecordedMS = ev.RecordedSamples * 1000 / media.TelephonyRate
	}
}

// classify maps the final answer to the result and exit code. RFC 3261
// §21: 486/600 busy, 603 decline, 404/604/484/410 not found; 408, 480 and
// a ring timeout are "no answer".
func classify(out *Outcome, ev *protocol.CallEvent, interrupted bool, dtmf string) int {
	code := ev.StatusCode
	switch {
	case ev.Answered:
		out.Result = "answered"
		if dtmf != "" && ev.DTMFSent != strings.ToUpper(dtmf) {
			out.Result = "answered, DTMF not sent"
			return cmdutil.ExitFailure
		}
		// Also after Ctrl-C: the user ending an answered call is success.
		return cmdutil.ExitOK
	case interrupted:
		out.Result = "interrupted"
		return cmdutil.ExitInterrupted
	case code == 486 || code == 600:
		out.Result = "busy"
		return cmdutil.ExitBusy
	case code == 603:
		out.Result = "declined"
		return cmdutil.ExitDeclined
	case code == 404 || code == 604 || code == 484 || code == 410:
		out.Result = "not-found"
		return cmdutil.ExitNotFound
	case code == 408 || code == 480 || code == 487:
		out.Result = "no-answer"
		return cmdutil.ExitNoAnswer
	case code == 401 || code == 403 || code == 407:
		out.Result = "auth-failed"
		return cmdutil.ExitAuth
	case code == 503:
		out.Result = "failed"
		return cmdutil.ExitNetwork
	}
	out.Result = "failed"
	return cmdutil.ExitFailure
}

func (out *Outcome) summary() string {
	if out.Result == "interrupted" {
		// main prefixes "interrupted: " after Ctrl-C.
		return fmt.Sprintf("call %s hung up before the answer (%d %s)", out.URI, out.StatusCode, out.Reason)
	}
	s := fmt.Sprintf("call %s: %s: %d %s", out.URI, out.Result, out.StatusCode, out.Reason)
	if out.Note != "" {
		s += " (" + out.Note + ")"
	}
	return s
}

// progress reports provisional responses on stderr.
// announce says on a terminal, before logging in and sending the INVITE,
// what is being called and how: without it nothing showed until the
// first provisional response, seconds later or never. Not with --json
// and not when stderr is a pipe or file, whose readers get what they got
// before (the progress lines and the outcome).
func (o *Options) announce(p *callplan.Plan) {
	io := o.F.IO
	if o.JSON || !io.IsStderrTTY() {
		return
	}
	what := cmdutil.TermSafe(p.Target)
	if p.URI != "" && !strings.EqualFold(p.URI, p.Target) {
		what += " (" + cmdutil.TermSafe(p.URI) + ")"
	}
	fmt.Fprintf(io.ErrOut, "cusax: calling %s via %s…\n", what, cmdutil.TermSafe(p.Via))
}

// warnNothingRecorded: --record asked for the callee's audio and none came
// (not answered, or no RTP). The file, if the backend wrote one, holds a
// WAV header only; it is kept (the script that asked for it finds it, and
// can tell by its size) but it must not pass for a recording.
func warnNothingRecorded(o *Options, final *protocol.CallEvent) {
	why := "no audio came from the callee"
	if !final.Answered {
		why = "the call was not answered"
	}
	state := "no file was written"
	if st, err := os.Lstat(o.Record); err == nil && st.Mode().IsRegular() {
		state = fmt.Sprintf("%s holds no audio (%d bytes: a WAV header only); it is kept", o.Record, st.Size())
	}
	fmt.Fprintf(o.F.IO.ErrOut, "cusax: warning: --record: nothing was recorded, %s: %s\n", why, state)
}

func (o *Options) progress(ev protocol.CallEvent) {
	if ev.StatusCode == 0 {
		return
	}
	if ev.Answered {
		fmt.Fprintf(o.F.IO.ErrOut, "cusax: answered (%d %s, set-up %d ms)\n", ev.StatusCode, ev.Reason, ev.SetupTime.Milliseconds())
		return
	}
	what := ev.Reason
	switch ev.StatusCode {
	case 180:
		what = "ringing"
	case 183:
		what = "session progress"
	}
	fmt.Fprintf(o.F.IO.ErrOut, "cusax: %d %s\n", ev.StatusCode, what)
}

func printOutcome(o *Options, out *Outcome) error {
	if o.JSON {
		return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("call"), out)
	}
	w := o.F.IO.Out
	io := o.F.IO
	head := out.Result
	switch {
	case out.Answered:
		head = io.Green(head)
	default:
		head = io.Red(head)
	}
	fmt.Fprintf(w, "%s\t%s via %s (%s): %d %s\n", head, out.Target, out.Via, out.URI, out.StatusCode, out.Reason)
	if out.Answered {
		fmt.Fprintf(w, "setup\t%d ms\nduration\t%d ms\nrtp\t%d sent, %d received (%s from %s)\n",
			out.SetupMS, out.DurationMS, out.RTPSent, out.RTPRecv, out.Codec, out.MediaPeer)
		fmt.Fprintf(w, "media\t%s\n", cmdutil.MediaText(out.MediaProtection, out.MediaKeying))
		if out.SRTPAuthFailures > 0 {
			fmt.Fprintf(w, "srtp-auth-failures\t%d\n", out.SRTPAuthFailures)
		}
		if out.DTMFSent != "" {
			fmt.Fprintf(w, "dtmf\t%s\n", out.DTMFSent)
		}
		if out.Recorded != "" {
			fmt.Fprintf(w, "recorded\t%s (%d ms)\n", out.Recorded, out.RecordedMS)
		}
	}
	if out.Note != "" {
		fmt.Fprintf(w, "note\t%s\n", out.Note)
	}
	return nil
}

// printPlan prints the --dry-run plan.
func printPlan(o *Options, p *callplan.Plan) error {
	if o.JSON {
		return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("call-plan"), p)
	}
	w := o.F.IO.Out
	fmt.Fprintf(w, "target\t%s (%s)\n", p.Target, p.Kind)
	if p.Contact != "" {
		fmt.Fprintf(w, "contact\t%s\n", p.Contact)
	}
	fmt.Fprintf(w, "via\t%s (%s, policy %s)\n", p.Via, p.AccountWhy.Reason, p.AccountWhy.Policy)
	fmt.Fprintf(w, "uri\t%s\n", p.URI)
	fmt.Fprintf(w, "from\t%s\n", p.From)
	for _, h := range p.Headers {
		fmt.Fprintf(w, "header\t%s: %s\n", h.Name, h.Value)
	}
	if p.Anonymous {
		fmt.Fprintln(w, "header\tPrivacy: id")
	}
	if p.NoCallInfo != "" {
		fmt.Fprintf(w, "call-info\tnone (%s)\n", p.NoCallInfo)
	}
	fmt.Fprintf(w, "cost\t%s (%s)\n", p.Cost.Verdict, p.Cost.Reason)
	return nil
}
