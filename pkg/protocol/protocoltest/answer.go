package protocoltest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
)

// MediaCall is the caller Env.CallGoodWithMedia plays.
type MediaCall struct {
	// CallID is the Call-ID of its INVITE.
	CallID string
	// Once answered, the caller sends audio (PCMU or PCMA, RTP) until the
	// call ends, and DTMF as RFC 4733 events, in order, after the answer.
	DTMF string
	// HangUpAfter: the caller sends BYE this long after the answer; 0:
	// it waits for Good's BYE.
	HangUpAfter time.Duration
	// WantStatus is the final response the caller expects: 0 means 200
	// (answered); 488 a call Good refuses (the caller then returns nil
	// when it got 488, an error otherwise).
	WantStatus int
}

// MediaCallResult is what the caller of Env.CallGoodWithMedia saw.
type MediaCallResult struct {
	// Status is the final response to the INVITE (200 when answered).
	Status int
	// RTPReceived counts the RTP packets the caller received from Good;
	// -1: the caller cannot count them (the suite then relies on the
	// backend's own RTPSent).
	RTPReceived int64
	// GotBye: Good hung up (its BYE reached the caller). SentBye: the
	// caller hung up.
	GotBye, SentBye bool
}

// answered is one call taken with Answer: its events (the last final) and
// what its caller saw.
type answered struct {
	events []protocol.AnswerEvent
	final  protocol.AnswerEvent
	caller MediaCallResult
}

// answerCall has the environment call Good as call says, takes the call
// with req (its CallID set here) and returns both sides' view once it is
// over. It checks what every answered call keeps: one final event, last;
// ringing first; answered before media and digits; the Call-ID on each.
func answerCall(t *testing.T, b protocol.Telephony, env Env, call MediaCall, req protocol.AnswerRequest) answered {
	t.Helper()
	need(t, protocol.CapAnswer, "CallGoodWithMedia", env.CallGoodWithMedia == nil)
	return answerCallFrom(t, b, env, env.CallGoodWithMedia, call, req)
}

