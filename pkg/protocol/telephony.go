package protocol

import (
	"context"
	"time"
)

// Telephony is a telephony backend (SIP today). RFC 7081 strategy 1: it
// carries audio and video.
type Telephony interface {
	Describer
	// Connect prepares a user agent for the account. It does no network IO
	// beyond resolving the server; Register proves the account live.
	Connect(ctx context.Context, req ConnectRequest) (TelephonySession, error)
}

// TelephonySession is one user agent bound to one account.
type TelephonySession interface {
	// Register binds the account's contact at the registrar and returns the
	// connection report. Errors: ErrAuth, ErrCertificate (credentials are
	// never sent over a connection whose certificate failed), ErrInsecure,
	// ErrUnreachable, ErrTimeout (bounded by ConnectRequest.Timeout),
	// ErrNotFound (404: the registrar does not know the AOR), ErrProtocol.
	// On failure the report may still describe what was learnt (transport,
	// certificate, offered algorithms) with State "failed".
	Register(ctx context.Context, req RegisterRequest) (ConnectionReport, error)
	// Unregister removes the binding made by Register.
	Unregister(ctx context.Context) error
	// Dial places a call and streams its progress; the last event has
	// Final set. Cancelling ctx hangs up (CANCEL or BYE). ErrInvalid for a
	// target or header with CR, LF or NUL.
	Dial(ctx context.Context, req DialRequest) (Stream[CallEvent], error)
	// Hangup ends a call by its ID (from CallEvent.CallID).
	Hangup(ctx context.Context, callID string) error
	// IncomingCalls streams INVITEs received for the account.
	IncomingCalls(ctx context.Context) (Stream[IncomingCall], error)
	// Respond answers an incoming call: a status code (180, 200, 486, 603…).
	Respond(ctx context.Context, callID string, status int, reason string) error
	// Close unregisters if needed and releases the user agent.
	Close(ctx context.Context) error
}

// RegisterRequest asks for a registration.
type RegisterRequest struct {
	// Expires is the requested lifetime; 0 = backend default (3600 s).
	Expires time.Duration
}

// Header is one extra SIP header. Names and values must not contain CR, LF
// or NUL (sipgo does not sanitise; backends reject them with ErrInvalid).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DialRequest places a call.
type DialRequest struct {
	// Target is a sip:, sips: or tel: URI.
	Target      string
	DisplayName string
	Headers     []Header
	// Anonymous sends Privacy: id (RFC 3325) and an anonymous From.
	Anonymous bool
	Media     MediaOptions
}

// MediaOptions says what to do with the media of a call. Paths are local to
// the machine (plugins run beside the CLI).
type MediaOptions struct {
	PlayFile    string        // 16-bit PCM WAV to send
	RecordFile  string        // WAV to write with what the callee sends
	DTMF        string        // RFC 4733 digits to send after answer
	Duration    time.Duration // hang up this long after answer (0 = when play ends)
	RingTimeout time.Duration // give up when not answered by then
	Video       bool
	// Encryption is the account's media_encryption: MediaEncryptionSRTP,
	// MediaEncryptionOptional, MediaEncryptionNone or
	// MediaEncryptionDefault (see there). Backends with CapSRTP honour it.
	Encryption string
	// Keying is the account's media_keying: how SRTP is keyed when it is
	// offered, KeyingSDES (or "") or KeyingDTLS (see there). Answering
	// needs no setting: it follows the caller's offer.
	Keying string
}

