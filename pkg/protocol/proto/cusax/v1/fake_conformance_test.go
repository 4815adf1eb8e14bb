package cusaxv1_test

import (
	"testing"

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
	protocoltest.RunTelephony(t, raw.(protocol.Telephony), fake.TelephonyEnv(s,
		protocol.ConnectRequest{Address: aor, Password: "sa"},
		protocol.ConnectRequest{Address: "sip:bob@example.com", Password: "sb"}))
}