// answerCallFrom is answerCall with the caller placeCall.
func answerCallFrom(t *testing.T, b protocol.Telephony, env Env, placeCall func(context.Context, MediaCall) (MediaCallResult, error), call MediaCall, req protocol.AnswerRequest) answered {
	t.Helper()
	good, calls := registered(t, b, env.Good, "Good")
	a, ok := good.(protocol.Answerer)
	if !ok {
		t.Fatalf("%q is declared but the session is no protocol.Answerer", protocol.CapAnswer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	id := "conf-" + token() + "@protocoltest"
	call.CallID, req.CallID = id, id
	type placed struct {
		r   MediaCallResult
		err error
	}
	done := make(chan placed, 1)
	go func() {
		r, err := placeCall(ctx, call)
		done <- placed{r, err}
	}()
	recvMatch(t, calls, deliveryWait, "the call "+id+" at Good", func(ic protocol.IncomingCall) bool { return isCall(ic) && ic.CallID == id })
	st, err := a.Answer(ctx, req)
	if err != nil {
		t.Fatalf("Answer %s: %v", id, err)
	}
	defer st.Close()
	var evs []protocol.AnswerEvent
	final := recvMatch(t, st, callWait+req.Ring, "the final event of "+id, func(ev protocol.AnswerEvent) bool {
		evs = append(evs, ev)
		return ev.Final
	})
	var r placed
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatalf("the caller did not finish: %v", ctx.Err())
	}
	if r.err != nil {
		t.Fatalf("the caller: %v", r.err)
	}
	if call.WantStatus == 0 && evs[0].Kind != protocol.AnswerRinging {
		t.Errorf("first event %+v, want %q", evs[0], protocol.AnswerRinging)
	}
	up := false
	for _, ev := range evs {
		if ev.CallID != id {
			t.Errorf("event %+v: Call-ID %q, want %q", ev, ev.CallID, id)
		}
		switch ev.Kind {
		case protocol.AnswerAnswered:
			up = true
		case protocol.AnswerMedia, protocol.AnswerDigit:
			if !up {
				t.Errorf("event %q before %q: %+v", ev.Kind, protocol.AnswerAnswered, evs)
			}
		}
	}
	if final.Kind != protocol.AnswerEnded || final.Answered != up {
		t.Errorf("final event %+v: want %q, answered=%v", final, protocol.AnswerEnded, up)
	}
	return answered{events: evs, final: final, caller: r.r}
}

// checkAnsweredCall checks the final event and the caller's view of a call
// answered with media flowing both ways that hungUpBy ended.
func checkAnsweredCall(t *testing.T, c answered, hungUpBy string) {
	t.Helper()
	f := c.final
	if !f.Answered || f.StatusCode != 200 || f.HungUpBy != hungUpBy {
		t.Errorf("final event %+v, want answered (200), hung up by %q", f, hungUpBy)
	}
	if f.RTPSent == 0 || f.RTPRecv == 0 {
		t.Errorf("RTP sent %d, received %d: want both > 0 (%+v)", f.RTPSent, f.RTPRecv, f)
	}
	if f.Codec != "PCMU" && f.Codec != "PCMA" {
		t.Errorf("codec %q, want PCMU or PCMA", f.Codec)
	}
	if c.caller.Status != 200 {
		t.Errorf("the caller got %d, want 200", c.caller.Status)
	}
	if c.caller.RTPReceived == 0 {
		t.Errorf("the caller received no RTP from Good")
	}
	// Exactly one side sent the BYE (RFC 3261 §15).
	byCaller := hungUpBy == protocol.HungUpByCaller
	if c.caller.SentBye != byCaller || c.caller.GotBye == byCaller {
		t.Errorf("the caller saw %+v; hung up by %q", c.caller, hungUpBy)
	}
}

// plainCaller is the Encryption of the answer tests whose caller
// (CallGoodWithMedia) may offer plain RTP: over TLS the default would
// refuse it (protocol.MediaEncryptionDefault).
const plainCaller = protocol.MediaEncryptionOptional

// runAnswerTests: the positive tests of CapAnswer, and its contract checks.
func runAnswerTests(t *testing.T, b protocol.Telephony, env Env, info protocol.Info) {
	capTest(t, info, protocol.CapAnswer, "AnswerPlaysAndRecords", func(t *testing.T) {
		dir := t.TempDir()
		play, rec := filepath.Join(dir, "greeting.wav"), filepath.Join(dir, "record.wav")
		if err := os.WriteFile(play, toneWAV(8000, time.Second), 0o600); err != nil {
			t.Fatal(err)
		}
		// Duration 0 with a PlayFile: we hang up once it has played.
		c := answerCall(t, b, env, MediaCall{}, protocol.AnswerRequest{Ring: 300 * time.Millisecond, PlayFile: play, RecordFile: rec, Encryption: plainCaller})
		checkAnsweredCall(t, c, protocol.HungUpByUs)
		// A second of greeting is 50 packets of 20 ms; half of them
		// arriving is a generous floor on loopback.
		if n := c.caller.RTPReceived; n >= 0 && n < 25 {
			t.Errorf("the caller received %d RTP packets of a 1 s greeting, want >= 25", n)
		}
		if c.final.RecordedSamples == 0 {
			t.Fatalf("nothing recorded: %+v", c.final)
		}
		data, err := os.ReadFile(rec)
		if err != nil {
			t.Fatalf("the recording: %v", err)
		}
		pcm, err := media.ReadWAV(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("the recording is no WAV: %v", err)
		}
		if pcm.Rate != 8000 || pcm.Channels != 1 || int64(len(pcm.Samples)) != c.final.RecordedSamples {
			t.Errorf("recording %d Hz, %d channels, %d samples; the event says %d samples of 8 kHz mono",
				pcm.Rate, pcm.Channels, len(pcm.Samples), c.final.RecordedSamples)
		}
		loud := false
		for _, s := range pcm.Samples {
			loud = loud || s > 64 || s < -64
		}
		if !loud {
			t.Errorf("the recording is silence: the caller's audio is not in it")
		}
	})

	capTest(t, info, protocol.CapAnswer, "AnswerReadsDigits", func(t *testing.T) {
		// Until "#" ends the call and is not counted; the 9 after it is
		// never read. Duration only bounds a broken backend.
		c := answerCall(t, b, env, MediaCall{DTMF: "1234#9"}, protocol.AnswerRequest{Until: "#", Duration: 20 * time.Second, Encryption: plainCaller})
		checkAnsweredCall(t, c, protocol.HungUpByUs)
		var got strings.Builder
		for _, ev := range c.events {
			if ev.Kind == protocol.AnswerDigit {
				got.WriteString(ev.Digit)
				if ev.Via != "rfc4733" && ev.Via != "sip-info" {
					t.Errorf("digit %q via %q, want rfc4733 or sip-info", ev.Digit, ev.Via)
				}
			}
		}
		if got.String() != "1234" || c.final.Digits != "1234" {
			t.Errorf("digit events %q, final digits %q; want 1234 in order", got.String(), c.final.Digits)
		}
	})

	capTest(t, info, protocol.CapAnswer, "AnswerCallerHangsUp", func(t *testing.T) {
		// Only the caller's BYE can end it: the Duration is longer than
		// the test waits.
		c := answerCall(t, b, env, MediaCall{HangUpAfter: time.Second}, protocol.AnswerRequest{Duration: time.Minute, Encryption: plainCaller})
		checkAnsweredCall(t, c, protocol.HungUpByCaller)
	})

	capTest(t, info, protocol.CapAnswer, "UnknownCallNotFound", func(t *testing.T) {
		good, _ := registered(t, b, env.Good, "Good")
		a, ok := good.(protocol.Answerer)
		if !ok {
			t.Fatalf("%q is declared but the session is no protocol.Answerer", protocol.CapAnswer)
		}
		_, err := a.Answer(ctxT(t), protocol.AnswerRequest{CallID: "no-such-call@protocoltest"})
		wantIs(t, "answer a call that never came", err, protocol.ErrNotFound)
	})

	// A recording never replaces a file: a symbolic link at the path (to
	// a file of the user's) is refused before the call is answered, and
	// the call is still there to be answered otherwise.
	capTest(t, info, protocol.CapAnswer, "RecordFileExistsRefused", func(t *testing.T) {
		need(t, protocol.CapAnswer, "CallGood", env.CallGood == nil)
		good, calls := registered(t, b, env.Good, "Good")
		a, ok := good.(protocol.Answerer)
		if !ok {
			t.Fatalf("%q is declared but the session is no protocol.Answerer", protocol.CapAnswer)
		}
		dir := t.TempDir()
		victim, rec := filepath.Join(dir, "victim"), filepath.Join(dir, "record.wav")
		if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, rec); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		id := "conf-" + token() + "@protocoltest"
		placed := make(chan error, 1)
		go func() { placed <- env.CallGood(ctx, id, 486) }()
		recvMatch(t, calls, deliveryWait, "the call "+id+" at Good", func(ic protocol.IncomingCall) bool { return isCall(ic) && ic.CallID == id })
		st, err := a.Answer(ctx, protocol.AnswerRequest{CallID: id, RecordFile: rec})
		if err == nil {
			st.Close()
		}
		wantIs(t, "answer with a link at the record path", err, protocol.ErrInvalid)
		if data, _ := os.ReadFile(victim); string(data) != "keep me" {
			t.Errorf("the file behind the link changed: %q", data)
		}
		if err := good.Respond(ctx, id, 486, "Busy Here"); err != nil {
			t.Errorf("Respond 486 after the refused Answer: %v (the call must still be waiting)", err)
		}
		select {
		case err := <-placed:
			if err != nil {
				t.Errorf("the caller: %v", err)
			}
		case <-ctx.Done():
			t.Fatalf("the caller did not finish: %v", ctx.Err())
		}
	})
	runAnswerSRTPTests(t, b, env, info)
}

