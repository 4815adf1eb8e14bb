package testbed

import (
	"context"

	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

// SuiteMediaCall places the conformance suite's media call
// (protocoltest.Env.CallGoodWithMedia) from the bed user from to the URI
// to, with sipp through Kamailio: PCMA audio and RFC 4733 digits after
// the answer. With HangUpAfter sipp hangs up and counts the RTP it got
// back (it echoes it); otherwise it waits for the callee's BYE (and
// cannot count). Every telephony backend's conformance run shares it.
func (b *Bed) SuiteMediaCall(ctx context.Context, from, to string, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
	opts := SippCallOptions{From: from, To: to, CallID: call.CallID, DTMF: call.DTMF}
	res := protocoltest.MediaCallResult{RTPReceived: -1}
	if call.WantStatus != 0 {
		opts.ExpectStatus = call.WantStatus
		if _, err := b.SippCall(ctx, opts); err != nil {
			return res, err
		}
		res.Status = call.WantStatus
		return res, nil
	}
	if call.HangUpAfter > 0 {
		opts.Hold, opts.Echo = call.HangUpAfter, true
		res.SentBye = true
	} else {
		opts.AwaitBye, opts.Audio = true, call.DTMF == ""
		res.GotBye = true
	}
	got, err := b.SippCall(ctx, opts)
	if err != nil {
		return protocoltest.MediaCallResult{RTPReceived: -1}, err
	}
	res.Status = 200
	if opts.Echo {
		res.RTPReceived = got.RTPEchoed
	}
	return res, nil
}