// CallEvent is one step of an outgoing call.
type CallEvent struct {
	CallID     string        `json:"call_id"`
	StatusCode int           `json:"status_code"`
	Reason     string        `json:"reason"`
	Answered   bool          `json:"answered"`
	Final      bool          `json:"final"`
	SetupTime  time.Duration `json:"-"` // JSON: setup_ms (jsonms.go)
	Duration   time.Duration `json:"-"` // JSON: duration_ms
	RTPSent    int64         `json:"rtp_sent,omitempty"`
	RTPRecv    int64         `json:"rtp_received,omitempty"`
	DTMFSent   string        `json:"dtmf_sent,omitempty"`
	// Codec is the negotiated audio codec ("PCMU", "PCMA").
	Codec string `json:"codec,omitempty"`
	// MediaPeer is the remote RTP address from the SDP answer.
	MediaPeer string `json:"media_peer,omitempty"`
	// RecordedSamples is how many 8 kHz samples were written to RecordFile.
	RecordedSamples int64 `json:"recorded_samples,omitempty"`
	// Note is a human-readable remark (e.g. why media ended early).
	Note string `json:"note,omitempty"`
	// MediaProtection says how the media was protected once the call was
	// answered: the SRTP crypto suite (e.g. "AES_CM_128_HMAC_SHA1_80",
	// RFC 4568 §6.2) or MediaInClear; "" when the backend does not say
	// (no CapSRTP). RFC 7590 §3.6: the user is told, not left to guess.
	MediaProtection string `json:"media_protection,omitempty"`
	// MediaKeying is how SRTP was keyed (KeyingSDES, KeyingDTLS).
	MediaKeying string `json:"media_keying,omitempty"`
	// SRTPAuthFailures counts received packets dropped because their
	// authentication tag or replay check failed (RFC 3711 §3.3).
	SRTPAuthFailures int64 `json:"srtp_auth_failures,omitempty"`
}

// IncomingCall is one INVITE received or, when Registration is set, a
// change of the registration that brings the calls.
type IncomingCall struct {
	CallID string `json:"call_id"`
	// Raw is the INVITE as received, for whois-caller's judgement.
	Raw    []byte    `json:"-"`
	Source string    `json:"source"` // remote address the request came from
	Time   time.Time `json:"time"`
	// ViaProxy is true when it arrived over the account's own proxy
	// connection: a condition for trusting its P-Asserted-Identity (RFC
	// 3325 §9.1), not enough on its own (the host asks the account).
	ViaProxy bool `json:"via_proxy"`
	// Registration, when set, makes this item a report on the account's
	// binding, not a call (CallID and Raw are empty): after Register,
	// while an IncomingCalls stream is open, a backend keeps the binding
	// alive (refreshes it before it expires, RFC 3261 §10.2.4, and
	// registers again when the flow is lost) and tells every open stream
	// when it is lost, when an attempt to restore it fails, and when it is
	// restored. Backends without this send none.
	Registration *RegistrationEvent `json:"registration,omitempty"`
	// Missed, when not zero, makes this item a report, not a call (CallID
	// and Raw are empty): that many calls arrived while this stream's
	// reader was behind and its buffer full, so they were not handed over
	// (the backend answers them as it answers any call nobody responds
	// to). MissedCallIDs lists the first of them. A backend must never
	// drop an incoming call without such a report.
	Missed        uint64   `json:"missed,omitempty"`
	MissedCallIDs []string `json:"missed_call_ids,omitempty"`
}

// Registration states reported in RegistrationEvent.State.
const (
	RegistrationLost     = "lost"       // the binding is gone or unreachable; re-registering
	RegistrationRetrying = "retrying"   // an attempt to restore it failed; another follows after Retry
	RegistrationRestored = "registered" // registered again, after Down
)

// RegistrationEvent is a change of a registration kept alive by the backend.
type RegistrationEvent struct {
	State     string        `json:"state"`               // RegistrationLost, RegistrationRetrying or RegistrationRestored
	Reason    string        `json:"reason,omitempty"`    // why it was lost or the attempt failed
	Address   string        `json:"address,omitempty"`   // the contact bound (restored) or lost
	Server    string        `json:"server,omitempty"`    // the registrar's address
	Transport string        `json:"transport,omitempty"` // udp, tcp or tls
	Down      time.Duration `json:"-"`                   // restored: how long it was lost (JSON: down_ms)
	Retry     time.Duration `json:"-"`                   // retrying: the wait before the next attempt (JSON: retry_ms)
}
