package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
)

// dtmfDigits are the RFC 4733 §3.2 events 0-15 as characters.
const dtmfDigits = "0123456789*#ABCD"

// packet is one RTP packet of G.711 at 8 kHz: 20 ms, 160 samples.
const packet = 20 * time.Millisecond

// caller is the far end of an incoming call (Ring): what the test scripts
// it to send, and what it saw once the call is over.
type caller struct {
	mu      sync.Mutex
	digits  string        // sent, not yet read by Answer
	wake    chan struct{} // a value when digits were added
	hangup  chan struct{} // closed by CallerHangsUp
	hungUp  bool
	done    chan struct{} // closed when end is set
	end     CallerEnd
	settled bool
	media   MediaMode // what it offers (CallerMedia)
}

// CallerEnd is what the caller of a call taken with Answer saw.
type CallerEnd struct {
	CallID string
	// Status is the final response the caller got: 200, 487 (it
	// cancelled), 480 (the host gave up before answering), or the status
	// given through Respond.
	Status int
	// RTPReceived and RTPSent count the caller's RTP packets (50 a second
	// each way while the call is up).
	RTPReceived, RTPSent int64
	// DTMFReceived is what the answering side sent (AnswerRequest.SendDTMF).
	DTMFReceived string
	// GotBye: the answering side hung up; SentBye: the caller did.
	GotBye, SentBye bool
}

// callerOf returns the caller of callID, made on first use.
func (s *Service) callerOf(callID string) *caller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callers == nil {
		s.callers = map[string]*caller{}
	}
	c := s.callers[callID]
	if c == nil {
		c = &caller{wake: make(chan struct{}, 1), hangup: make(chan struct{}), done: make(chan struct{})}
		s.callers[callID] = c
	}
	return c
}

// CallerSends scripts the caller of callID (a call handed out by Ring) to
// send digits as RFC 4733 events once the call is answered, in order. It
// may be called before or during the call; digits add up.
func (s *Service) CallerSends(callID, digits string) {
	c := s.callerOf(callID)
	c.mu.Lock()
	c.digits += digits
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// CallerHangsUp makes the caller of callID hang up: BYE once answered,
// CANCEL while it rings (then Answer finds no call: ErrNotFound). Safe to
// repeat.
func (s *Service) CallerHangsUp(callID string) {
	c := s.callerOf(callID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hungUp {
		c.hungUp = true
		close(c.hangup)
	}
}

// CallerEnd waits until the call callID is over for its caller (taken
// with Answer and ended, or given a final 3xx-6xx status through Respond)
// and returns what the caller saw; ctx bounds the wait.
func (s *Service) CallerEnd(ctx context.Context, callID string) (CallerEnd, error) {
	c := s.callerOf(callID)
	for {
		s.mu.Lock()
		ch := s.answered
		for _, r := range s.responses {
			if r.CallID == callID && r.Status >= 300 {
				s.mu.Unlock()
				return CallerEnd{CallID: callID, Status: r.Status}, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-c.done:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.end, nil
		case <-ch:
		case <-ctx.Done():
			return CallerEnd{}, fmt.Errorf("call %s: not over: %w", callID, ctx.Err())
		}
	}
}

// settle records what the caller saw; the first call wins.
func (c *caller) settle(e CallerEnd) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settled {
		return
	}
	c.settled, c.end = true, e
	close(c.done)
}

// takeDigits returns the digits sent since the last call.
func (c *caller) takeDigits() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.digits
	c.digits = ""
	return d
}

// respondAs records a response of this session to an incoming call, as
// Respond does, so that Responses and WaitFinal see it.
func (s *telSession) respondAs(callID string, status int, reason string) {
	s.b.svc.mu.Lock()
	defer s.b.svc.mu.Unlock()
	s.b.svc.responses = append(s.b.svc.responses, Response{Account: s.req.Address, CallID: callID, Status: status, Reason: reason})
	close(s.b.svc.answered)
	s.b.svc.answered = make(chan struct{})
}

var _ protocol.Answerer = (*telSession)(nil)

// Answer takes a call handed out by Service.Ring (CapAnswer): ringing,
// then after req.Ring answered and media (the caller sends audio at 50
// packets a second from the answer on), the digits scripted with
// CallerSends, and ended: by the caller (CallerHangsUp), by us (Duration,
// the PlayFile played for its length, Digits, Until, DigitTimeout), or by
// the host (ctx). SilenceHangup never fires: the fake caller is never
// silent. RecordFile gets a WAV of the caller's audio (a 440 Hz tone);
// it must not exist when the call is answered nor when it ends.
//
// Media encryption (CapSRTP) follows the contract with the caller's
// CallerMedia and the account's PlainSignalling: an offer the setting
// refuses gets 488 at once, with a final event (HungUpBy "error") whose
// Note says why; a taken call's media and final events carry
// MediaProtection (SRTPSuite or "none").
func (s *telSession) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	if err := s.has(protocol.CapAnswer); err != nil {
		return nil, err
	}
	if err := checkAnswer(req); err != nil {
		return nil, err
	}
	srtp := s.has(protocol.CapSRTP) == nil // without it, Encryption is not read: media in clear
	if err := checkEncryption(req.Encryption, true); srtp && err != nil {
		return nil, err // an unknown setting (the flow is judged per call)
	}
	var play time.Duration
	if req.PlayFile != "" {
		data, err := os.ReadFile(req.PlayFile)
		if err != nil {
			return nil, fmt.Errorf("play file: %v: %w", err, protocol.ErrInvalid)
		}
		pcm, err := media.ReadWAV(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("play file %s: %v: %w", req.PlayFile, err, protocol.ErrInvalid)
		}
		play = time.Duration(len(pcm.Samples)/max(pcm.Channels, 1)) * time.Second / time.Duration(pcm.Rate)
	}
	c := s.b.svc.callerOf(req.CallID)
	s.mu.Lock()
	known := s.rung[req.CallID]
	c.mu.Lock()
	cancelled := c.hungUp
	c.mu.Unlock()
	if known && !cancelled {
		delete(s.rung, req.CallID) // taken: Respond and a second Answer find nothing
	}
	s.mu.Unlock()
	if !known || cancelled {
		return nil, fmt.Errorf("call %s: %w", req.CallID, protocol.ErrNotFound)
	}
	c.mu.Lock()
	mode := c.media
	c.mu.Unlock()
	var ms mediaSec
	if srtp {
		ms = answerMedia(req.Encryption, s.b.svc.overTLS(s.req.Address), mode)
	}
	out := newStream[protocol.AnswerEvent](context.Background())
	go s.runAnswer(ctx, out, c, req, play, ms)
	return out, nil
}

