package whoiscaller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/callerjudge"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// listen registers the account's SIP aspect and judges every incoming
// INVITE until interrupted.
func listen(o *Options) error {
	f := o.F
	ctx := f.Context
	acct, err := f.Account(o.Account)
	if err != nil {
		return err
	}
	store, _, err := f.Secrets()
	if err != nil {
		return err
	}
	src, err := f.Backends()
	if err != nil {
		return err
	}
	ts, err := session.OpenTelephony(ctx, src, store, acct, o.Timeout)
	if err != nil {
		return err
	}
	defer ts.Shutdown()
	sess := ts.TelephonySession
	calls, err := sess.IncomingCalls(ctx)
	if err != nil {
		return fmt.Errorf("telephony: incoming calls: %w", err)
	}
	defer calls.Close()
	rep, err := sess.Register(ctx, protocol.RegisterRequest{})
	if err != nil {
		return fmt.Errorf("telephony: %w", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "cusax: listening for calls to %s (registered %s over %s); Ctrl-C stops\n", acct.SIP.AOR, rep.Address, rep.Transport)

	o.trustPAI = acct.SIP.TrustAssertedIdentity
	j := newJudge(o, acct, o.region())
	defer j.Close()
	done := make(chan struct{})
	defer close(done)
	items := cmdutil.PumpCalls(calls, done)
	// The listener says on stderr what is not a call; --give-up-after
	// bounds how long it stays deaf before it says so with exit 7.
	l := &cmdutil.CallListener{Command: "whois-caller", AOR: acct.SIP.AOR, GiveUpAfter: o.GiveUpAfter,
		Missed: "earlier ones were being judged and were not judged", ErrOut: f.IO.ErrOut}
	for {
		var it cmdutil.IncomingItem
		select {
		case it = <-items:
		case <-l.GiveUp():
			return l.GiveUpErr()
		case <-ctx.Done():
			// Interrupted, as the exit-code table says (130), like chat
			// --listen: a script can tell "stopped" from "done".
			return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
		}
		in, err := it.Call, it.Err
		if err != nil {
			if ctx.Err() != nil {
				return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("telephony: incoming calls: %w", err)
		}
		if l.Report(in) {
			continue
		}
		out, err := o.handle(ctx, sess, j, in)
		if err != nil {
			fmt.Fprintf(f.IO.ErrOut, "cusax: call %s: %v\n", in.CallID, err)
			continue
		}
		if err := printResult(o, out); err != nil {
			return err
		}
	}
}

// handle judges one incoming call and acts on it.
func (o *Options) handle(ctx context.Context, sess protocol.TelephonySession, j *callerjudge.Judge, in protocol.IncomingCall) (output, error) {
	start := time.Now()
	out := output{CallID: in.CallID, Remote: in.Source}
	norm, err := callerid.Normalize(in.Raw)
	if err != nil {
		return out, err
	}
	// RFC 3325 §9.1: P-Asserted-Identity counts only from the account's
	// own proxy, and only when the account says that proxy forms a trust
	// domain (removes the header from untrusted sources).
	call, err := callerid.Parse(norm, in.ViaProxy && o.trustPAI)
	if err != nil {
		return out, err
	}
	jo, err := j.Judge(ctx, call)
	if err != nil {
		return out, err
	}
	res := jo.Result
	out.Result = res
	out.NumbersUnresolved = jo.NumbersUnresolved
	out.ElapsedMS = msSince(start)
	switch o.OnCall {
	case "busy":
		if err := sess.Respond(ctx, in.CallID, 486, "Busy Here"); err == nil {
			out.Answered = "486 Busy Here"
		}
	case "decline":
		if err := sess.Respond(ctx, in.CallID, 603, "Decline"); err == nil {
			out.Answered = "603 Decline"
		}
	}
	if o.Chat != "" && (res.Verdict == "verified" || res.Verdict == "verified-by-scan") && res.JID != "" {
		// RFC 7081 §3.5: revert to chatting, only with a caller the
		// roster's vCard vouches for.
		err := j.WithChat(func(s *session.ChatSession) error {
			return s.Send(ctx, protocol.Message{To: res.JID, Type: "chat", Body: o.Chat})
		})
		out.Chatted = err == nil
	}
	return out, nil
}
