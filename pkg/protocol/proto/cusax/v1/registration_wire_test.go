package cusaxv1

import (
	"reflect"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"google.golang.org/protobuf/proto"
)

// A registration change crosses the wire in the IncomingCalls stream,
// marshalled as protobuf, and comes back whole; a call still has none; so
// does a report of calls the reader missed.
func TestRegistrationEventCrossesTheWire(t *testing.T) {
	for name, in := range map[string]protocol.IncomingCall{
		"call": {CallID: "c1", Raw: []byte("INVITE …"), Source: "127.0.0.1:5060", Time: time.Unix(5, 0).UTC(), ViaProxy: true},
		"registration": {Time: time.Unix(6, 0).UTC(), Registration: &protocol.RegistrationEvent{
			State: protocol.RegistrationRestored, Reason: "connection closed", Address: "sip:a@127.0.0.1:4000;transport=tcp",
			Server: "127.0.0.1:5060", Transport: "tcp", Down: 2100 * time.Millisecond, Retry: time.Second}},
		"missed calls": {Time: time.Unix(7, 0).UTC(), Missed: 20, MissedCallIDs: []string{"m1@x", "m2@x"}},
	} {
		b, err := proto.Marshal(incomingToWire(in))
		if err != nil {
			t.Fatal(err)
		}
		var w IncomingCall
		if err := proto.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		if got := incomingFromWire(&w); !reflect.DeepEqual(got, in) {
			t.Errorf("%s: got %+v, want %+v", name, got, in)
		}
	}
}
