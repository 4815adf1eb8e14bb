package cusaxv1

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cusax/cusax/pkg/protocol"
)

// A message handed to Send with Delay set (cusax agent, after an outage)
// keeps it across the wire, so the backend can stamp it (XEP-0203 §4).
func TestSendDelayCrossesTheWire(t *testing.T) {
	delay := time.Unix(1_800_000_000, 123_000_000)
	m := protocol.Message{ID: "m1", To: "bob@example.test", Type: "chat", Body: "late", Delay: delay}
	b, err := proto.Marshal(&SendRequest{SessionId: "s1", Message: messageToWire(m)})
	if err != nil {
		t.Fatal(err)
	}
	var w SendRequest
	if err := proto.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if got := messageFromWire(w.GetMessage()); !got.Delay.Equal(delay) {
		t.Fatalf("Delay %v after the wire, want %v", got.Delay, delay)
	}
}
