package protocoltest

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// runSRTPTests are the positive tests of CapSRTP for calls placed (the
// answered direction is in answer.go): media protected when asked and
// possible, refused when required and impossible, never keyed over
// signalling that is not TLS (RFC 4568 §8.3).
func runSRTPTests(t *testing.T, b protocol.Telephony, env Env, info protocol.Info) {
	capTest(t, info, protocol.CapSRTP, "DialSRTP", func(t *testing.T) {
		if !env.GoodOverTLS {
			// No key may be sent: "srtp" is refused before anything is
			// sent, whatever the callee.
			sess := connectTelephony(t, b, env.Good, "Good")
			_, err := sess.Dial(ctxT(t), protocol.DialRequest{Target: "sip:nobody@invalid", Media: protocol.MediaOptions{Encryption: protocol.MediaEncryptionSRTP}})
			wantIs(t, `Encryption "srtp" without TLS signalling`, err, protocol.ErrMediaInsecure)
			return
		}
		need(t, protocol.CapSRTP, "SRTPCallee", env.SRTPCallee == nil)
		callee := env.SRTPCallee(t)
		sess := connectTelephony(t, b, env.Good, "Good")
		ev := dialToEnd(t, sess, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionSRTP}})
		checkAnsweredWithMedia(t, ev)
		if ev.MediaProtection == "" || ev.MediaProtection == protocol.MediaInClear || ev.MediaKeying == "" {
			t.Errorf("MediaProtection %q keyed by %q: want the SRTP suite and its keying (%+v)", ev.MediaProtection, ev.MediaKeying, ev)
		}
		if ev.SRTPAuthFailures != 0 {
			t.Errorf("%d SRTP packets from the callee failed authentication", ev.SRTPAuthFailures)
		}
		checkCalleeRTP(t, callee)
	})

	capTest(t, info, protocol.CapSRTP, "PlainCalleeRefused", func(t *testing.T) {
		need(t, protocol.CapSRTP, "Callee", env.Callee == nil)
		callee := env.Callee(t)
		sess := connectTelephony(t, b, env.Good, "Good")
		st, err := sess.Dial(ctxT(t), protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionSRTP}})
		if !env.GoodOverTLS {
			// RFC 4568 §8.3: refused by Dial itself, before sending.
			if st != nil {
				_ = st.Close()
			}
			wantIs(t, `Encryption "srtp" without TLS signalling`, err, protocol.ErrMediaInsecure)
			return
		}
		if err == nil {
			defer st.Close()
			err = drainCall(t, st)
		}
		wantIs(t, `Encryption "srtp" to a plain-RTP callee`, err, protocol.ErrMediaInsecure)
		// The callee saw the call end (ACK and BYE, or the refusal) and
		// got no media: none may be sent in clear.
		if n := checkCalleeEnd(t, callee); n != 0 {
			t.Errorf("the plain callee received %d RTP packets from a refused call", n)
		}
	})

	capTest(t, info, protocol.CapSRTP, "PlainCalleeOptional", func(t *testing.T) {
		need(t, protocol.CapSRTP, "Callee", env.Callee == nil)
		callee := env.Callee(t)
		sess := connectTelephony(t, b, env.Good, "Good")
		ev := dialToEnd(t, sess, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionOptional}})
		checkAnsweredWithMedia(t, ev)
		if ev.MediaProtection != protocol.MediaInClear {
			t.Errorf("MediaProtection %q, want %q: the callee does plain RTP", ev.MediaProtection, protocol.MediaInClear)
		}
		if ev.Note == "" {
			t.Errorf("no Note says why the media went in clear (%+v)", ev)
		}
		checkCalleeRTP(t, callee)
	})
}

// drainCall reads a call's events to the end of the stream and returns
// the error that ended it (nil: io.EOF). A final event with media sent
// is an error of its own: a refused call sends none.
func drainCall(t *testing.T, st protocol.Stream[protocol.CallEvent]) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for {
			ev, err := st.Recv()
			if errors.Is(err, io.EOF) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			if ev.RTPSent > 0 {
				t.Errorf("media sent on a call that had to be refused: %+v", ev)
			}
		}
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(callWait):
		_ = st.Close()
		t.Fatalf("the call did not end within %s", callWait)
		return nil
	}
}
