package sip

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
)

// TestAnswerThroughKamailio: sipp calls a session registered at the bed's
// Kamailio over UDP and the session answers with Answer (RFC 3261 UAS,
// RFC 3264 answer): the greeting reaches sipp (its echo count), sipp's
// audio is recorded, sipp's BYE ends the call; sipp's RFC 4733 digits
// 1234# end it at '#'; an offer with only G.722 gets 488; a caller that
// never ACKs is hung up when Timer H fires.
func TestAnswerThroughKamailio(t *testing.T) {
	bed := testbed.Shared(t)
	user := "ans" + randomToken(4)
	users, err := bed.AddUsers(context.Background(), bed.Domain, user)
	if err != nil {
		t.Fatal(err)
	}
	sess := connect(t, protocol.ConnectRequest{
		Address: "sip:" + user + "@" + bed.Domain, Password: users[user].Password,
		Server: bedServer(bed, "udp"), CAPEM: readFile(t, bed.CAFile), Timeout: 5 * time.Second,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if _, err := sess.Register(ctx, protocol.RegisterRequest{Expires: 120 * time.Second}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	st, err := sess.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ans, ok := sess.(protocol.Answerer)
	if !ok {
		t.Fatal("the SIP session does not implement protocol.Answerer")
	}
	target := "sip:" + user + "@" + bed.Domain
	dir := t.TempDir()

	type sippOutcome struct {
		res testbed.SippCallResult
		err error
	}
	place := func(opts testbed.SippCallOptions) <-chan sippOutcome {
		ch := make(chan sippOutcome, 1)
		go func() {
			res, err := bed.SippCall(ctx, opts)
			ch <- sippOutcome{res, err}
		}()
		return ch
	}
	// answer takes the next call and collects its events up to the final one.
	answer := func(t *testing.T, id string, req protocol.AnswerRequest) ([]protocol.AnswerEvent, time.Duration) {
		t.Helper()
		ic := recvWithin(t, st, 10*time.Second)
		if ic.CallID != id {
			t.Fatalf("call %q delivered, want %q", ic.CallID, id)
		}
		req.CallID = id
		events, err := ans.Answer(ctx, req)
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		defer events.Close()
		var evs []protocol.AnswerEvent
		var setup time.Duration
		for {
			// Bounded per call, so that a call that does not end names
			// its subtest.
			ev, err := recvEventWithin(t, events, 45*time.Second)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if ev.Kind == protocol.AnswerAnswered {
				setup = time.Since(ic.Time)
			}
			evs = append(evs, ev)
		}
		if len(evs) == 0 || !evs[len(evs)-1].Final {
			t.Fatalf("no final event: %+v", evs)
		}
		if err := sess.Respond(ctx, id, 486, ""); !errors.Is(err, protocol.ErrNotFound) {
			t.Errorf("Respond after Answer: %v, want ErrNotFound", err)
		}
		return evs, setup
	}
	kinds := func(evs []protocol.AnswerEvent) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Kind+ev.Digit)
		}
		return out
	}

	t.Run("greeting reaches sipp, caller's BYE", func(t *testing.T) {
		greeting := filepath.Join(dir, "greeting.wav")
		writeTone(t, greeting, time.Second)
		id := "grt" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, Echo: true, Hold: 2 * time.Second})
		evs, setup := answer(t, id, protocol.AnswerRequest{PlayFile: greeting, Duration: 30 * time.Second})
		o := <-done
		if o.err != nil {
			t.Fatalf("sipp: %v", o.err)
		}
		fin := evs[len(evs)-1]
		t.Logf("events %v; final %+v", kinds(evs), fin)
		if fin.HungUpBy != protocol.HungUpByCaller || !fin.Answered || fin.StatusCode != 200 || fin.Codec != "PCMA" {
			t.Errorf("final event %+v, want answered 200 PCMA hung up by the caller", fin)
		}
		// 1 s of greeting is 50 packets of 20 ms, then silence until the BYE.
		if o.res.RTPEchoed < 50 || fin.RTPSent < o.res.RTPEchoed {
			t.Errorf("sipp received %d RTP packets of the %d sent, want at least the greeting's 50", o.res.RTPEchoed, fin.RTPSent)
		}
		t.Logf("INVITE to 200: sipp %s (from its first INVITE, 407 round trip included); INVITE delivered to ACK here %s; RTP sent %d, sipp received %d (2 s after the ACK)",
			o.res.Setup, setup.Round(time.Millisecond), fin.RTPSent, o.res.RTPEchoed)
	})

	t.Run("sipp's audio recorded, caller's BYE", func(t *testing.T) {
		record := filepath.Join(dir, "message.wav")
		id := "rec" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, Audio: true, Hold: 3 * time.Second})
		evs, _ := answer(t, id, protocol.AnswerRequest{RecordFile: record, Duration: 30 * time.Second})
		o := <-done
		if o.err != nil {
			t.Fatalf("sipp: %v", o.err)
		}
		fin := evs[len(evs)-1]
		t.Logf("events %v; final %+v", kinds(evs), fin)
		if fin.HungUpBy != protocol.HungUpByCaller || !fin.Answered || fin.RTPRecv == 0 {
			t.Errorf("final event %+v, want answered, RTP received, hung up by the caller", fin)
		}
		f, err := os.Open(record)
		if err != nil {
			t.Fatalf("recording: %v", err)
		}
		defer f.Close()
		pcm, err := media.ReadWAV(f)
		if err != nil {
			t.Fatal(err)
		}
		samples := pcm.Mono8k()
		level := rmsOf(samples)
		// No more than the call lasted (timestamps are trusted only with
		// the wall clock), and louder than silence.
		most := int64(fin.Duration.Seconds()*media.TelephonyRate) + media.TelephonyRate/5
		if fin.RecordedSamples == 0 || int64(len(samples)) != fin.RecordedSamples || fin.RecordedSamples > most || level < 300 {
			t.Errorf("recorded %d samples (event says %d, the call allows %d), RMS %.0f: want sipp's audio", len(samples), fin.RecordedSamples, most, level)
		}
		t.Logf("RTP received %d; recorded %d samples (%.2f s), RMS %.0f", fin.RTPRecv, fin.RecordedSamples, float64(fin.RecordedSamples)/media.TelephonyRate, level)
		// A recording never replaces a file: the same path is refused
		// before the call is taken.
		id2 := "ans" + randomToken(6) + "@sipp"
		done2 := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id2, ExpectStatus: 486})
		recvWithin(t, st, 10*time.Second)
		if _, err := ans.Answer(ctx, protocol.AnswerRequest{CallID: id2, RecordFile: record}); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("Answer recording over an existing file: %v, want ErrInvalid", err)
		}
		if err := sess.Respond(ctx, id2, 486, ""); err != nil {
			t.Errorf("the refused Answer took the call: %v", err)
		}
		if o := <-done2; o.err != nil {
			t.Errorf("sipp: %v", o.err)
		}
	})

	t.Run("RFC 4733 digits until #", func(t *testing.T) {
		id := "dtm" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, DTMF: "1234#", AwaitBye: true})
		evs, _ := answer(t, id, protocol.AnswerRequest{Until: "#", Duration: 30 * time.Second})
		if o := <-done; o.err != nil {
			t.Fatalf("sipp: %v", o.err)
		}
		fin := evs[len(evs)-1]
		var digits string
		for _, ev := range evs {
			if ev.Kind == protocol.AnswerDigit {
				digits += ev.Digit
				if ev.Via != "rfc4733" {
					t.Errorf("digit %s via %q", ev.Digit, ev.Via)
				}
			}
		}
		t.Logf("events %v; final %+v", kinds(evs), fin)
		// '#' ends the call and is no digit (pkg/protocol AnswerRequest.Until).
		if digits != "1234" || fin.Digits != "1234" || fin.HungUpBy != protocol.HungUpByUs || !strings.Contains(fin.Note, "digit # ends") {
			t.Errorf("digit events %q, final digits %q hung up by %q (%q); want 1234, 1234, us, the note naming #", digits, fin.Digits, fin.HungUpBy, fin.Note)
		}
	})

	t.Run("RFC 4733 digits, count reached", func(t *testing.T) {
		id := "cnt" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, DTMF: "1234#", AwaitBye: true})
		evs, _ := answer(t, id, protocol.AnswerRequest{Digits: 2, Until: "#", Duration: 30 * time.Second})
		// Our BYE comes while sipp's scenario still plays digits; sipp
		// takes it there (testbed: a pause a BYE can cut short) and
		// answers it.
		if o := <-done; o.err != nil {
			t.Fatalf("sipp: %v, want our BYE taken before its scenario ended", o.err)
		}
		if fin := evs[len(evs)-1]; fin.Digits != "12" || fin.HungUpBy != protocol.HungUpByUs {
			t.Errorf("final %+v, want digits 12, hung up by us", fin)
		}
	})

	t.Run("no common codec: 488", func(t *testing.T) {
		id := "488" + randomToken(6) + "@sipp"
		sdp := "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 40000 RTP/AVP 9\na=rtpmap:9 G722/8000\n"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, SDP: sdp, ExpectStatus: 488})
		evs, _ := answer(t, id, protocol.AnswerRequest{})
		if o := <-done; o.err != nil {
			t.Fatalf("sipp: %v", o.err)
		}
		fin := evs[len(evs)-1]
		if fin.StatusCode != 488 || fin.Answered || fin.HungUpBy != protocol.HungUpByError || fin.Note == "" {
			t.Errorf("final event %+v, want 488 not answered, with a note", fin)
		}
	})

	t.Run("re-INVITE, then SIP INFO digits", func(t *testing.T) {
		id := "inf" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, ReInvite: true, InfoDTMF: "12#", AwaitBye: true})
		evs, _ := answer(t, id, protocol.AnswerRequest{Until: "#", Duration: 30 * time.Second})
		if o := <-done; o.err != nil {
			t.Fatalf("sipp (re-INVITE and INFO must get 200): %v", o.err)
		}
		fin := evs[len(evs)-1]
		var via []string
		for _, ev := range evs {
			if ev.Kind == protocol.AnswerDigit {
				via = append(via, ev.Digit+":"+ev.Via)
			}
		}
		t.Logf("digits %v; final %+v", via, fin)
		if fin.Digits != "12" || fin.HungUpBy != protocol.HungUpByUs || len(via) != 2 || via[0] != "1:sip-info" {
			t.Errorf("digits %v, final %+v; want 1 2 by sip-info, ended by '#'", via, fin)
		}
	})

	t.Run("CANCEL while ringing", func(t *testing.T) {
		id := "cxl" + randomToken(6) + "@sipp"
		ch := make(chan error, 1)
		go func() {
			_, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "alice", To: target, CallID: id, Cancel: true})
			ch <- err
		}()
		evs, _ := answer(t, id, protocol.AnswerRequest{Ring: 20 * time.Second})
		if err := <-ch; err != nil {
			t.Fatalf("sipp: %v", err)
		}
		fin := evs[len(evs)-1]
		if fin.Answered || fin.HungUpBy != protocol.HungUpByCaller || fin.StatusCode != 487 {
			t.Errorf("final %+v, want not answered, 487, hung up by the caller", fin)
		}
	})

	// The rules that end a call from our side, each against a sipp that
	// waits for our BYE (and sends no audio: silence).
	for _, c := range []struct {
		name string
		req  protocol.AnswerRequest
		note string
	}{
		{"greeting played", protocol.AnswerRequest{PlayFile: filepath.Join(dir, "short.wav")}, "played"},
		{"duration", protocol.AnswerRequest{Duration: 700 * time.Millisecond}, "duration reached"},
		{"digit timeout", protocol.AnswerRequest{DigitTimeout: 700 * time.Millisecond}, "no digit within"},
		{"silence", protocol.AnswerRequest{SilenceHangup: 700 * time.Millisecond}, "silence for"},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeTone(t, filepath.Join(dir, "short.wav"), 500*time.Millisecond)
			id := "end" + randomToken(6) + "@sipp"
			done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, AwaitBye: true})
			evs, _ := answer(t, id, c.req)
			if o := <-done; o.err != nil {
				t.Fatalf("sipp (waits for our BYE): %v", o.err)
			}
			fin := evs[len(evs)-1]
			if fin.HungUpBy != protocol.HungUpByUs || !fin.Answered || !strings.Contains(fin.Note, c.note) {
				t.Errorf("final %+v, want hung up by us: %s", fin, c.note)
			}
		})
	}

	t.Run("host cancels", func(t *testing.T) {
		id := "hst" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, AwaitBye: true})
		recvWithin(t, st, 10*time.Second)
		actx, acancel := context.WithCancel(ctx)
		defer acancel()
		events, err := ans.Answer(actx, protocol.AnswerRequest{CallID: id})
		if err != nil {
			t.Fatal(err)
		}
		fin := untilAnsweredThen(t, events, acancel)
		if o := <-done; o.err != nil {
			t.Fatalf("sipp (waits for our BYE): %v", o.err)
		}
		if fin.HungUpBy != protocol.HungUpByHost || !fin.Answered {
			t.Errorf("final %+v, want hung up by the host", fin)
		}
	})

	t.Run("no ACK: Timer H", func(t *testing.T) {
		saved := answerT1
		answerT1 = 50 * time.Millisecond // Timer H = 3.2 s
		t.Cleanup(func() { answerT1 = saved })
		id := "nak" + randomToken(6) + "@sipp"
		done := place(testbed.SippCallOptions{From: "alice", To: target, CallID: id, NoAck: true})
		evs, _ := answer(t, id, protocol.AnswerRequest{Duration: 30 * time.Second})
		if o := <-done; o.err != nil {
			t.Fatalf("sipp (waits for our BYE): %v", o.err)
		}
		fin := evs[len(evs)-1]
		t.Logf("events %v; final %+v", kinds(evs), fin)
		if fin.HungUpBy != protocol.HungUpByError || fin.Answered {
			t.Errorf("final event %+v, want hung up by error, never answered (no ACK)", fin)
		}
	})
}

