package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// sipError is an error whose text is exactly msg (no ": authentication
// failed" tail) but which wraps a protocol sentinel and, when there is one,
// the cause.
type sipError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *sipError) Error() string { return e.msg }

func (e *sipError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}

func newError(sentinel, cause error, format string, args ...any) error {
	return &sipError{msg: fmt.Sprintf(format, args...), sentinel: sentinel, cause: cause}
}

// errRefused is reported by a connected UDP socket that got ICMP port
// unreachable (RFC 1122 §4.1.3.3 passes ICMP errors to the application).
var errRefused = errors.New("ICMP port unreachable")

// classify maps a transport, TLS or transaction error to the protocol
// sentinel it belongs to. Errors that already wrap a sentinel keep it.
func classify(err error) error {
	var se *sipError
	if errors.As(err, &se) {
		return err
	}
	for _, s := range []error{protocol.ErrCertificate, protocol.ErrUnreachable, protocol.ErrTimeout, protocol.ErrInsecure} {
		if errors.Is(err, s) {
			return &sipError{msg: err.Error(), sentinel: s, cause: err}
		}
	}
	var (
		dnsErr *net.DNSError
		recErr tls.RecordHeaderError
		alert  tls.AlertError
		netErr net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, gosip.ErrTransactionTimeout):
		return &sipError{msg: "no response: " + err.Error(), sentinel: protocol.ErrTimeout, cause: err}
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, errRefused), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &dnsErr):
		return &sipError{msg: err.Error(), sentinel: protocol.ErrUnreachable, cause: err}
	case errors.As(err, &recErr):
		return &sipError{msg: "the server does not speak TLS: " + err.Error(), sentinel: protocol.ErrInsecure, cause: err}
	case errors.As(err, &alert):
		return &sipError{msg: "TLS handshake refused: " + err.Error(), sentinel: protocol.ErrInsecure, cause: err}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &sipError{msg: err.Error(), sentinel: protocol.ErrTimeout, cause: err}
	}
	return &sipError{msg: err.Error(), sentinel: protocol.ErrUnreachable, cause: err}
}

// reason is the short cause of a transport error: "connection refused"
// rather than sipgo's "Transport<TCP> dial err=dial tcp <nil>->…: connect:
// connection refused".
func reason(err error) string {
	if errors.Is(err, errRefused) {
		return "ICMP port unreachable (nothing listens there)"
	}
	if errors.Is(err, gosip.ErrTransactionTransport) && strings.Contains(err.Error(), "connection closed") {
		return "the server closed the connection"
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err.Error()
	}
	return err.Error()
}
