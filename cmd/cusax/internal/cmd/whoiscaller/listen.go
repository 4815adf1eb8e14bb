package whoiscaller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/config"
	corelogin "github.com/cusax/cusax/pkg/core/login"
	"github.com/cusax/cusax/pkg/core/secrets"
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
	if acct.SIP == nil {
		return fmt.Errorf("account %s has no SIP aspect to receive calls on: %w", acct.Name, protocol.ErrUnsupported)
	}
	store, _, err := f.Secrets()
	if err != nil {
		return err
	}
	pw, err := secrets.Resolve(ctx, store, secrets.Ref{Account: acct.Name, Aspect: config.AspectSIP}, acct.SIP.PasswordCommand)
	if err != nil {
		return fmt.Errorf("telephony password: %w", err)
	}
	ca, err := corelogin.ReadCA(acct)
	if err != nil {
		return err
	}
	host, err := f.Plugins()
	if err != nil {
		return err
	}
	plugins, err := corelogin.OpenAspects(ctx, host, acct, false, true)
	if err != nil {
		return err
	}
	defer plugins.Close()
	// Bounded like every wait on a plugin: a hung one is a plugin failure.
	cctx, cancel := context.WithTimeout(ctx, o.Timeout+2*time.Second)
	sess, err := plugins.Telephony.Connect(cctx, protocol.ConnectRequest{
		Address: acct.SIP.AOR, Username: acct.SIP.Username, Password: pw, Server: acct.SIP.Proxy,
		CAPEM: ca, AllowPlaintext: acct.SIP.AllowPlaintext, MinTLS: acct.MinTLS(), Timeout: o.Timeout,
	})
	if err != nil {
		_, name := corelogin.BackendNames(acct)
		err = corelogin.NoAnswer(ctx, cctx, err, protocol.KindTelephony, name, "Connect", o.Timeout+2*time.Second)
	}
	cancel()
	if err != nil {
		return fmt.Errorf("telephony: %w", err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sess.Close(c)
	}()
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

	j := newJudge(o, acct, o.region())
	defer j.close()
	for {
		in, err := calls.Recv()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("telephony: incoming calls: %w", err)
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
func (o *Options) handle(ctx context.Context, sess protocol.TelephonySession, j *judge, in protocol.IncomingCall) (output, error) {
	start := time.Now()
	out := output{CallID: in.CallID, Remote: in.Source}
	norm, err := callerid.Normalize(in.Raw)
	if err != nil {
		return out, err
	}
	call, err := callerid.Parse(norm, in.ViaProxy)
	if err != nil {
		return out, err
	}
	res, err := j.judge(call)
	if err != nil {
		return out, err
	}
	out.Result = res
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
		if s, err := j.chat(); err == nil {
			if err := s.Send(ctx, protocol.Message{To: res.JID, Type: "chat", Body: o.Chat}); err == nil {
				out.Chatted = true
			}
		}
	}
	return out, nil
}
