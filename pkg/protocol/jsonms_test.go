package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// cusax's JSON has one unit of time: no *_ns key leaves the SDK's types,
// durations are whole milliseconds, and a connection report reads back.
func TestDurationsAreMilliseconds(t *testing.T) {
	for _, v := range []any{
		ConnectionReport{Aspect: AspectTelephony, Notes: []string{"<sip:a@b>"}, Expires: time.Hour, Elapsed: 1500 * time.Microsecond},
		CallEvent{SetupTime: 20 * time.Millisecond, Duration: 3 * time.Second},
		RegistrationEvent{Down: 2 * time.Second, Retry: time.Second},
		AnswerEvent{Duration: time.Minute},
		DecisionStep{Policy: "p", ElapsedMS: 2.6},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "_ns") || strings.Contains(s, ".") && !strings.Contains(s, "<sip") {
			t.Errorf("%T: %s", v, s)
		}
		if !strings.Contains(s, "_ms\":") {
			t.Errorf("%T: no *_ms: %s", v, s)
		}
	}
	b, _ := marshalNoEscape(ConnectionReport{Expires: time.Hour, Elapsed: 1500 * time.Microsecond, Notes: []string{"<sip:a@b>"}})
	if !strings.Contains(string(b), `"expires_ms":3600000`) || !strings.Contains(string(b), `"elapsed_ms":1`) || !strings.Contains(string(b), "<sip:a@b>") {
		t.Errorf("report: %s", b)
	}
	var back ConnectionReport
	if err := json.Unmarshal(b, &back); err != nil || back.Expires != time.Hour || back.Elapsed != time.Millisecond {
		t.Errorf("read back: %+v %v", back, err)
	}
	b, _ = json.Marshal(DecisionStep{ElapsedMS: 2.6})
	if !strings.Contains(string(b), `"elapsed_ms":3`) {
		t.Errorf("step: %s", b)
	}
}