// untilAnsweredThen reads events up to "answered", calls f, and returns
// the final event.
func untilAnsweredThen(t *testing.T, events protocol.Stream[protocol.AnswerEvent], f func()) protocol.AnswerEvent {
	t.Helper()
	var fin protocol.AnswerEvent
	for {
		ev, err := events.Recv()
		if err != nil {
			break
		}
		if ev.Kind == protocol.AnswerAnswered {
			f()
		}
		if ev.Final {
			fin = ev
		}
	}
	if !fin.Final {
		t.Fatal("no final event")
	}
	return fin
}

// TestAnswerClose: closing the session hangs up an answered call (BYE;
// sipp, waiting for it, completes) and ends its stream as the host's.
func TestAnswerClose(t *testing.T) {
	bed := testbed.Shared(t)
	user := "cls" + randomToken(4)
	users, err := bed.AddUsers(context.Background(), bed.Domain, user)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := New(testLogger(t)).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:" + user + "@" + bed.Domain, Password: users[user].Password,
		Server: bedServer(bed, "udp"), CAPEM: readFile(t, bed.CAFile), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := sess.Register(ctx, protocol.RegisterRequest{Expires: 120 * time.Second}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	st, err := sess.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := "cls" + randomToken(6) + "@sipp"
	done := make(chan error, 1)
	go func() {
		_, err := bed.SippCall(ctx, testbed.SippCallOptions{From: "alice", To: "sip:" + user + "@" + bed.Domain, CallID: id, AwaitBye: true})
		done <- err
	}()
	recvWithin(t, st, 10*time.Second)
	events, err := sess.(protocol.Answerer).Answer(ctx, protocol.AnswerRequest{CallID: id})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	fin := untilAnsweredThen(t, events, func() { go func() { closed <- sess.Close(ctx) }() })
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("sipp (waits for our BYE): %v", err)
	}
	if fin.HungUpBy != protocol.HungUpByHost || !fin.Answered {
		t.Errorf("final %+v, want hung up by the host", fin)
	}
}