// checkAnswer refuses a request the fake cannot carry out, as a backend
// does before it answers.
func checkAnswer(req protocol.AnswerRequest) error {
	if err := checkText(req.CallID, req.PlayFile, req.RecordFile); err != nil {
		return err
	}
	for _, set := range []string{req.SendDTMF, req.Until} {
		if strings.Trim(set, dtmfDigits) != "" {
			return fmt.Errorf("digits %q: only %s: %w", set, dtmfDigits, protocol.ErrInvalid)
		}
	}
	if req.Digits < 0 || req.Ring < 0 || req.Duration < 0 || req.DigitTimeout < 0 || req.SilenceHangup < 0 {
		return fmt.Errorf("negative digit count or duration: %w", protocol.ErrInvalid)
	}
	if req.RecordFile != "" {
		if st, err := os.Stat(filepath.Dir(req.RecordFile)); err != nil || !st.IsDir() {
			return fmt.Errorf("record file %s: no such directory: %w", req.RecordFile, protocol.ErrInvalid)
		}
		// Lstat: a symbolic link, even a dangling one, is something there.
		if _, err := os.Lstat(req.RecordFile); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("record file %s exists (a recording never replaces a file): %w", req.RecordFile, protocol.ErrInvalid)
		}
	}
	return nil
}

