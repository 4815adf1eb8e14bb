package protocoltest

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// callWait bounds a whole answered call of the positive tests (set-up, a
// second of media, hang-up) on loopback.
const callWait = 15 * time.Second

// plain is the Encryption of the calls to Env.Callee and Env.DTMFCallee,
// which do plain RTP only: over TLS the default would be SRTP or no call.
const plain = protocol.MediaEncryptionNone

// connectTelephony prepares a user agent for req and closes it when t ends.
func connectTelephony(t *testing.T, b protocol.Telephony, req protocol.ConnectRequest, who string) protocol.TelephonySession {
	t.Helper()
	return connected(t, who, func(ctx context.Context) (protocol.TelephonySession, error) { return b.Connect(ctx, req) })
}

// dialToEnd places req and returns its final event.
func dialToEnd(t *testing.T, sess protocol.TelephonySession, req protocol.DialRequest) protocol.CallEvent {
	t.Helper()
	st, err := sess.Dial(ctxT(t), req)
	if err != nil {
		t.Fatalf("Dial %s: %v", req.Target, err)
	}
	defer st.Close()
	return recvMatch(t, st, callWait, "the final event of the call to "+req.Target, func(ev protocol.CallEvent) bool { return ev.Final })
}

// checkCalleeRTP waits for the callee to see the call end and checks that
// the caller's RTP reached it (nil Wait: the environment cannot tell).
func checkCalleeRTP(t *testing.T, c Callee) {
	t.Helper()
	if n := checkCalleeEnd(t, c); n == 0 && c.Wait != nil {
		t.Errorf("the callee received no RTP from the caller")
	}
}

// checkCalleeEnd waits for the callee to see the call end as a callee
// expects (ACK, then the caller's BYE) and returns the RTP packets it
// counted.
func checkCalleeEnd(t *testing.T, c Callee) int64 {
	t.Helper()
	if c.Wait == nil {
		return 0
	}
	n, err := c.Wait(closeWait * 2)
	if err != nil {
		t.Errorf("the callee: %v", err)
	}
	return n
}

// checkAnsweredWithMedia checks the final event of an answered call whose
// media flowed both ways (RFC 3550 packets counted on each side).
func checkAnsweredWithMedia(t *testing.T, ev protocol.CallEvent) {
	t.Helper()
	if !ev.Answered || ev.StatusCode != 200 || ev.CallID == "" {
		t.Errorf("final event %+v, want an answered (200) call with a Call-ID", ev)
	}
	if ev.RTPSent == 0 || ev.RTPRecv == 0 {
		t.Errorf("RTP sent %d, received %d: want both > 0 (%+v)", ev.RTPSent, ev.RTPRecv, ev)
	}
}

