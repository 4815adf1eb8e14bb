package protocoltest

import (
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// RunTelephony runs the telephony conformance suite against b: the contract
// checks (Info, register, Close, errors, ErrUnsupported outside the
// declared capabilities) and, for every declared capability, positive tests
// named "cap=CAPABILITY/WHAT" against the servers env names.
func RunTelephony(t *testing.T, b protocol.Telephony, env Env) {
	// What the backend declares decides which tests run, also when -run
	// selects only some of them; the Info subtest checks it.
	info, err := b.Info(ctxT(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	t.Run("Info", func(t *testing.T) {
		info := CheckInfo(t, b, protocol.KindTelephony)
		if !info.Has(protocol.CapRegister) {
			t.Errorf("a telephony backend must declare %q", protocol.CapRegister)
		}
	})
	capRun(t, protocol.CapRegister, "RegisterUnregisterClose", func(t *testing.T) {
		ctx := ctxT(t)
		sess, err := b.Connect(ctx, env.Good)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		defer sess.Close(ctx)
		rep, err := sess.Register(ctx, protocol.RegisterRequest{})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		checkReport(t, rep, protocol.AspectTelephony, "registered")
		if rep.Expires <= 0 {
			t.Errorf("registration expiry = %v", rep.Expires)
		}
		if !info.Has(protocol.CapDial) {
			_, err := sess.Dial(ctx, protocol.DialRequest{Target: "sip:nobody@invalid"})
			wantIs(t, "undeclared dial", err, protocol.ErrUnsupported)
		} else {
			// Header injection is refused before anything is sent.
			_, err := sess.Dial(ctx, protocol.DialRequest{Target: "sip:nobody@invalid\r\nX-Injected: 1"})
			wantIs(t, "dial with CR LF in the target", err, protocol.ErrInvalid)
			_, err = sess.Dial(ctx, protocol.DialRequest{Target: "sip:nobody@invalid", Headers: []protocol.Header{{Name: "X-A", Value: "1\r\nVia: x"}}})
			wantIs(t, "dial with CR LF in a header", err, protocol.ErrInvalid)
		}
		if !info.Has(protocol.CapIncomingCalls) {
			_, err := sess.IncomingCalls(ctx)
			wantIs(t, "undeclared incoming-calls", err, protocol.ErrUnsupported)
		} else {
			// The stream opens on a registered session; answering a call
			// that never came is ErrNotFound, and closing the stream twice
			// is harmless.
			st, err := sess.IncomingCalls(ctx)
			if err != nil {
				t.Errorf("IncomingCalls: %v", err)
			} else {
				if err := st.Close(); err != nil {
					t.Errorf("closing the incoming-calls stream: %v", err)
				}
				_ = st.Close()
			}
			err = sess.Respond(ctx, "no-such-call@protocoltest", 486, "Busy Here")
			wantIs(t, "respond to an unknown call", err, protocol.ErrNotFound)
		}
		if a, ok := sess.(protocol.Answerer); ok && !info.Has(protocol.CapAnswer) {
			_, err := a.Answer(ctx, protocol.AnswerRequest{CallID: "no-such-call@protocoltest"})
			wantIs(t, "undeclared answer", err, protocol.ErrUnsupported)
		}
		if err := sess.Unregister(ctx); err != nil {
			t.Errorf("Unregister: %v", err)
		}
		if err := sess.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := sess.Close(ctx); err != nil {
			t.Errorf("second Close: %v (Close must be idempotent)", err)
		}
	})
	capRun(t, protocol.CapRegister, "WrongPassword", func(t *testing.T) {
		ctx := ctxT(t)
		req := env.Good
		req.Password = env.WrongPassword
		sess, err := b.Connect(ctx, req)
		if err == nil {
			defer sess.Close(ctx)
			_, err = sess.Register(ctx, protocol.RegisterRequest{})
		}
		wantIs(t, "wrong password", err, protocol.ErrAuth)
		noSecret(t, err, env.WrongPassword, env.Good.Password)
	})
	capRun(t, protocol.CapRegister, "InvalidAddress", func(t *testing.T) {
		ctx := ctxT(t)
		for _, addr := range []string{env.BadAddress, env.Good.Address + "\r\nX-Injected: 1"} {
			req := env.Good
			req.Address = addr
			sess, err := b.Connect(ctx, req)
			if err == nil {
				_, err = sess.Register(ctx, protocol.RegisterRequest{})
				sess.Close(ctx)
			}
			wantIs(t, "invalid address "+addr, err, protocol.ErrInvalid)
		}
	})
	runTelephonyCapabilities(t, b, env, info)
	logCapabilities(t, info)
}