// runAnswer plays the call out and ends out.
func (s *telSession) runAnswer(ctx context.Context, out *stream[protocol.AnswerEvent], c *caller, req protocol.AnswerRequest, play time.Duration, ms mediaSec) {
	defer out.end(nil)
	id := req.CallID
	notAnswered := func(status int, reason, by, note string) {
		s.respondAs(id, status, reason)
		c.settle(CallerEnd{CallID: id, Status: status, SentBye: false})
		out.push(protocol.AnswerEvent{CallID: id, Kind: protocol.AnswerEnded, Final: true, StatusCode: status, Reason: reason, HungUpBy: by, Note: note})
	}
	if ms.reject != "" {
		// RFC 3264 §6, RFC 4568 §7.1.2: 488 to an offer the setting refuses.
		notAnswered(488, "Not Acceptable Here", protocol.HungUpByError, ms.reject)
		return
	}
	s.respondAs(id, 180, "Ringing")
	out.push(protocol.AnswerEvent{CallID: id, Kind: protocol.AnswerRinging})
	ring := time.NewTimer(req.Ring)
	select {
	case <-ring.C:
	case <-c.hangup: // CANCEL: 487 to the INVITE (RFC 3261 §9.2)
		ring.Stop()
		notAnswered(487, "Request Terminated", protocol.HungUpByCaller, "")
		return
	case <-ctx.Done():
		ring.Stop()
		notAnswered(480, "Temporarily Unavailable", protocol.HungUpByHost, "")
		return
	}
	s.respondAs(id, 200, "OK")
	start := time.Now()
	aev := protocol.AnswerEvent{CallID: id, Kind: protocol.AnswerAnswered}
	ms.fill(&aev.MediaProtection, &aev.MediaKeying, nil) // as the SIP backend: known once answered
	out.push(aev)
	mev := protocol.AnswerEvent{CallID: id, Kind: protocol.AnswerMedia}
	ms.fill(&mev.MediaProtection, &mev.MediaKeying, nil)
	out.push(mev)

	var duration, played, digitTimeout <-chan time.Time
	if req.Duration > 0 {
		t := time.NewTimer(req.Duration)
		defer t.Stop()
		duration = t.C
	}
	if req.PlayFile != "" {
		t := time.NewTimer(play)
		defer t.Stop()
		played = t.C
	}
	var dt *time.Timer
	armDigitTimeout := func() {
		if req.DigitTimeout <= 0 {
			return
		}
		if dt == nil {
			dt = time.NewTimer(req.DigitTimeout)
			digitTimeout = dt.C
			return
		}
		dt.Reset(req.DigitTimeout)
	}
	defer func() {
		if dt != nil {
			dt.Stop()
		}
	}()
	var got strings.Builder
	by, note := "", ""
	for by == "" {
		select {
		case <-ctx.Done():
			by = protocol.HungUpByHost
		case <-c.hangup:
			by = protocol.HungUpByCaller
		case <-duration:
			by, note = protocol.HungUpByUs, "duration reached"
		case <-played:
			played = nil
			if req.Duration == 0 && req.Digits == 0 && req.Until == "" && req.DigitTimeout == 0 {
				by, note = protocol.HungUpByUs, "played"
			} else if got.Len() == 0 {
				armDigitTimeout() // "after the greeting"
			}
		case <-digitTimeout:
			by, note = protocol.HungUpByUs, "digit timeout"
		case <-c.wake:
			// Digits left unread when a rule ends the call stay unread.
			rest := c.takeDigits()
			for i := 0; i < len(rest) && by == ""; i++ {
				d := rest[i : i+1]
				if strings.Contains(req.Until, d) {
					by, note = protocol.HungUpByUs, "until "+d
					break
				}
				got.WriteString(d)
				out.push(protocol.AnswerEvent{CallID: id, Kind: protocol.AnswerDigit, Digit: d, Via: "rfc4733"})
				armDigitTimeout()
				if req.Digits > 0 && got.Len() >= req.Digits {
					by, note = protocol.HungUpByUs, "digits read"
				}
			}
		}
	}
	d := time.Since(start)
	packets := max(int64(d/packet), 1)
	ev := protocol.AnswerEvent{CallID: id, Kind: protocol.AnswerEnded, Final: true, StatusCode: 200, Reason: "OK", Answered: true,
		HungUpBy: by, Duration: d, Digits: got.String(), RTPSent: packets, RTPRecv: packets, Codec: "PCMU",
		MediaPeer: "192.0.2.1:40000", Note: note}
	if req.RecordFile != "" {
		if err := writeNewWAV(req.RecordFile, packets*160); err != nil {
			ev.Note = strings.TrimPrefix(note+"; ", "; ") + "record: " + err.Error()
		} else {
			ev.RecordedSamples = packets * 160
		}
	}
	ms.fill(&ev.MediaProtection, &ev.MediaKeying, &ev.Note)
	c.settle(CallerEnd{CallID: id, Status: 200, RTPReceived: packets, RTPSent: packets, DTMFReceived: req.SendDTMF,
		GotBye: by != protocol.HungUpByCaller, SentBye: by == protocol.HungUpByCaller})
	out.push(ev)
}

// writeNewWAV writes n samples of the caller's tone to path, which must
// still not exist: O_EXCL fails on anything there, a symbolic link
// included, so a recording never replaces nor writes through a file.
func writeNewWAV(path string, n int64) error {
	samples := make([]int16, n)
	for i := range samples {
		samples[i] = int16(4000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	var b bytes.Buffer
	if err := media.WriteWAV(&b, 8000, samples); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	return f.Close()
}
