package builtin

import (
	"testing"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/cusax/cusax/plugins/sipmessage"
	"github.com/hashicorp/go-hclog"
)

// sipMessageEnv is two fresh SIP accounts over TLS to the bed's Kamailio,
// which relays MESSAGE between registered users. The suite's message tests
// address Peer by Env.Peer.Address: here a SIP AOR, not a JID.
func sipMessageEnv(t *testing.T, bed *testbed.Bed) protocoltest.Env {
	good, peer, users := freshPair(t, bed, "sm")
	ca := mustRead(bed.CAFile)
	server := "sip:" + bed.SIPTLSAddr + ";transport=tls"
	return protocoltest.Env{
		Good:          protocol.ConnectRequest{Address: "sip:" + good + "@" + bed.Domain, Password: users[good].Password, Server: server, CAPEM: ca},
		WrongPassword: "wrong-" + users[good].Password,
		BadAddress:    "sip:@" + bed.Domain,
		Peer:          protocol.ConnectRequest{Address: "sip:" + peer + "@" + bed.Domain, Password: users[peer].Password, Server: server, CAPEM: ca},
	}
}

// TestConformanceSIPMessage runs the IMPP suite against the SIP MESSAGE
// backend, in process and over go-plugin, against Kamailio.
func TestConformanceSIPMessage(t *testing.T) {
	bed := testbed.Shared(t)
	t.Run("in-process", func(t *testing.T) {
		protocoltest.RunIMPP(t, sipmessage.New(hclog.NewNullLogger()), sipMessageEnv(t, bed))
	})
	t.Run("grpc", func(t *testing.T) {
		b, err := overGRPC(t, protocol.KindIMPP, sipmessage.Name).IMPP()
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunIMPP(t, b, sipMessageEnv(t, bed))
	})
}
