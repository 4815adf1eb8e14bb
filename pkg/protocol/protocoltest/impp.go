package protocoltest

import (
	"errors"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// RunIMPP runs the IMPP conformance suite against b: the contract checks
// (Info, Close, errors, ErrUnsupported outside the declared capabilities)
// and, for every declared capability, positive tests named
// "cap=CAPABILITY/WHAT" against the servers env names.
func RunIMPP(t *testing.T, b protocol.IMPP, env Env) {
	// What the backend declares decides which tests run, also when -run
	// selects only some of them; the Info subtest checks it.
	info, err := b.Info(ctxT(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	t.Run("Info", func(t *testing.T) {
		info := CheckInfo(t, b, protocol.KindIMPP)
		if !info.Has(protocol.CapLogin) {
			t.Errorf("an IMPP backend must declare %q", protocol.CapLogin)
		}
	})
	capRun(t, protocol.CapLogin, "ConnectAndClose", func(t *testing.T) {
		ctx := ctxT(t)
		sess, err := b.Connect(ctx, env.Good)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		checkReport(t, sess.Report(), protocol.AspectChat, "connected")
		checkIMPPUnsupported(t, sess, info)
		if err := sess.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := sess.Close(ctx); err != nil {
			t.Errorf("second Close: %v (Close must be idempotent)", err)
		}
	})
	t.Run("AckedMessages", func(t *testing.T) {
		ctx := ctxT(t)
		sess, err := b.Connect(ctx, env.Good)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		defer sess.Close(ctx)
		am, ok := sess.(protocol.AckedMessages)
		if !ok {
			t.Skip("the session does not offer acknowledged messages")
		}
		st, err := am.AckedMessages(ctx)
		if errors.Is(err, protocol.ErrUnsupported) {
			return // allowed: the server cannot acknowledge
		}
		if err != nil {
			t.Fatalf("AckedMessages: %v (want a stream or ErrUnsupported)", err)
		}
		if env.Peer.Address != "" && info.Has(protocol.CapMessage) {
			// A message from Peer arrives with a Seq to acknowledge.
			peer := connectIMPP(t, b, env.Peer, "Peer")
			body := "acked " + token()
			if err := peer.Send(ctx, protocol.Message{To: fullJID(sess, env.Good), Type: "chat", Body: body}); err != nil {
				t.Fatalf("Send from Peer: %v", err)
			}
			m := recvMatch(t, st, deliveryWait, "the message on the acknowledged stream", func(m protocol.Message) bool { return m.Body == body })
			if m.Seq == 0 {
				t.Errorf("message on the acknowledged stream has no Seq: %+v", m)
			}
			if err := am.AckMessage(ctx, m.Seq); err != nil {
				t.Errorf("AckMessage %d: %v", m.Seq, err)
			}
		}
		if err := st.Close(); err != nil {
			t.Errorf("Close of the stream: %v", err)
		}
		// Acknowledging what was never delivered is harmless.
		if err := am.AckMessage(ctx, 1<<40); err != nil {
			t.Errorf("AckMessage of an unknown Seq: %v", err)
		}
	})
	capRun(t, protocol.CapLogin, "WrongPassword", func(t *testing.T) {
		req := env.Good
		req.Password = env.WrongPassword
		sess, err := b.Connect(ctxT(t), req)
		if err == nil {
			sess.Close(ctxT(t))
		}
		wantIs(t, "wrong password", err, protocol.ErrAuth)
		noSecret(t, err, env.WrongPassword, env.Good.Password)
	})
	capRun(t, protocol.CapLogin, "InvalidAddress", func(t *testing.T) {
		req := env.Good
		req.Address = env.BadAddress
		sess, err := b.Connect(ctxT(t), req)
		if err == nil {
			sess.Close(ctxT(t))
		}
		wantIs(t, "invalid address", err, protocol.ErrInvalid)
	})
	runIMPPCapabilities(t, b, env, info)
	runPresenceExtras(t, b, env, info)
	logCapabilities(t, info)
}

// checkIMPPUnsupported: an operation outside the declared capabilities
// answers ErrUnsupported rather than failing some other way.
func checkIMPPUnsupported(t *testing.T, s protocol.IMPPSession, info protocol.Info) {
	t.Helper()
	ctx := ctxT(t)
	checks := []struct {
		cap protocol.Capability
		run func() error
	}{
		{protocol.CapRoster, func() error { _, err := s.Roster(ctx); return err }},
		{protocol.CapVCard, func() error { _, err := s.VCard(ctx, ""); return err }},
		{protocol.CapMUC, func() error {
			_, err := s.JoinRoom(ctx, protocol.RoomJoin{Room: "r@conference.invalid", Nick: "n"})
			return err
		}},
		{protocol.CapDisco, func() error { _, err := s.DiscoInfo(ctx, "", ""); return err }},
		{protocol.CapReach, func() error { _, err := s.Reach(ctx, ""); return err }},
		{protocol.CapPublishReach, func() error { return s.PublishReach(ctx, nil) }},
	}
	for _, c := range checks {
		if info.Has(c.cap) {
			continue
		}
		wantIs(t, "undeclared "+string(c.cap), c.run(), protocol.ErrUnsupported)
	}
}
