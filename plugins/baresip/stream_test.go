package baresip

import (
	"fmt"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// A reader that falls behind loses no call silently: the calls that did
// not fit are reported (Missed, with their IDs) as soon as it reads again.
func TestSlowReaderMissedReported(t *testing.T) {
	st := &callStream{ch: make(chan protocol.IncomingCall, 4), done: make(chan struct{}), unlink: func() {}}
	for i := range 7 {
		st.send(protocol.IncomingCall{CallID: fmt.Sprintf("c%d", i)})
	}
	var calls []string
	var missed uint64
	var missedIDs []string
	for range 5 {
		ic, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ic.Missed > 0 {
			missed, missedIDs = ic.Missed, ic.MissedCallIDs
			continue
		}
		calls = append(calls, ic.CallID)
	}
	if len(calls) != 4 || missed != 3 || fmt.Sprint(missedIDs) != "[c4 c5 c6]" {
		t.Errorf("calls %v, missed %d %v; want 4 calls then 3 missed (c4 c5 c6)", calls, missed, missedIDs)
	}
	_ = st.Close()
	if _, err := st.Recv(); err == nil {
		t.Error("Recv after Close: no error")
	}
}
