package cusaxv1

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cusax/cusax/pkg/protocol"
)

// nonZero fails when the test value leaves a field unset, so a field added
// to the contract later cannot be forgotten here.
func nonZero(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		if rv.Field(i).IsZero() {
			t.Fatalf("test %s leaves %s unset", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}

// Every field of a DialRequest and of a CallEvent survives the wire form
// (conversion and protobuf encoding), unchanged.
func TestDialFieldsCrossTheWire(t *testing.T) {
	media := protocol.MediaOptions{PlayFile: "/tmp/p.wav", RecordFile: "/tmp/r.wav", DTMF: "12#", Duration: 3 * time.Second,
		RingTimeout: 20 * time.Second, Video: true, Encryption: protocol.MediaEncryptionOptional, Keying: protocol.KeyingDTLS}
	nonZero(t, media)
	req := protocol.DialRequest{Target: "sip:bob@example.test", DisplayName: "Alice", Headers: []protocol.Header{{Name: "Call-Info", Value: "<x>"}},
		Anonymous: true, Media: media}
	nonZero(t, req)
	b, err := proto.Marshal(dialToWire("s1", req))
	if err != nil {
		t.Fatal(err)
	}
	var w DialRequest
	if err := proto.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if got := dialFromWire(&w); !reflect.DeepEqual(got, req) {
		t.Fatalf("dial request changed on the wire:\n got %+v\nwant %+v", got, req)
	}

	ev := protocol.CallEvent{CallID: "c1", StatusCode: 200, Reason: "OK", Answered: true, Final: true, SetupTime: time.Second,
		Duration: 2 * time.Second, RTPSent: 100, RTPRecv: 99, DTMFSent: "1", Codec: "PCMU", MediaPeer: "127.0.0.1:4000",
		RecordedSamples: 16000, Note: "n", MediaProtection: "AEAD_AES_128_GCM", MediaKeying: protocol.KeyingSDES, SRTPAuthFailures: 2}
	nonZero(t, ev)
	b, err = proto.Marshal(callEventToWire(ev))
	if err != nil {
		t.Fatal(err)
	}
	var we CallEvent
	if err := proto.Unmarshal(b, &we); err != nil {
		t.Fatal(err)
	}
	if got := callEventFromWire(&we); !reflect.DeepEqual(got, ev) {
		t.Fatalf("call event changed on the wire:\n got %+v\nwant %+v", got, ev)
	}
}
