package baresip

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

var _ protocol.Answerer = (*session)(nil)

// answered is one incoming call taken with Answer.
type answered struct {
	s    *session
	id   string
	evs  chan event
	out  chan protocol.AnswerEvent
	done chan struct{}
	dead chan error

	closeOnce, failOnce sync.Once
}

func (a *answered) event(ev event) {
	select {
	case a.evs <- ev:
	case <-a.done:
	}
}

func (a *answered) fail(err error) { a.failOnce.Do(func() { a.dead <- err }) }

func (a *answered) Recv() (protocol.AnswerEvent, error) {
	ev, ok := <-a.out
	if !ok {
		return protocol.AnswerEvent{}, fmt.Errorf("answer %s: stream ended: %w", a.id, protocol.ErrNotConnected)
	}
	return ev, nil
}

func (a *answered) Close() error {
	a.closeOnce.Do(func() { close(a.done) })
	return nil
}

func (a *answered) emit(ev protocol.AnswerEvent) {
	select {
	case a.out <- ev:
	case <-a.done:
	}
}

// Answer takes an incoming call with baresip's "accept": it already sent
// 180 Ringing when the INVITE came; after req.Ring it answers 200 with
// media from req.PlayFile (else the session's sound), records what the
// caller sends (req.RecordFile), reports the RFC 4733 digits baresip
// decodes (CALL_DTMF_START) and ends the call as req says. Errors before
// the stream: ErrNotFound, ErrInvalid (an existing record path, a play
// file that is no WAV), ErrUnsupported (SilenceHangup: baresip 1.0 does
// not report levels).
func (s *session) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	s.mu.Lock()
	_, ok := s.incoming[req.CallID]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("answer %s: no such call waiting: %w", req.CallID, protocol.ErrNotFound)
	}
	if req.RecordFile != "" {
		if _, err := os.Lstat(req.RecordFile); err == nil {
			return nil, fmt.Errorf("record file %s exists: a recording never replaces a file: %w", req.RecordFile, protocol.ErrInvalid)
		}
	}
	if req.SilenceHangup > 0 {
		return nil, fmt.Errorf("answer: silence hang-up: baresip 1.0 reports no audio level: %w", protocol.ErrUnsupported)
	}
	if strings.ContainsAny(req.SendDTMF+req.Until, " \t\r\n") {
		return nil, fmt.Errorf("answer: digits %q: %w", req.SendDTMF+req.Until, protocol.ErrInvalid)
	}
	// The call's source was bound when its INVITE came (the session's
	// default); a greeting replaces it once the codec is known, after the
	// answer (baresip 1.0's aufile refuses to start before).
	src := ""
	if req.PlayFile != "" {
		var err error
		if src, err = s.source(protocol.MediaOptions{PlayFile: req.PlayFile}); err != nil {
			return nil, err
		}
	}
	a := &answered{s: s, id: req.CallID, evs: make(chan event, 256), out: make(chan protocol.AnswerEvent, 8),
		done: make(chan struct{}), dead: make(chan error, 1)}
	s.mu.Lock()
	s.calls[req.CallID] = a
	s.mu.Unlock()
	go a.run(ctx, req, src)
	return a, nil
}

