package answering

import (
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Actions: what became of a call (Report.Action).
const (
	ActionAnswered = "answered" // taken: 200 OK and media
	ActionRejected = "rejected" // answered --reject-with's status (or the policy's)
	ActionBusy     = "busy"     // beyond --concurrency: 486 without judging
	ActionMissed   = "missed"   // gone before it could be taken (cancelled), or failed
)

// Report is one call as `cusax answer` prints it (one JSON object per call).
type Report struct {
	CallID string `json:"call_id"`
	Remote string `json:"remote,omitempty"`
	// Caller is the address judged; Contact and Name the roster contact
	// the verdict names (verified, verified-by-scan, mismatch).
	Caller            string `json:"caller"`
	Contact           string `json:"contact,omitempty"`
	Name              string `json:"name,omitempty"`
	Hint              string `json:"hint,omitempty"`
	Verdict           string `json:"verdict,omitempty"`
	NumbersUnresolved bool   `json:"numbers_unresolved,omitempty"`
	// Decision is the outcome with the policy chain's trail: Policy names
	// who decided ("--accept" when every policy abstained, "--concurrency"
	// for a busy call, "user" after a prompt).
	Decision protocol.Decision `json:"decision"`
	Action   string            `json:"action"`
	// Status is the final response sent: 200, or 486/603/480, or 488 …
	Status     int        `json:"status_code,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	HungUpBy   string     `json:"hung_up_by,omitempty"`
	Digits     string     `json:"digits"`
	// Recorded is the recording's path, set when samples were written.
	Recorded        string `json:"recorded,omitempty"`
	RecordedSamples int64  `json:"recorded_samples,omitempty"`
	RTPSent         int64  `json:"rtp_sent"`
	RTPReceived     int64  `json:"rtp_received"`
	Codec           string `json:"codec,omitempty"`
	// MediaProtection (answered calls): the SRTP suite, or "none" for
	// plain RTP (also when the backend cannot say: no srtp capability);
	// MediaKeying how SRTP was keyed (sdes, dtls); SRTPAuthFailures the
	// packets dropped for a bad authentication tag (RFC 3711 §3.3). As in
	// `cusax call --json`.
	MediaProtection  string `json:"media_protection,omitempty"`
	MediaKeying      string `json:"media_keying,omitempty"`
	SRTPAuthFailures int64  `json:"srtp_auth_failures,omitempty"`
	Note             string `json:"note,omitempty"`
	// Exec is the handler's run (nil without --exec).
	Exec *ExecResult `json:"exec,omitempty"`
	// Notified: the --notify message was sent; NotifyError why not.
	Notified    bool   `json:"notified,omitempty"`
	NotifyError string `json:"notify_error,omitempty"`
	// Error says what failed (judging, the policy, the backend); the call
	// was then rejected or lost, never taken.
	Error string `json:"error,omitempty"`
}

// Who is the caller as a person reads it: "Bob <bob@example.com>" for a
// contact, else the address.
func (r Report) Who() string {
	switch {
	case r.Contact != "" && r.Name != "":
		return fmt.Sprintf("%s <%s>", r.Name, r.Contact)
	case r.Contact != "":
		return r.Contact
	case r.Caller != "":
		return r.Caller
	}
	return "an unknown caller"
}

// Summary is the notification text: "voicemail from Bob <bob@…>
// (verified), 12 s, saved to …" for a recorded call.
func (r Report) Summary() string {
	who := r.Who()
	if r.Verdict != "" {
		who += " (" + r.Verdict + ")"
	}
	switch r.Action {
	case ActionAnswered:
		kind := "call"
		if r.Recorded != "" {
			kind = "voicemail"
		}
		s := fmt.Sprintf("%s from %s, %d s", kind, who, (r.DurationMS+500)/1000)
		if r.Digits != "" {
			s += ", digits " + r.Digits
		}
		if r.Recorded != "" {
			s += ", saved to " + r.Recorded
		}
		return s
	case ActionRejected, ActionBusy:
		s := fmt.Sprintf("missed call from %s: %s", who, r.Action)
		// Status 0: the final response could not be sent; Error says why.
		if r.Status != 0 {
			s += fmt.Sprintf(" with %d", r.Status)
		}
		if r.Decision.Reason != "" {
			s += " (" + r.Decision.Policy + ": " + r.Decision.Reason + ")"
		}
		if r.Error != "" {
			s += ": " + r.Error
		}
		return s
	}
	s := "missed call from " + who
	switch {
	case r.Error != "":
		s += ": " + r.Error
	case r.Note != "":
		s += ": " + r.Note
	}
	return s
}
