package fake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

const alice = "sip:alice@example.com"

// answering is alice registered with her incoming-call stream open.
func answering(t *testing.T, s *fake.Service, caps ...protocol.Capability) protocol.Answerer {
	t.Helper()
	sess, err := s.Telephony(caps...).Connect(ctx(t), protocol.ConnectRequest{Address: alice, Password: "sa"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close(context.Background()) })
	if _, err := sess.Register(ctx(t), protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.IncomingCalls(ctx(t)); err != nil && !errors.Is(err, protocol.ErrUnsupported) {
		t.Fatal(err)
	}
	a, ok := sess.(protocol.Answerer)
	if !ok {
		t.Fatal("the fake telephony session is no protocol.Answerer")
	}
	return a
}

// events reads st to its end (bounded by the test's ctx).
func events(t *testing.T, st protocol.Stream[protocol.AnswerEvent]) []protocol.AnswerEvent {
	t.Helper()
	ch := make(chan []protocol.AnswerEvent, 1)
	go func() {
		var out []protocol.AnswerEvent
		for {
			e, err := st.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("stream: %v", err)
				}
				ch <- out
				return
			}
			out = append(out, e)
		}
	}()
	select {
	case out := <-ch:
		if len(out) == 0 || !out[len(out)-1].Final {
			t.Fatalf("events %+v: the last is not final", out)
		}
		for _, e := range out[:len(out)-1] {
			if e.Final {
				t.Fatalf("a final event before the last: %+v", out)
			}
		}
		return out
	case <-time.After(10 * time.Second):
		st.Close()
		t.Fatal("the call did not end within 10 s")
	}
	return nil
}

func kinds(evs []protocol.AnswerEvent) string {
	var k []string
	for _, e := range evs {
		k = append(k, e.Kind+e.Digit)
	}
	return strings.Join(k, " ")
}

func writeTone(t *testing.T, path string, d time.Duration) {
	t.Helper()
	var b bytes.Buffer
	if err := media.WriteWAV(&b, 8000, make([]int16, int(d.Seconds()*8000))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The greeting plays, the caller's audio is recorded as a WAV whose
// samples match the event, and we hang up once it has played.
func TestAnswerPlaysRecordsAndHangsUp(t *testing.T) {
	s := service()
	a := answering(t, s)
	dir := t.TempDir()
	play, rec := filepath.Join(dir, "greeting.wav"), filepath.Join(dir, "rec.wav")
	writeTone(t, play, 300*time.Millisecond)
	id, _ := s.Ring(alice, protocol.IncomingCall{})
	st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id, Ring: 50 * time.Millisecond, PlayFile: play, RecordFile: rec, SendDTMF: "1#"})
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t, st)
	if got := kinds(evs); got != "ringing answered media ended" {
		t.Errorf("events %q", got)
	}
	end := evs[len(evs)-1]
	if !end.Answered || end.StatusCode != 200 || end.HungUpBy != protocol.HungUpByUs || end.CallID != id ||
		end.RTPSent < 15 || end.RTPRecv < 15 || end.Codec != "PCMU" || end.Duration < 300*time.Millisecond {
		t.Errorf("final event %+v", end)
	}
	f, err := os.Open(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil || pcm.Rate != 8000 || pcm.Channels != 1 || int64(len(pcm.Samples)) != end.RecordedSamples || end.RecordedSamples == 0 {
		t.Errorf("recording: %v, %+v samples %d, event says %d", err, pcm != nil, len(pcm.Samples), end.RecordedSamples)
	}
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("recording mode %v, want 0600", fi.Mode().Perm())
	}
	ce, err := s.CallerEnd(ctx(t), id)
	if err != nil || ce.Status != 200 || !ce.GotBye || ce.SentBye || ce.RTPReceived != end.RTPSent || ce.DTMFReceived != "1#" {
		t.Errorf("caller saw %+v, %v", ce, err)
	}
	var codes []int
	for _, r := range s.Responses() {
		codes = append(codes, r.Status)
	}
	if len(codes) != 2 || codes[0] != 180 || codes[1] != 200 {
		t.Errorf("responses %v, want [180 200]", codes)
	}
}

