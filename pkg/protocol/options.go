package protocol

import "context"

// CapOptions: the telephony session can ask the SIP service about an
// address without calling it (it implements OptionsAsker). Added within
// v1 for `cusax audit-contacts`: an older plugin answers the RPC
// Unimplemented, seen as ErrUnsupported, and an older host ignores the
// unknown capability.
const CapOptions Capability = "options"

// OptionsAsker is an optional TelephonySession feature (CapOptions): one
// OPTIONS request (RFC 3261 §11) through the account's proxy. It never
// sends an INVITE, so nobody's phone rings.
type OptionsAsker interface {
	// Options sends OPTIONS to target (a sip: or sips: URI) through the
	// account's proxy, answers digest challenges with the account's
	// credentials (as for INVITE), and returns the final response. Any
	// final status is a result, not an error: 404 (unknown user) and 480
	// (known, not registered) are what a caller wants to learn. No
	// Register is needed first.
	//
	// Errors: ErrInvalid (target not a SIP URI, or with CR, LF or NUL),
	// ErrInsecure (a sips: target over a flow without TLS), ErrAuth
	// (challenged again after answering: wrong credentials), ErrTimeout or
	// ErrUnreachable (no final response), ErrCertificate,
	// ErrNotConnected (session closed).
	Options(ctx context.Context, target string) (OptionsResult, error)
}

// OptionsResult is the final response to an OPTIONS request.
type OptionsResult struct {
	StatusCode int    `json:"status_code"`
	Reason     string `json:"reason"`
	// Media lists the media types ("audio", "video") of the SDP body of a
	// 2xx (RFC 3261 §11.2: the capabilities the answerer would offer);
	// nil when the response carried no SDP, so nothing is known.
	Media []string `json:"media,omitempty"`
	// Allow is the response's Allow header, split on commas.
	Allow []string `json:"allow,omitempty"`
}