// writeTone writes a 440 Hz tone at about -12 dBFS as a 16-bit 8 kHz WAV.
func writeTone(t *testing.T, path string, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * media.TelephonyRate)
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/media.TelephonyRate))
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := media.WriteWAV(f, media.TelephonyRate, s); err != nil {
		t.Fatal(err)
	}
}

func rmsOf(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// TestAnswerBaresipDTMF: baresip (a real softphone) calls through
// Kamailio (an MD5 bed: baresip 1.0 computes no SHA-256 digest) and sends
// the keys 1234#: the session reports the digits 1, 2, 3, 4 as they come
// and '#' ends the call with our BYE. Our own digits 59 (RFC 4733) reach
// baresip.
func TestAnswerBaresipDTMF(t *testing.T) {
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, "udp")))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := sess.Register(ctx, protocol.RegisterRequest{Expires: 120 * time.Second}); err != nil {
		t.Fatalf("Register: %v", err)
	}
	st, err := sess.IncomingCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	caller := bed.StartBaresipCaller(t, "bob")
	if err := caller.Command("dial", "sip:alice@"+bed.Domain); err != nil {
		t.Fatal(err)
	}
	ic := recvWithin(t, st, 10*time.Second)
	events, err := sess.(protocol.Answerer).Answer(ctx, protocol.AnswerRequest{CallID: ic.CallID, Until: "#", SendDTMF: "59", Duration: 30 * time.Second})
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	defer events.Close()
	if err := caller.WaitEstablished(10 * time.Second); err != nil {
		t.Fatalf("baresip: %v\n%s", err, caller.Output())
	}
	// Key presses as a person makes them, one after another.
	for _, d := range "1234#" {
		if err := caller.Command("sndcode", string(d)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var digits, vias string
	var fin protocol.AnswerEvent
	for {
		ev, err := events.Recv()
		if err != nil {
			break
		}
		if ev.Kind == protocol.AnswerDigit {
			digits += ev.Digit
			vias += ev.Via + " "
		}
		if ev.Final {
			fin = ev
		}
	}
	t.Logf("digits %q via %s; final %+v", digits, vias, fin)
	if digits != "1234" || fin.Digits != "1234" || fin.HungUpBy != protocol.HungUpByUs || !fin.Answered {
		t.Errorf("digit events %q, final %+v; want 1234 ('#' ends it), hung up by us\n%s", digits, fin, caller.Output())
	}
	// Ours, sent 200 ms after the answer, reached baresip (its log).
	if got := caller.DTMF(); got != "59" {
		t.Errorf("baresip received the digits %q, want 59", got)
	}
	if fin.RTPRecv == 0 || fin.RTPSent == 0 {
		t.Errorf("RTP sent %d, received %d: want media both ways", fin.RTPSent, fin.RTPRecv)
	}
}

// TestAnswerOverStreams: a session registered over TCP or TLS answers
// through the same connection (Kamailio reuses it), in plain RTP
// (Encryption none: sipp offers no SRTP; TestAnswerSRTP has the SRTP
// calls): the greeting reaches sipp, the caller's BYE ends one call, our
// BYE (duration) the next. The first call's events are read only after
// sipp is done: a reader that falls behind does not hold the call up.
func TestAnswerOverStreams(t *testing.T) {
	bed := testbed.Shared(t)
	for _, tr := range []string{"tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			user := "str" + randomToken(4)
			users, err := bed.AddUsers(context.Background(), bed.Domain, user)
			if err != nil {
				t.Fatal(err)
			}
			sess := connect(t, protocol.ConnectRequest{
				Address: "sip:" + user + "@" + bed.Domain, Password: users[user].Password,
				Server: bedServer(bed, tr), CAPEM: readFile(t, bed.CAFile), Timeout: 5 * time.Second,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if _, err := sess.Register(ctx, protocol.RegisterRequest{Expires: 120 * time.Second}); err != nil {
				t.Fatalf("Register: %v", err)
			}
			st, err := sess.IncomingCalls(ctx)
			if err != nil {
				t.Fatal(err)
			}
			target := "sip:" + user + "@" + bed.Domain
			greeting := filepath.Join(t.TempDir(), "greeting.wav")
			writeTone(t, greeting, time.Second)
			readAll := func(events protocol.Stream[protocol.AnswerEvent]) protocol.AnswerEvent {
				var fin protocol.AnswerEvent
				for {
					ev, err := events.Recv()
					if err != nil {
						return fin
					}
					if ev.Final {
						fin = ev
					}
				}
			}

			id := "s1" + randomToken(6) + "@sipp"
			done := make(chan error, 1)
			var res testbed.SippCallResult
			go func() {
				var err error
				res, err = bed.SippCall(ctx, testbed.SippCallOptions{From: "alice", To: target, CallID: id, Echo: true, Hold: 2 * time.Second})
				done <- err
			}()
			recvWithin(t, st, 10*time.Second)
			events, err := sess.(protocol.Answerer).Answer(ctx, protocol.AnswerRequest{CallID: id, PlayFile: greeting, Duration: 30 * time.Second, Encryption: protocol.MediaEncryptionNone})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("sipp: %v", err)
			}
			fin := readAll(events)
			if fin.HungUpBy != protocol.HungUpByCaller || res.RTPEchoed < 50 {
				t.Errorf("final %+v, sipp received %d RTP packets; want hung up by the caller after the greeting's 50", fin, res.RTPEchoed)
			}

			id = "s2" + randomToken(6) + "@sipp"
			go func() {
				_, err := bed.SippCall(ctx, testbed.SippCallOptions{From: "alice", To: target, CallID: id, AwaitBye: true})
				done <- err
			}()
			recvWithin(t, st, 10*time.Second)
			events, err = sess.(protocol.Answerer).Answer(ctx, protocol.AnswerRequest{CallID: id, Duration: 500 * time.Millisecond, Encryption: protocol.MediaEncryptionNone})
			if err != nil {
				t.Fatal(err)
			}
			fin = readAll(events)
			if err := <-done; err != nil {
				t.Fatalf("sipp (waits for our BYE over %s): %v", tr, err)
			}
			if fin.HungUpBy != protocol.HungUpByUs || !fin.Answered {
				t.Errorf("final %+v, want hung up by us", fin)
			}
		})
	}
}