// Digits arrive in order; Until ends the call and is not counted; Digits N
// ends it at the Nth; the digit timeout ends it after the last digit.
func TestAnswerDigitRules(t *testing.T) {
	for _, c := range []struct {
		name, sent string
		req        protocol.AnswerRequest
		want, note string
	}{
		{"until", "12#3", protocol.AnswerRequest{Until: "#"}, "12", "until #"},
		{"count", "98765", protocol.AnswerRequest{Digits: 3}, "987", "digits read"},
		{"timeout", "5", protocol.AnswerRequest{DigitTimeout: 100 * time.Millisecond}, "5", "digit timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := service()
			a := answering(t, s)
			id, _ := s.Ring(alice, protocol.IncomingCall{})
			s.CallerSends(id, c.sent)
			c.req.CallID, c.req.Duration = id, time.Minute
			st, err := a.Answer(ctx(t), c.req)
			if err != nil {
				t.Fatal(err)
			}
			evs := events(t, st)
			var digits string
			for _, e := range evs {
				if e.Kind == protocol.AnswerDigit {
					if e.Via != "rfc4733" {
						t.Errorf("digit via %q", e.Via)
					}
					digits += e.Digit
				}
			}
			end := evs[len(evs)-1]
			if digits != c.want || end.Digits != c.want || end.HungUpBy != protocol.HungUpByUs || end.Note != c.note {
				t.Errorf("digit events %q, final %+v; want %q by us (%s)", digits, end, c.want, c.note)
			}
		})
	}
}

// Digits sent during the call (not only before) are read too.
func TestAnswerDigitsDuringTheCall(t *testing.T) {
	s := service()
	a := answering(t, s)
	id, _ := s.Ring(alice, protocol.IncomingCall{})
	st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id, Until: "#"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"4", "2", "#"} {
		s.CallerSends(id, d)
	}
	if end := events(t, st); end[len(end)-1].Digits != "42" {
		t.Errorf("final %+v, want digits 42", end[len(end)-1])
	}
}

