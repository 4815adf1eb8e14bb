package fake

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

// TelephonyEnv is the conformance environment of s's telephony backend
// (protocoltest.RunTelephony), for good and peer, accounts of s: plain,
// DTMF-reporting and SRTP-only callees, plain and SRTP-only callers of
// good, and TLS signalling (the fake's default). The in-process and the
// over-the-wire runs of the suite share it.
func TelephonyEnv(s *Service, good, peer protocol.ConnectRequest) protocoltest.Env {
	var n atomic.Int32
	callee := func(m MediaMode) func(testing.TB) protocoltest.Callee {
		return func(testing.TB) protocoltest.Callee {
			uri := fmt.Sprintf("sip:echo-%d@example.com", n.Add(1))
			s.Answer(uri)
			s.CalleeMedia(uri, m)
			return protocoltest.Callee{URI: uri}
		}
	}
	return protocoltest.Env{
		Good: good, WrongPassword: "nope", BadAddress: "mailto:" + good.Address,
		Peer:   peer,
		Callee: callee(MediaPlain), // the suite's Callee is a plain-RTP peer
		DTMFCallee: func(t testing.TB) protocoltest.Callee {
			c := callee(MediaPlain)(t)
			c.DTMF = func() string { return s.DTMFReceived(c.URI) }
			return c
		},
		SRTPCallee:  callee(MediaSRTPOnly), // baresip's mediaenc srtp-mand
		GoodOverTLS: true,
		CallGood: func(ctx context.Context, callID string, want int) error {
			s.Ring(good.Address, protocol.IncomingCall{CallID: callID})
			r, err := s.WaitFinal(ctx, callID)
			if err == nil && r.Status != want {
				err = fmt.Errorf("final response %d, want %d", r.Status, want)
			}
			return err
		},
		CallGoodWithMedia: callerWithMedia(s, good.Address, MediaPlain),
		CallGoodWithSRTP:  callerWithMedia(s, good.Address, MediaSRTPOnly),
	}
}

// callerWithMedia places the suite's media calls to aor from a caller
// that treats media encryption as m.
func callerWithMedia(s *Service, aor string, m MediaMode) func(context.Context, protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
	return func(ctx context.Context, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
		s.CallerMedia(call.CallID, m)
		s.Ring(aor, protocol.IncomingCall{CallID: call.CallID})
		if call.DTMF != "" {
			s.CallerSends(call.CallID, call.DTMF)
		}
		if call.HangUpAfter > 0 {
			go func() {
				if _, err := s.WaitFinal(ctx, call.CallID); err != nil { // the 200
					return
				}
				t := time.NewTimer(call.HangUpAfter)
				defer t.Stop()
				select {
				case <-t.C:
					s.CallerHangsUp(call.CallID)
				case <-ctx.Done():
				}
			}()
		}
		e, err := s.CallerEnd(ctx, call.CallID)
		return protocoltest.MediaCallResult{Status: e.Status, RTPReceived: e.RTPReceived, GotBye: e.GotBye, SentBye: e.SentBye}, err
	}
}