// registered connects and registers req, and opens its incoming-calls
// stream (closed when t ends).
func registered(t *testing.T, b protocol.Telephony, req protocol.ConnectRequest, who string) (protocol.TelephonySession, protocol.Stream[protocol.IncomingCall]) {
	t.Helper()
	ctx := ctxT(t)
	sess := connectTelephony(t, b, req, who)
	if _, err := sess.Register(ctx, protocol.RegisterRequest{Expires: 120 * time.Second}); err != nil {
		t.Fatalf("Register %s: %v", who, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		_ = sess.Unregister(ctx)
	})
	st, err := sess.IncomingCalls(ctx)
	if err != nil {
		t.Fatalf("IncomingCalls %s: %v", who, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return sess, st
}

// isCall matches a call (not a registration or missed-calls report).
func isCall(ic protocol.IncomingCall) bool {
	return ic.Registration == nil && ic.Missed == 0 && ic.CallID != ""
}

// runTelephonyCapabilities runs a positive test for every capability info
// declares, against the real registrar and an answering callee.
func runTelephonyCapabilities(t *testing.T, b protocol.Telephony, env Env, info protocol.Info) {
	runOptionsCapability(t, b, env, info)
	capTest(t, info, protocol.CapDial, "AnsweredRTPBothWays", func(t *testing.T) {
		need(t, protocol.CapDial, "Callee", env.Callee == nil)
		callee := env.Callee(t)
		sess := connectTelephony(t, b, env.Good, "Good")
		// Hung up by the backend once Duration passes after the answer.
		ev := dialToEnd(t, sess, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{Duration: time.Second, Encryption: plain}})
		checkAnsweredWithMedia(t, ev)
		checkCalleeRTP(t, callee)
	})

	// hangUp answers a call, lets end() hang it up, and checks that the
	// final event follows and the callee saw the BYE (RFC 3261 §15).
	hangUp := func(t *testing.T, end func(sess protocol.TelephonySession, callID string, cancel context.CancelFunc)) {
		need(t, protocol.CapDial, "Callee", env.Callee == nil)
		callee := env.Callee(t)
		sess := connectTelephony(t, b, env.Good, "Good")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Longer than the test waits: only the hang-up ends the call.
		st, err := sess.Dial(ctx, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{Duration: time.Minute, Encryption: plain}})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer st.Close()
		ans := recvMatch(t, st, callWait, "the answer", func(ev protocol.CallEvent) bool { return ev.Answered || ev.Final })
		if !ans.Answered || ans.CallID == "" {
			t.Fatalf("call not answered: %+v", ans)
		}
		if ans.Final {
			t.Fatalf("the call ended by itself before the hang-up: %+v", ans)
		}
		end(sess, ans.CallID, cancel)
		got := make(chan protocol.CallEvent, 1)
		go func() {
			// After a context hang-up a backend may end the stream with
			// the context's error instead of a final event.
			for {
				ev, err := st.Recv()
				if err != nil || ev.Final {
					got <- ev
					return
				}
			}
		}()
		select {
		case ev := <-got:
			if ev.Final && ev.CallID != ans.CallID {
				t.Errorf("final event for call %q, want %q", ev.CallID, ans.CallID)
			}
		case <-time.After(closeWait):
			_ = st.Close()
			t.Fatalf("no final event within %s of the hang-up", closeWait)
		}
		// The callee saw the BYE. Its RTP count is not checked: the hang-up
		// may come before the first packet.
		checkCalleeEnd(t, callee)
	}
	capTest(t, info, protocol.CapDial, "HangupByCallID", func(t *testing.T) {
		hangUp(t, func(sess protocol.TelephonySession, callID string, _ context.CancelFunc) {
			if err := sess.Hangup(ctxT(t), callID); err != nil {
				t.Fatalf("Hangup %s: %v", callID, err)
			}
		})
	})
	capTest(t, info, protocol.CapDial, "HangupByContext", func(t *testing.T) {
		hangUp(t, func(_ protocol.TelephonySession, _ string, cancel context.CancelFunc) { cancel() })
	})

	capTest(t, info, protocol.CapMedia, "PlayAndRecord", func(t *testing.T) {
		need(t, protocol.CapMedia, "Callee", env.Callee == nil)
		callee := env.Callee(t)
		dir := t.TempDir()
		play, rec := filepath.Join(dir, "play.wav"), filepath.Join(dir, "record.wav")
		if err := os.WriteFile(play, toneWAV(8000, 700*time.Millisecond), 0o600); err != nil {
			t.Fatal(err)
		}
		sess := connectTelephony(t, b, env.Good, "Good")
		// Duration 0: hang up once the file is played.
		ev := dialToEnd(t, sess, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{PlayFile: play, RecordFile: rec, Encryption: plain}})
		checkAnsweredWithMedia(t, ev)
		if ev.Codec != "PCMU" && ev.Codec != "PCMA" {
			t.Errorf("codec %q, want PCMU or PCMA", ev.Codec)
		}
		if ev.RecordedSamples == 0 {
			t.Errorf("nothing recorded: %+v", ev)
		}
		if data, err := os.ReadFile(rec); err != nil || len(data) <= 44 || !bytes.HasPrefix(data, []byte("RIFF")) {
			t.Errorf("record file: %d bytes, %v; want a WAV with samples", len(data), err)
		}
		checkCalleeRTP(t, callee)
	})

	capTest(t, info, protocol.CapDTMF, "DigitsSent", func(t *testing.T) {
		need(t, protocol.CapDTMF, "Callee", env.Callee == nil)
		callee := env.Callee(t)
		sess := connectTelephony(t, b, env.Good, "Good")
		const digits = "19*#"
		// Duration 0: hang up once the digits are sent (RFC 4733 events).
		ev := dialToEnd(t, sess, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{DTMF: digits, Encryption: plain}})
		checkAnsweredWithMedia(t, ev)
		if ev.DTMFSent != digits {
			t.Errorf("DTMF sent %q, want %q (%+v)", ev.DTMFSent, digits, ev)
		}
		checkCalleeRTP(t, callee)
	})

	capTest(t, info, protocol.CapDTMF, "DigitsReachCallee", func(t *testing.T) {
		need(t, protocol.CapDTMF, "DTMFCallee", env.DTMFCallee == nil)
		callee := env.DTMFCallee(t)
		if callee.DTMF == nil {
			t.Fatal("Env.DTMFCallee returned a callee without DTMF")
		}
		sess := connectTelephony(t, b, env.Good, "Good")
		const digits = "42#"
		// Half a second of media after the digits, so that the last
		// event's end packets (RFC 4733 §2.5.1.4) arrive before the BYE.
		ev := dialToEnd(t, sess, protocol.DialRequest{Target: callee.URI, Media: protocol.MediaOptions{DTMF: digits, Duration: 1500 * time.Millisecond, Encryption: plain}})
		checkAnsweredWithMedia(t, ev)
		if ev.DTMFSent != digits {
			t.Errorf("DTMF sent %q, want %q", ev.DTMFSent, digits)
		}
		deadline := time.Now().Add(closeWait)
		for callee.DTMF() != digits && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // polled: the callee logs what it decodes
		}
		if got := callee.DTMF(); got != digits {
			t.Errorf("the callee received DTMF %q, want %q", got, digits)
		}
		checkCalleeRTP(t, callee)
	})

	capTest(t, info, protocol.CapIncomingCalls, "StreamedAndRespond486", func(t *testing.T) {
		need(t, protocol.CapIncomingCalls, "CallGood", env.CallGood == nil)
		incomingFromEnv(t, b, env, 486, "Busy Here")
	})
	if info.Has(protocol.CapRespondAny) {
		capTest(t, info, protocol.CapRespondAny, "Respond603", func(t *testing.T) {
			need(t, protocol.CapRespondAny, "CallGood", env.CallGood == nil)
			incomingFromEnv(t, b, env, 603, "Decline")
		})
	} else {
		capTest(t, info, protocol.CapIncomingCalls, "Respond603Refused", func(t *testing.T) {
			need(t, protocol.CapIncomingCalls, "CallGood", env.CallGood == nil)
			// 603 is refused (ErrUnsupported), the call stays, 486 ends it.
			incomingOnly486(t, b, env)
		})
	}

	capTest(t, info, protocol.CapIncomingCalls, "FromPeerBackend", func(t *testing.T) {
		need(t, protocol.CapIncomingCalls, "Peer", env.Peer.Address == "")
		if !info.Has(protocol.CapDial) {
			t.Skipf("the peer calls with this backend, which does not declare %q", protocol.CapDial)
		}
		good, calls := registered(t, b, env.Good, "Good")
		peer := connectTelephony(t, b, env.Peer, "Peer")
		st, err := peer.Dial(ctxT(t), protocol.DialRequest{Target: env.Good.Address, Media: protocol.MediaOptions{RingTimeout: callWait}})
		if err != nil {
			t.Fatalf("Dial Good from Peer: %v", err)
		}
		defer st.Close()
		peerUser := userOf(env.Peer.Address)
		ic := recvMatch(t, calls, deliveryWait, "Peer's call at Good", func(ic protocol.IncomingCall) bool {
			return isCall(ic) && bytes.Contains(ic.Raw, []byte(peerUser))
		})
		status, reason := 603, "Decline"
		if !info.Has(protocol.CapRespondAny) {
			status, reason = 486, "Busy Here"
		}
		if err := good.Respond(ctxT(t), ic.CallID, status, reason); err != nil {
			t.Fatalf("Respond %d: %v", status, err)
		}
		ev := recvMatch(t, st, deliveryWait, "the final event at Peer", func(ev protocol.CallEvent) bool { return ev.Final })
		if ev.StatusCode != status || ev.Answered {
			t.Errorf("Peer's final event %+v, want %d not answered", ev, status)
		}
	})
	runSRTPTests(t, b, env, info)
	runAnswerTests(t, b, env, info)
}