func (a *answered) run(ctx context.Context, req protocol.AnswerRequest, src string) {
	defer close(a.out)
	s := a.s
	defer s.forget(a, a.id)
	final := protocol.AnswerEvent{CallID: a.id, Kind: protocol.AnswerEnded, Final: true, MediaProtection: protocol.MediaInClear}
	end := func(by, note string) {
		final.HungUpBy = by
		if note != "" {
			final.Note = strings.TrimPrefix(final.Note+"; "+note, "; ")
		}
		a.emit(final)
	}
	a.emit(protocol.AnswerEvent{CallID: a.id, Kind: protocol.AnswerRinging})
	if req.Encryption == protocol.MediaEncryptionSRTP {
		// No SRTP without TLS signalling; baresip rejects with 486 only.
		_, _ = s.onCall(a.id, "hangup", "")
		final.StatusCode, final.Reason = 486, "Rejected"
		end(protocol.HungUpByError, "media_encryption srtp: this backend has no TLS signalling to key SRTP (RFC 4568 §8.3); rejected with 486 (baresip 1.0 sends no 488)")
		return
	}
	if req.Ring > 0 {
		select {
		case <-time.After(req.Ring):
		case <-ctx.Done():
			_, _ = s.onCall(a.id, "hangup", "")
			final.StatusCode, final.Reason = 486, "Rejected"
			end(protocol.HungUpByHost, "cancelled while ringing")
			return
		case e := <-a.evs:
			if e.Type == "CALL_CLOSED" {
				end(protocol.HungUpByCaller, "the caller hung up while ringing")
				return
			}
		}
	}
	dumps := s.p.dumpCount()
	if _, err := s.onCall(a.id, "accept", ""); err != nil {
		end(protocol.HungUpByError, "accept: "+err.Error())
		return
	}
	var (
		answeredAt   time.Time
		durC, digitC <-chan time.Time
		tickC        <-chan time.Time
		hungUp       string
		ctxDone      = ctx.Done()
		closeWait    <-chan time.Time
		media        bool
		earlyMedia   bool
		digits       strings.Builder
		digitTimer   *time.Timer
		setupTimeout = time.After(64 * 500 * time.Millisecond) // RFC 3261 Timer H
	)
	hangup := func(by, note string) {
		if hungUp != "" {
			return
		}
		hungUp = by
		if note != "" {
			final.Note = strings.TrimPrefix(final.Note+"; "+note, "; ")
		}
		_, _ = s.onCall(a.id, "hangup", "")
		closeWait = time.After(5 * time.Second)
	}
	stats := func() {
		res, err := s.onCall(a.id, "audio_debug", "")
		if err != nil {
			return
		}
		if n := txPackets.FindStringSubmatch(res.Data); n != nil {
			final.RTPSent, _ = strconv.ParseInt(n[1], 10, 64)
		}
		if n := rxPackets.FindStringSubmatch(res.Data); n != nil {
			final.RTPRecv, _ = strconv.ParseInt(n[1], 10, 64)
		}
		if n := encoder.FindStringSubmatch(res.Data); n != nil {
			final.Codec = n[1]
		}
		if n := remote.FindStringSubmatch(res.Data); n != nil {
			final.MediaPeer = n[1]
		}
	}
	for {
		select {
		case e := <-a.evs:
			switch e.Type {
			case "CALL_ESTABLISHED":
				answeredAt = time.Now()
				setupTimeout = nil
				final.StatusCode, final.Reason, final.Answered = 200, "OK", true
				a.emit(protocol.AnswerEvent{CallID: a.id, Kind: protocol.AnswerAnswered, Answered: true})
				if earlyMedia && !media {
					media = true
					a.emit(protocol.AnswerEvent{CallID: a.id, Kind: protocol.AnswerMedia, Answered: true})
				}
				if src != "" {
					// "ausrc" switches the current call's source too.
					if _, err := s.onCall(a.id, "ausrc", src); err != nil {
						final.Note = "the greeting could not be played: " + err.Error()
					}
				}
				t := time.NewTicker(statsEvery)
				defer t.Stop()
				tickC = t.C
				if req.SendDTMF != "" {
					_, _ = s.onCall(a.id, "sndcode", req.SendDTMF)
				}
				if req.Duration > 0 {
					durC = time.After(req.Duration)
				}
				if req.DigitTimeout > 0 {
					digitTimer = time.NewTimer(req.DigitTimeout)
					defer digitTimer.Stop()
					digitC = digitTimer.C
				}
			case "CALL_RTPESTAB":
				// RTP may come before baresip reports the ACK: the media
				// event then follows the answered one.
				if !media && !answeredAt.IsZero() {
					media = true
					a.emit(protocol.AnswerEvent{CallID: a.id, Kind: protocol.AnswerMedia, Answered: true})
				}
				earlyMedia = answeredAt.IsZero()
			case "CALL_DTMF_START":
				d := e.Param
				if hungUp != "" || len(d) != 1 {
					continue
				}
				if strings.Contains(req.Until, d) {
					hangup(protocol.HungUpByUs, "digit "+d+" ends the call")
					continue
				}
				digits.WriteString(d)
				a.emit(protocol.AnswerEvent{CallID: a.id, Kind: protocol.AnswerDigit, Digit: d, Via: "rfc4733", Answered: true})
				if req.Digits > 0 && digits.Len() >= req.Digits {
					hangup(protocol.HungUpByUs, fmt.Sprintf("%d digits read", digits.Len()))
				}
				if digitTimer != nil {
					digitTimer.Reset(req.DigitTimeout)
				}
			case "CALL_CLOSED":
				by := hungUp
				switch {
				case by != "":
				case e.Param == "end of file" && req.PlayFile != "":
					by = protocol.HungUpByUs // baresip hung up when the file ended
					final.Note = strings.TrimPrefix(final.Note+"; played", "; ")
				default:
					by = protocol.HungUpByCaller
					final.Note = strings.TrimPrefix(final.Note+"; the caller hung up", "; ")
				}
				if !answeredAt.IsZero() {
					final.Duration = time.Since(answeredAt)
					c := &call{s: s}
					var ce protocol.CallEvent
					c.record(&ce, protocol.MediaOptions{RecordFile: req.RecordFile}, dumps)
					final.RecordedSamples = ce.RecordedSamples
					if ce.Note != "" {
						final.Note = strings.TrimPrefix(final.Note+"; "+ce.Note, "; ")
					}
				}
				final.Digits = digits.String()
				if src != "" {
					s.restoreSource()
				}
				end(by, "")
				return
			}
		case <-tickC:
			stats()
		case <-durC:
			stats()
			hangup(protocol.HungUpByUs, "duration reached")
		case <-digitC:
			stats()
			hangup(protocol.HungUpByUs, "no digit within "+req.DigitTimeout.String())
		case <-setupTimeout:
			hangup(protocol.HungUpByError, "no ACK within 32 s (RFC 3261 Timer H)")
		case <-ctxDone:
			ctxDone = nil
			stats()
			hangup(protocol.HungUpByHost, "")
		case <-closeWait:
			final.Digits = digits.String()
			end(hungUp, "baresip did not report the end of the call within 5 s of the hang-up")
			return
		case err := <-a.dead:
			final.Digits = digits.String()
			end(protocol.HungUpByError, err.Error())
			return
		case <-a.done:
			hangup(protocol.HungUpByHost, "")
			return
		}
	}
}
