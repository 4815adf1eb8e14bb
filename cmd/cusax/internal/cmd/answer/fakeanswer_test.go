package answer

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// answeringBackend wraps the fake telephony backend so that its sessions
// implement protocol.Answerer (the fake itself does not, yet): the tests
// do not depend on the fake's own Answer.
type answeringBackend struct {
	*fake.TelephonyBackend

	mu       sync.Mutex
	requests []protocol.AnswerRequest
	// digits and hold script a call by Call-ID: digits received, and a
	// channel the call lasts until (or until ctx ends: BYE from us).
	digits map[string]string
	hold   map[string]chan struct{}
}

func newAnsweringBackend(svc *fake.Service) *answeringBackend {
	return &answeringBackend{TelephonyBackend: svc.Telephony(), digits: map[string]string{}, hold: map[string]chan struct{}{}}
}

// Requests are the Answer calls made, in order.
func (b *answeringBackend) Requests() []protocol.AnswerRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// Hold keeps call callID up until the returned func is called.
func (b *answeringBackend) Hold(callID string) (release func()) {
	ch := make(chan struct{})
	b.mu.Lock()
	b.hold[callID] = ch
	b.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (b *answeringBackend) Info(ctx context.Context) (protocol.Info, error) {
	info, err := b.TelephonyBackend.Info(ctx)
	// Its Answer does not read Encryption: it declares no srtp, as a
	// backend that sends media in clear (mediasec_test.go uses the fake's
	// own Answer for SRTP).
	info.Capabilities = append(slices.DeleteFunc(info.Capabilities, func(c protocol.Capability) bool { return c == protocol.CapSRTP }), protocol.CapAnswer)
	return info, err
}

func (b *answeringBackend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := b.TelephonyBackend.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return &answeringSession{TelephonySession: s, b: b}, nil
}

type answeringSession struct {
	protocol.TelephonySession
	b *answeringBackend
}

type evStream struct{ ch chan protocol.AnswerEvent }

func (s evStream) Recv() (protocol.AnswerEvent, error) {
	ev, ok := <-s.ch
	if !ok {
		return ev, io.EOF
	}
	return ev, nil
}
func (s evStream) Close() error { return nil }

// Answer records req, answers 200 through the fake (Service.Responses
// shows it), then plays the script: the digits, the hold, and a final
// event: 12 s, hung up by the caller (by us when ctx ended), a recording
// of one second of silence written exclusively, as the contract says.
func (s *answeringSession) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	s.b.mu.Lock()
	s.b.requests = append(s.b.requests, req)
	digits, hold := s.b.digits[req.CallID], s.b.hold[req.CallID]
	s.b.mu.Unlock()
	if err := s.Respond(ctx, req.CallID, 200, "OK"); err != nil {
		return nil, err
	}
	ch := make(chan protocol.AnswerEvent, 8+len(digits))
	go func() {
		defer close(ch)
		ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerRinging}
		ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerAnswered}
		for _, d := range digits {
			ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerDigit, Digit: string(d), Via: "rfc4733"}
		}
		by := protocol.HungUpByCaller
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
				by = protocol.HungUpByHost
			}
		}
		final := protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerEnded, Final: true, StatusCode: 200, Reason: "OK",
			Answered: true, HungUpBy: by, Duration: 12 * time.Second, Digits: digits, RTPSent: 600, RTPRecv: 598, Codec: "PCMU"}
		if req.RecordFile != "" {
			f, err := os.OpenFile(req.RecordFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				err = media.WriteWAV(f, 8000, make([]int16, 8000))
				f.Close()
			}
			if err != nil {
				final.Note = fmt.Sprintf("record: %v", err)
			} else {
				final.RecordedSamples = 8000
			}
		}
		ch <- final
	}()
	return evStream{ch}, nil
}

var _ protocol.Answerer = (*answeringSession)(nil)
