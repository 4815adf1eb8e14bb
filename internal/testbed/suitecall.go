package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
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

// UDPTelephonyEnv is the conformance suite's environment for a telephony
// backend that registers over UDP (plugins/baresip, in process and over
// go-plugin): two fresh users whose names start with prefix (Good and
// Peer), sipp UAS callees that echo and count RTP, a bed baresip as the
// DTMF callee, and calls to Good placed by sipp from Peer.
func (b *Bed) UDPTelephonyEnv(t testing.TB, prefix string) protocoltest.Env {
	t.Helper()
	var tok [3]byte
	_, _ = rand.Read(tok[:])
	good, peer := prefix+"g"+hex.EncodeToString(tok[:]), prefix+"p"+hex.EncodeToString(tok[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users, err := b.AddUsers(ctx, b.Domain, good, peer)
	if err != nil {
		t.Fatal(err)
	}
	server := "sip:" + b.SIPUDPAddr + ";transport=udp"
	goodAOR := "sip:" + good + "@" + b.Domain
	var n atomic.Int32
	callee := func(t testing.TB) string {
		user := fmt.Sprintf("%sc%d", good, n.Add(1))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := b.AddUsers(ctx, b.Domain, user); err != nil {
			t.Fatal(err)
		}
		return user
	}
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: goodAOR, Password: users[good].Password, Server: server},
		WrongPassword: "wrong-" + users[good].Password,
		BadAddress:    "mailto:" + good + "@" + b.Domain,
		Peer:          protocol.ConnectRequest{Address: "sip:" + peer + "@" + b.Domain, Password: users[peer].Password, Server: server},
		Callee: func(t testing.TB) protocoltest.Callee {
			uas := b.StartSippUAS(t, SippUASOptions{User: callee(t), Answer: 200, Media: "echo"})
			return protocoltest.Callee{URI: uas.URI, Wait: func(d time.Duration) (int64, error) {
				res, err := uas.Wait(d)
				return int64(res.RTPReceived), err
			}}
		},
		DTMFCallee: func(t testing.TB) protocoltest.Callee {
			bs := b.StartBaresip(t, BaresipOptions{User: callee(t)})
			return protocoltest.Callee{URI: bs.URI, DTMF: bs.DTMF}
		},
		CallGood: func(ctx context.Context, callID string, want int) error {
			_, err := b.SippInvite(ctx, SippInviteOptions{From: peer, To: goodAOR, ExpectStatus: want, CallID: callID})
			return err
		},
		CallGoodWithMedia: func(ctx context.Context, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
			return b.SuiteMediaCall(ctx, peer, goodAOR, call)
		},
	}
}
