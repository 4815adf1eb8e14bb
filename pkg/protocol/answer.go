package protocol

import (
	"context"
	"time"
)

// CapAnswer: the telephony session can pick up an incoming call with media
// (it implements Answerer). A backend declaring it also declares
// CapIncomingCalls: calls to answer come from that stream.
const CapAnswer Capability = "answer"

// Answerer is an optional TelephonySession feature (CapAnswer): answer an
// incoming call (from IncomingCalls) with media, instead of Respond.
// Added after API v1 was released, so it is an extra interface, as
// AckedMessages is.
type Answerer interface {
	// Answer takes the call callID: 180 Ringing at once, 200 OK with an
	// SDP answer built from the caller's offer after req.Ring, then media
	// as req says, until the caller hangs up (BYE), the call ends as req
	// says (Duration, the file played, the digits read) or ctx ends (BYE
	// from us). It streams AnswerEvents; the last has Final set, except
	// after ctx ended, where the stream may end with ctx's error instead
	// (over the wire it does: the RPC itself is cancelled).
	//
	// Errors before the stream: ErrNotFound (no such call waiting, or it
	// was cancelled), ErrInvalid (bad request: a path or digit set it
	// cannot use). A call whose offer has no codec in common (PCMU, PCMA)
	// is answered 488 Not Acceptable Here (RFC 3264 §6) and ends with a
	// final event saying so. A caller that never ACKs the 200 is torn
	// down when RFC 3261 Timer H (64·T1) fires.
	Answer(ctx context.Context, req AnswerRequest) (Stream[AnswerEvent], error)
}

// AnswerRequest says how to take a call. Paths are local to the machine
// (plugins run beside the CLI).
type AnswerRequest struct {
	CallID string
	// Ring is how long to ring (180) before answering; 0 answers at once.
	Ring time.Duration
	// PlayFile is a 16-bit PCM WAV sent after the answer.
	PlayFile string
	// RecordFile is written (a WAV of what the caller sends) when the
	// call ends. It must not exist: a recording never replaces a file.
	RecordFile string
	// SendDTMF is RFC 4733 digits sent after the answer.
	SendDTMF string
	// Digits ends the call once this many digits were received; 0 = no
	// limit. Until ends it at any of these digits (e.g. "#"), which is
	// not counted among the digits (no digit event; the final Note names
	// it). DigitTimeout ends it when no digit
	// came for that long after the first (or after the greeting).
	Digits       int
	Until        string
	DigitTimeout time.Duration
	// Duration hangs up this long after the answer; 0 with a PlayFile
	// hangs up when it has played, 0 without one waits for the caller
	// (or a digit rule).
	Duration time.Duration
	// SilenceHangup hangs up after this much silence from the caller
	// (0 = off).
	SilenceHangup time.Duration
	// Encryption is the account's media_encryption (MediaEncryptionSRTP,
	// …; see there). With "srtp", a caller that offers no SRTP (or offers
	// SDES keys over UDP or TCP signalling) gets 488 Not Acceptable Here
	// and the call ends with a final event saying so (HungUpBy error).
	Encryption string
}

// Answer event kinds (AnswerEvent.Kind).
const (
	AnswerRinging  = "ringing"  // 180 sent
	AnswerAnswered = "answered" // 200 sent and ACKed
	AnswerMedia    = "media"    // the first RTP packet from the caller
	AnswerDigit    = "digit"    // a DTMF digit received (Digit)
	AnswerEnded    = "ended"    // the call is over (Final)
)

// Who ended an answered call (AnswerEvent.HungUpBy).
const (
	HungUpByCaller = "caller" // BYE or CANCEL from the caller
	HungUpByUs     = "us"     // BYE from us: Duration, played, digits, silence
	HungUpByHost   = "host"   // the host cancelled (Ctrl-C, a policy)
	HungUpByError  = "error"  // no ACK (Timer H), no codec, the network
)

// AnswerEvent is one step of an answered call.
type AnswerEvent struct {
	CallID string `json:"call_id"`
	Kind   string `json:"kind"`
	// Digit is the digit received (Kind "digit"): 0-9 * # A-D.
	Digit string `json:"digit,omitempty"`
	// Via is how a digit came: "rfc4733" or "sip-info".
	Via   string `json:"via,omitempty"`
	Final bool   `json:"final"`
	// The rest is set on the final event.
	StatusCode int           `json:"status_code,omitempty"` // the final response sent (200, or 488 …)
	Reason     string        `json:"reason,omitempty"`
	Answered   bool          `json:"answered"`
	HungUpBy   string        `json:"hung_up_by,omitempty"`
	Duration   time.Duration `json:"-"`                // from the answer to the end (JSON: duration_ms)
	Digits     string        `json:"digits,omitempty"` // all received, in order
	RTPSent    int64         `json:"rtp_sent,omitempty"`
	RTPRecv    int64         `json:"rtp_received,omitempty"`
	Codec      string        `json:"codec,omitempty"`
	MediaPeer  string        `json:"media_peer,omitempty"`
	// RecordedSamples is how many 8 kHz samples went to RecordFile.
	RecordedSamples int64  `json:"recorded_samples,omitempty"`
	Note            string `json:"note,omitempty"`
	// MediaProtection, MediaKeying and SRTPAuthFailures: as in CallEvent.
	MediaProtection  string `json:"media_protection,omitempty"`
	MediaKeying      string `json:"media_keying,omitempty"`
	SRTPAuthFailures int64  `json:"srtp_auth_failures,omitempty"`
}