// runAnswerSRTPTests: the answered side of CapSRTP, for a backend that
// also answers calls (CapAnswer). RFC 4568 §7.1.2 and RFC 3264 §6: an SRTP
// offer over TLS is answered with a suite; with Encryption "srtp" a plain
// offer gets 488.
func runAnswerSRTPTests(t *testing.T, b protocol.Telephony, env Env, info protocol.Info) {
	if !info.Has(protocol.CapAnswer) {
		return
	}
	capTest(t, info, protocol.CapSRTP, "AnswerSRTP", func(t *testing.T) {
		need(t, protocol.CapSRTP, "CallGoodWithSRTP", env.CallGoodWithSRTP == nil)
		need(t, protocol.CapSRTP, "GoodOverTLS", !env.GoodOverTLS)
		// An SRTP-only caller: only SRTP can carry its call.
		c := answerCallFrom(t, b, env, env.CallGoodWithSRTP, MediaCall{HangUpAfter: 2 * time.Second},
			protocol.AnswerRequest{Duration: time.Minute, Encryption: protocol.MediaEncryptionSRTP})
		checkAnsweredCall(t, c, protocol.HungUpByCaller)
		f := c.final
		if f.MediaProtection == "" || f.MediaProtection == protocol.MediaInClear ||
			(f.MediaKeying != protocol.KeyingSDES && f.MediaKeying != protocol.KeyingDTLS) {
			t.Errorf("final event %+v: want a suite in MediaProtection and the keying (sdes or dtls)", f)
		}
		if f.SRTPAuthFailures != 0 {
			t.Errorf("%d SRTP packets of an honest caller failed authentication", f.SRTPAuthFailures)
		}
		for _, ev := range c.events {
			if ev.Kind == protocol.AnswerAnswered && ev.MediaProtection != f.MediaProtection {
				t.Errorf("answered event says %q, the final one %q", ev.MediaProtection, f.MediaProtection)
			}
		}
	})

	capTest(t, info, protocol.CapSRTP, "AnswerPlainCallerRefused", func(t *testing.T) {
		need(t, protocol.CapSRTP, "CallGoodWithMedia", env.CallGoodWithMedia == nil)
		c := answerCall(t, b, env, MediaCall{WantStatus: 488}, protocol.AnswerRequest{Duration: 10 * time.Second, Encryption: protocol.MediaEncryptionSRTP})
		f := c.final
		if f.Answered || f.StatusCode != 488 || f.HungUpBy != protocol.HungUpByError || f.Note == "" {
			t.Errorf("final event %+v: want 488, hung up by error, with a note", f)
		}
		if c.caller.Status != 488 {
			t.Errorf("the caller got %d, want 488", c.caller.Status)
		}
	})
}
