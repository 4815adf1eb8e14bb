package cusaxv1_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/hashicorp/go-plugin"
)

// The fake telephony backend passes the suite through the gRPC shims too,
// its answer tests included: every Answer field, event and end crosses
// the wire as the in-process suite sees it.
func TestFakeTelephonyConformanceOverTheWire(t *testing.T) {
	const aor = "sip:alice@example.com"
	s := fake.NewService(fake.Account{Address: aor, Password: "sa"}, fake.Account{Address: "sip:bob@example.com", Password: "sb"})
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"telephony": &cusaxv1.TelephonyPlugin{Impl: s.Telephony()}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense("telephony")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	callee := func(testing.TB) protocoltest.Callee {
		uri := fmt.Sprintf("sip:echo-%d@example.com", n.Add(1))
		s.Answer(uri)
		return protocoltest.Callee{URI: uri}
	}
	protocoltest.RunTelephony(t, raw.(protocol.Telephony), protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: aor, Password: "sa"},
		WrongPassword: "nope", BadAddress: "mailto:alice@example.com",
		Peer:   protocol.ConnectRequest{Address: "sip:bob@example.com", Password: "sb"},
		Callee: callee,
		DTMFCallee: func(t testing.TB) protocoltest.Callee {
			c := callee(t)
			c.DTMF = func() string { return s.DTMFReceived(c.URI) }
			return c
		},
		CallGood: func(ctx context.Context, callID string, want int) error {
			s.Ring(aor, protocol.IncomingCall{CallID: callID})
			r, err := s.WaitFinal(ctx, callID)
			if err == nil && r.Status != want {
				err = fmt.Errorf("final response %d, want %d", r.Status, want)
			}
			return err
		},
		CallGoodWithMedia: func(ctx context.Context, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
			s.Ring(aor, protocol.IncomingCall{CallID: call.CallID})
			s.CallerSends(call.CallID, call.DTMF)
			if call.HangUpAfter > 0 {
				go func() {
					if _, err := s.WaitFinal(ctx, call.CallID); err == nil {
						select {
						case <-time.After(call.HangUpAfter):
							s.CallerHangsUp(call.CallID)
						case <-ctx.Done():
						}
					}
				}()
			}
			e, err := s.CallerEnd(ctx, call.CallID)
			return protocoltest.MediaCallResult{Status: e.Status, RTPReceived: e.RTPReceived, GotBye: e.GotBye, SentBye: e.SentBye}, err
		},
	})
}
