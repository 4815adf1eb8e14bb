package protocol

import "errors"

// Sentinel errors. They cross the plugin boundary unchanged: a plugin that
// returns an error wrapping ErrAuth makes the host see an error wrapping
// ErrAuth (see pkg/protocol/proto/cusax/v1).
var (
	// ErrUnsupported: the plugin does not implement this operation.
	ErrUnsupported = errors.New("unsupported")
	// ErrNotFound: the addressed item (contact, vCard, room, user) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAuth: the server rejected the credentials.
	ErrAuth = errors.New("authentication failed")
	// ErrDenied: a policy refused the action.
	ErrDenied = errors.New("denied by policy")
	// ErrUnreachable: the server could not be reached (DNS, connect, reset).
	ErrUnreachable = errors.New("server unreachable")
	// ErrTimeout: the operation did not finish within its deadline.
	ErrTimeout = errors.New("timed out")
	// ErrCertificate: the server's certificate failed verification (unknown
	// CA, wrong identity, expired). Credentials are never sent after it.
	ErrCertificate = errors.New("certificate verification failed")
	// ErrInsecure: the connection could not be protected (TLS refused or
	// unavailable) and cleartext was not allowed, so nothing secret was sent.
	ErrInsecure = errors.New("connection not protected")
	// ErrProtocol: the peer violated the protocol or sent something unparseable.
	ErrProtocol = errors.New("protocol error")
	// ErrInvalid: the request itself is malformed (bad address, CR/LF in a header).
	ErrInvalid = errors.New("invalid request")
	// ErrNotConnected: the session is closed or was never established.
	ErrNotConnected = errors.New("not connected")
)

// Sentinels lists every sentinel with its stable wire name. The wire form
// carries the name, never the text, so renaming a message is not a break.
var Sentinels = map[string]error{
	"UNSUPPORTED":   ErrUnsupported,
	"NOT_FOUND":     ErrNotFound,
	"AUTH":          ErrAuth,
	"DENIED":        ErrDenied,
	"UNREACHABLE":   ErrUnreachable,
	"TIMEOUT":       ErrTimeout,
	"CERTIFICATE":   ErrCertificate,
	"INSECURE":      ErrInsecure,
	"PROTOCOL":      ErrProtocol,
	"INVALID":       ErrInvalid,
	"NOT_CONNECTED": ErrNotConnected,
	// Added within v1: an older host sees the message without a sentinel.
	"MEDIA_INSECURE": ErrMediaInsecure,
}

// SentinelName returns the wire name of the first sentinel err wraps, or "".
func SentinelName(err error) string {
	// A fixed order keeps the answer stable when an error wraps two sentinels.
	for _, name := range sentinelOrder {
		if errors.Is(err, Sentinels[name]) {
			return name
		}
	}
	return ""
}

var sentinelOrder = []string{
	"MEDIA_INSECURE", "CERTIFICATE", "INSECURE", "AUTH", "DENIED", "UNSUPPORTED", "NOT_FOUND",
	"TIMEOUT", "UNREACHABLE", "PROTOCOL", "INVALID", "NOT_CONNECTED",
}
