package answer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/answering"
	"github.com/cusax/cusax/pkg/core/callerjudge"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// answerer is the session as the handler uses it.
type answerer struct {
	protocol.TelephonySession
	protocol.Answerer
}

// drainWait bounds the wait for calls in progress after Ctrl-C: a taken
// call is hung up at once (ctx), its handler is bounded by --exec-timeout.
const drainWait = 10 * time.Second

// run registers the account's SIP aspect and handles incoming calls until
// Ctrl-C or --max-calls.
func run(o *Options) error {
	f := o.F
	f.IO.SerializeErrOut() // calls, handlers and the listener write at once
	ctx := f.Context
	acct, err := f.Account(o.Account)
	if err != nil {
		return err
	}
	if o.Notify != "" && acct.XMPP == nil {
		return cmdutil.Usagef("--notify: account %s has no XMPP aspect to send the message from", acct.Name)
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
	sess, plugins, backend := ts.TelephonySession, ts.Plugins, ts.Backend
	ans, ok := sess.(protocol.Answerer)
	if info := plugins.Info(protocol.KindTelephony); !ok || (len(info.Capabilities) > 0 && !slices.Contains(info.Capabilities, protocol.CapAnswer)) {
		return cmdutil.WithHint(fmt.Errorf("telephony backend %q cannot answer calls with media (no %s capability): %w", backend, protocol.CapAnswer, pluginhost.ErrIncompatible),
			"use a backend that declares it (the built-in sip), or whois-caller --listen --on-call to only reject calls")
	}
	// Before registering: "srtp" with a backend that would take calls in
	// clear is refused (exit 14), not discovered at the first call.
	enc := cmdutil.MediaEncryption(o.MediaEncryption, acct)
	if err := cmdutil.RequireSRTP(enc, plugins.Info(protocol.KindTelephony), backend, acct.Name); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	calls, err := sess.IncomingCalls(ctx)
	if err != nil {
		return fmt.Errorf("telephony: incoming calls: %w", err)
	}
	defer calls.Close()
	rep, err := sess.Register(ctx, protocol.RegisterRequest{})
	if err != nil {
		return fmt.Errorf("telephony: %w", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "cusax: answering calls to %s (registered %s over %s); Ctrl-C stops\n", acct.SIP.AOR, rep.Address, rep.Transport)

	jid := ""
	if acct.XMPP != nil {
		jid = acct.XMPP.JID
	}
	judge := callerjudge.New(callerjudge.Options{
		Account: acct.Name, JID: jid, Region: o.region(), TTL: o.TTL, Refresh: o.Refresh, Warn: f.IO.ErrOut,
		Chat: func() (*session.ChatSession, error) {
			if acct.XMPP == nil {
				return nil, cmdutil.Usagef("account %s has no XMPP roster to judge callers against", acct.Name)
			}
			return f.OpenChat(acct, o.Timeout)
		},
	})
	defer judge.Close()
	// RFC 7081 §3: contacts see taken calls as dnd "on the phone", through
	// the judge's Chat session (opened now, in the background).
	onCall := f.StartOnCall(acct, o.NoPresence, true, judge.Chat)
	defer onCall.Close(drainWait)
	h := &answering.Handler{
		Tel: answerer{sess, ans}, Judge: judge, Policies: plugins, Account: acct.Name,
		Accept: o.Accept, Reject: answering.Rejections[o.RejectWith], TrustPAI: acct.SIP.TrustAssertedIdentity,
		Request: protocol.AnswerRequest{Ring: o.Ring, PlayFile: o.Play, Digits: o.Digits, Until: o.Until,
			DigitTimeout: o.DigitTimeout, Duration: o.Duration, SilenceHangup: o.SilenceHangup, Encryption: enc},
		Record: o.record, ExecOn: o.ExecOn, AfterTimeout: o.Timeout,
		CallUp: onCall.Up, CallDown: onCall.Down,
	}
	if f.IO.CanPrompt() {
		h.Prompter = &prompter{io: f.IO.ErrOut, in: f.IO.In}
	}
	if o.Exec != "" {
		h.Exec = answering.Command{Argv: execArgv(o), Timeout: o.ExecTimeout, Output: f.IO.ErrOut, On: o.ExecOn}
	}
	if o.Notify != "" {
		h.Notify = judgeNotifier{to: o.Notify, judge: judge}
	}
	o.media = mediaContext{setting: enc, info: plugins.Info(protocol.KindTelephony), backend: backend}
	return listen(ctx, o, acct.SIP.AOR, calls, h)
}

// judgeNotifier sends the --notify message over the judge's chat session
// (RFC 7081 §3.5), logging in again when its connection was lost since
// the last call (an XMPP server restart).
type judgeNotifier struct {
	to    string
	judge *callerjudge.Judge
}

func (n judgeNotifier) Notify(ctx context.Context, text string) error {
	return n.judge.WithChat(func(s *session.ChatSession) error {
		return s.Send(ctx, protocol.Message{To: n.to, Type: "chat", Body: text})
	})
}

// listen hands incoming calls to h, at most --concurrency at once.
func listen(ctx context.Context, o *Options, aor string, calls protocol.Stream[protocol.IncomingCall], h *answering.Handler) error {
	f := o.F
	done := make(chan struct{})
	defer close(done)
	items := cmdutil.PumpCalls(calls, done)
	l := &cmdutil.CallListener{Command: "answer", AOR: aor, GiveUpAfter: o.GiveUpAfter,
		Missed: "the listener was behind and were not handled", ErrOut: f.IO.ErrOut}
	out := newPrinter(o)
	var wg sync.WaitGroup
	var mu sync.Mutex
	inProgress := 0
	// wait lets the calls in progress finish (after Ctrl-C they are hung
	// up at once), bounded.
	wait := func() {
		ended := make(chan struct{})
		go func() { wg.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(drainWait + o.ExecTimeout):
			fmt.Fprintln(f.IO.ErrOut, "cusax: answer: calls still in progress were abandoned")
		}
	}
	interrupted := func() error {
		wait()
		return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
	}
	seen := 0
	for o.MaxCalls == 0 || seen < o.MaxCalls {
		var it cmdutil.IncomingItem
		select {
		case it = <-items:
		case <-l.GiveUp():
			wait()
			return l.GiveUpErr()
		case <-ctx.Done():
			// Interrupted, as the exit-code table says (130).
			return interrupted()
		case <-out.failed:
			wait()
			return out.err()
		}
		in, err := it.Call, it.Err
		if err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			wait()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("telephony: incoming calls: %w", err)
		}
		if l.Report(in) {
			continue
		}
		seen++
		mu.Lock()
		busy := inProgress >= o.Concurrency
		n := inProgress
		if !busy {
			inProgress++
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r answering.Report
			if busy {
				r = h.Refuse(ctx, in, n)
			} else {
				// The slot is free once the call is over, before its
				// handler runs: --concurrency counts calls.
				r = h.HandleThen(ctx, in, func() {
					mu.Lock()
					inProgress--
					mu.Unlock()
				})
			}
			out.print(r)
		}()
	}
	wait()
	return out.err()
}

// prompter asks on the terminal, one question at a time; an answer not
// given within promptWait rejects the call (the caller is still ringing).
type prompter struct {
	io    io.Writer
	in    io.Reader
	mu    sync.Mutex
	once  sync.Once
	lines chan string
}

const promptWait = 30 * time.Second

func (p *prompter) CanPrompt() bool { return true }

func (p *prompter) Confirm(ctx context.Context, q string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.once.Do(func() {
		// One reader for the run, so a timed-out question leaves no
		// stray reader to swallow the next answer.
		p.lines = make(chan string)
		go func() {
			sc := bufio.NewScanner(p.in)
			for sc.Scan() {
				p.lines <- sc.Text()
			}
			close(p.lines)
		}()
	})
	fmt.Fprintf(p.io, "%s [y/N] ", cmdutil.TermSafe(q))
	select {
	case line, ok := <-p.lines:
		if !ok {
			return false, errors.New("the terminal closed")
		}
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	case <-time.After(promptWait):
		fmt.Fprintln(p.io)
		return false, fmt.Errorf("no answer within %s", promptWait)
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