// The caller's BYE, CANCEL, and the host's ctx each end the call, named.
func TestAnswerWhoHangsUp(t *testing.T) {
	t.Run("caller-bye", func(t *testing.T) {
		s := service()
		a := answering(t, s)
		id, _ := s.Ring(alice, protocol.IncomingCall{})
		st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitFinal(ctx(t), id); err != nil {
			t.Fatal(err)
		}
		s.CallerHangsUp(id)
		evs := events(t, st)
		end := evs[len(evs)-1]
		if end.HungUpBy != protocol.HungUpByCaller || !end.Answered {
			t.Errorf("final %+v, want answered, hung up by the caller", end)
		}
		if ce, _ := s.CallerEnd(ctx(t), id); !ce.SentBye || ce.GotBye {
			t.Errorf("caller saw %+v", ce)
		}
	})
	t.Run("caller-cancel", func(t *testing.T) {
		s := service()
		a := answering(t, s)
		id, _ := s.Ring(alice, protocol.IncomingCall{})
		st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id, Ring: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		s.CallerHangsUp(id)
		evs := events(t, st)
		end := evs[len(evs)-1]
		if end.HungUpBy != protocol.HungUpByCaller || end.Answered || end.StatusCode != 487 {
			t.Errorf("final %+v, want 487 not answered, by the caller", end)
		}
	})
	t.Run("host", func(t *testing.T) {
		s := service()
		a := answering(t, s)
		id, _ := s.Ring(alice, protocol.IncomingCall{})
		c, cancel := context.WithCancel(ctx(t))
		st, err := a.Answer(c, protocol.AnswerRequest{CallID: id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WaitFinal(ctx(t), id); err != nil {
			t.Fatal(err)
		}
		cancel()
		evs := events(t, st)
		if end := evs[len(evs)-1]; end.HungUpBy != protocol.HungUpByHost || !end.Answered {
			t.Errorf("final %+v, want answered, hung up by the host", end)
		}
		if ce, _ := s.CallerEnd(ctx(t), id); !ce.GotBye {
			t.Errorf("caller saw %+v, want our BYE", ce)
		}
	})
}

// Errors before the stream, and what they leave alone.
func TestAnswerRefuses(t *testing.T) {
	s := service()
	a := answering(t, s)
	dir := t.TempDir()
	if _, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: "no-such-call"}); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("unknown call: %v, want ErrNotFound", err)
	}
	id, _ := s.Ring(alice, protocol.IncomingCall{})

	// A file, or a symbolic link (even dangling), at the record path is
	// refused and left as it was; the call is still waiting afterwards.
	existing := filepath.Join(dir, "existing.wav")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.wav")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	for _, req := range []protocol.AnswerRequest{
		{CallID: id, RecordFile: existing},
		{CallID: id, RecordFile: link},
		{CallID: id, RecordFile: filepath.Join(dir, "no-dir", "r.wav")},
		{CallID: id, PlayFile: existing}, // not a WAV
		{CallID: id, PlayFile: filepath.Join(dir, "missing.wav")},
		{CallID: id, Until: "x"},
		{CallID: id, SendDTMF: "12\r\n"},
		{CallID: id, Digits: -1},
		{CallID: id + "\r\nX: 1"},
	} {
		if _, err := a.Answer(ctx(t), req); !errors.Is(err, protocol.ErrInvalid) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want one-line ErrInvalid", req, err)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link was written through: %v", err)
	}

	st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id, Duration: time.Millisecond})
	if err != nil {
		t.Fatalf("the call after refused requests: %v", err)
	}
	// Taken: a second Answer and a Respond find no call.
	if _, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id}); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("second Answer: %v, want ErrNotFound", err)
	}
	if err := a.(protocol.TelephonySession).Respond(ctx(t), id, 486, "Busy Here"); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("Respond after Answer: %v, want ErrNotFound", err)
	}
	events(t, st)

	// A call the caller cancelled before it was taken is gone.
	id2, _ := s.Ring(alice, protocol.IncomingCall{})
	s.CallerHangsUp(id2)
	if _, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id2}); !errors.Is(err, protocol.ErrNotFound) {
		t.Errorf("cancelled call: %v, want ErrNotFound", err)
	}
}

// A link put at the record path during the call is not written through
// and not replaced: the recording is dropped and the final event says so.
func TestAnswerRecordPathTakenDuringCall(t *testing.T) {
	s := service()
	a := answering(t, s)
	dir := t.TempDir()
	rec, target := filepath.Join(dir, "rec.wav"), filepath.Join(dir, "victim")
	if err := os.WriteFile(target, []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, _ := s.Ring(alice, protocol.IncomingCall{})
	st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id, RecordFile: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitFinal(ctx(t), id); err != nil { // answered
		t.Fatal(err)
	}
	s.CallerHangsUp(id)
	evs := events(t, st)
	end := evs[len(evs)-1]
	if end.RecordedSamples != 0 || !strings.Contains(end.Note, "record:") {
		t.Errorf("final %+v, want no recording and a note", end)
	}
	if b, _ := os.ReadFile(target); string(b) != "victim" {
		t.Errorf("written through the link: %q", b)
	}
}

// A backend that does not declare CapAnswer answers ErrUnsupported; the
// default capabilities keep all they had.
func TestAnswerUndeclared(t *testing.T) {
	s := service()
	a := answering(t, s, protocol.CapRegister, protocol.CapIncomingCalls)
	id, _ := s.Ring(alice, protocol.IncomingCall{})
	if _, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id}); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("undeclared: %v, want ErrUnsupported", err)
	}
	want := []protocol.Capability{protocol.CapRegister, protocol.CapDial, protocol.CapIncomingCalls, protocol.CapMedia, protocol.CapDTMF, protocol.CapAnswer, protocol.CapSRTP, protocol.CapRespondAny, protocol.CapOptions}
	if got := fake.TelephonyCapabilities; !slices.Equal(got, want) {
		t.Errorf("TelephonyCapabilities %v, want %v", got, want)
	}
}