// incomingFromEnv has the environment call Good, checks the call arrives on
// Good's stream (RFC 3261 §13.3), answers it with status and checks the
// caller saw that status.
func incomingFromEnv(t *testing.T, b protocol.Telephony, env Env, status int, reason string) {
	good, calls := registered(t, b, env.Good, "Good")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id := "conf-" + token() + "@protocoltest"
	placed := make(chan error, 1)
	go func() { placed <- env.CallGood(ctx, id, status) }()
	ic := recvMatch(t, calls, deliveryWait, "the call "+id+" at Good", func(ic protocol.IncomingCall) bool { return isCall(ic) && ic.CallID == id })
	if !bytes.HasPrefix(ic.Raw, []byte("INVITE ")) || !bytes.Contains(ic.Raw, []byte(id)) {
		t.Errorf("Raw is not the INVITE of %s:\n%s", id, ic.Raw)
	}
	if ic.Source == "" || ic.Time.IsZero() {
		t.Errorf("incoming call lacks source/time: %+v", ic)
	}
	if err := good.Respond(ctx, id, 180, "Ringing"); err != nil {
		t.Fatalf("Respond 180: %v", err)
	}
	if err := good.Respond(ctx, id, status, reason); err != nil {
		t.Fatalf("Respond %d: %v", status, err)
	}
	select {
	case err := <-placed:
		if err != nil {
			t.Errorf("the caller: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("the caller did not finish: %v", ctx.Err())
	}
	// The call is over: answering it again is ErrNotFound.
	wantIs(t, "a second answer", good.Respond(ctxT(t), id, status, reason), protocol.ErrNotFound)
}

// incomingOnly486 checks a backend without CapRespondAny: Respond 603
// answers ErrUnsupported and leaves the call waiting, and Respond 486 then
// ends it with 486 at the caller.
func incomingOnly486(t *testing.T, b protocol.Telephony, env Env) {
	good, calls := registered(t, b, env.Good, "Good")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id := "conf-" + token() + "@protocoltest"
	placed := make(chan error, 1)
	go func() { placed <- env.CallGood(ctx, id, 486) }()
	recvMatch(t, calls, deliveryWait, "the call "+id+" at Good", func(ic protocol.IncomingCall) bool { return isCall(ic) && ic.CallID == id })
	wantIs(t, "Respond 603 without "+string(protocol.CapRespondAny), good.Respond(ctx, id, 603, "Decline"), protocol.ErrUnsupported)
	if err := good.Respond(ctx, id, 486, "Busy Here"); err != nil {
		t.Fatalf("Respond 486 after the refused 603 (the call must still be waiting): %v", err)
	}
	select {
	case err := <-placed:
		if err != nil {
			t.Errorf("the caller: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("the caller did not finish: %v", ctx.Err())
	}
}

// userOf is the user part of a SIP URI (sip:alice@example.com → alice).
func userOf(uri string) string {
	u := uri
	if i := strings.IndexByte(u, ':'); i >= 0 {
		u = u[i+1:]
	}
	u, _, _ = strings.Cut(u, "@")
	return u
}

// toneWAV is a 440 Hz tone as a 16-bit mono PCM WAV at rate.
func toneWAV(rate int, d time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	var data bytes.Buffer
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		_ = binary.Write(&data, binary.LittleEndian, v)
	}
	var w bytes.Buffer
	le := func(v any) { _ = binary.Write(&w, binary.LittleEndian, v) }
	w.WriteString("RIFF")
	le(uint32(36 + data.Len()))
	w.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(rate))
	le(uint32(rate * 2))
	le(uint16(2))
	le(uint16(16))
	w.WriteString("data")
	le(uint32(data.Len()))
	w.Write(data.Bytes())
	return w.Bytes()
}
