package protocoltest

import (
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// runOptionsCapability proves CapOptions: the session is an OptionsAsker;
// OPTIONS to the account's own address while it is registered reaches the
// account's own user agent through the proxy and gets a final response;
// a target that is no SIP URI is refused with ErrInvalid before anything
// is sent.
func runOptionsCapability(t *testing.T, b protocol.Telephony, env Env, info protocol.Info) {
	capTest(t, info, protocol.CapOptions, "OwnAddressFinal", func(t *testing.T) {
		good, _ := registered(t, b, env.Good, "Good")
		o, ok := good.(protocol.OptionsAsker)
		if !ok {
			t.Fatalf("%q declared but the session is no protocol.OptionsAsker", protocol.CapOptions)
		}
		res, err := o.Options(ctxT(t), env.Good.Address)
		if err != nil {
			t.Fatalf("Options %s: %v", env.Good.Address, err)
		}
		if res.StatusCode < 200 || res.StatusCode > 699 {
			t.Errorf("Options %s: status %d, want a final response", env.Good.Address, res.StatusCode)
		}
		_, err = o.Options(ctxT(t), "sip:bob@example.test\r\nX-Injected: 1")
		wantIs(t, "Options with CR LF in the target", err, protocol.ErrInvalid)
	})
}
