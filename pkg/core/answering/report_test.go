package answering

import (
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// TestSummary is the --notify text for each way a call ends.
func TestSummary(t *testing.T) {
	bob := Report{Caller: "sip:bob@example.com", Contact: "bob@example.com", Name: "Bob", Verdict: "verified"}
	with := func(f func(*Report)) Report { r := bob; f(&r); return r }
	for _, tc := range []struct {
		name string
		r    Report
		want string
	}{
		{"voicemail", with(func(r *Report) {
			r.Action, r.DurationMS, r.Recorded = ActionAnswered, 12400, "/vm/bob.wav"
		}), "voicemail from Bob <bob@example.com> (verified), 12 s, saved to /vm/bob.wav"},
		{"call with digits", with(func(r *Report) {
			r.Action, r.DurationMS, r.Digits = ActionAnswered, 3000, "1234"
		}), "call from Bob <bob@example.com> (verified), 3 s, digits 1234"},
		{"rejected", Report{Caller: "sip:mallory@example.com", Verdict: "mismatch", Action: ActionRejected, Status: 603,
			Decision: protocol.Decision{Verdict: protocol.Deny, Policy: "default", Reason: "possible spoof"}},
			"missed call from sip:mallory@example.com (mismatch): rejected with 603 (default: possible spoof)"},
		{"busy", Report{Caller: "sip:carol@example.com", Action: ActionBusy, Status: 486,
			Decision: protocol.Decision{Verdict: protocol.Deny, Policy: "--concurrency", Reason: "1 call(s) in progress"}},
			"missed call from sip:carol@example.com: busy with 486 (--concurrency: 1 call(s) in progress)"},
		// The final response could not be sent: no status to name.
		{"rejection not sent", with(func(r *Report) {
			r.Action, r.Error = ActionRejected, "respond 603: connection closed"
			r.Decision = protocol.Decision{Verdict: protocol.Deny, Policy: "--accept", Reason: "verdict verified is not in --accept"}
		}), "missed call from Bob <bob@example.com> (verified): rejected (--accept: verdict verified is not in --accept): respond 603: connection closed"},
		{"caller hung up first", with(func(r *Report) {
			r.Action, r.Note = ActionMissed, "the caller hung up first"
		}), "missed call from Bob <bob@example.com> (verified): the caller hung up first"},
		{"unknown", Report{Action: ActionMissed, Error: "unreadable INVITE: no From"}, "missed call from an unknown caller: unreadable INVITE: no From"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Summary(); got != tc.want {
				t.Errorf("Summary()\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
