package xmpp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"mellium.im/xmpp/stream"

	"github.com/cusax/cusax/pkg/protocol"
)

// tlsRefusedError: the server did not let the client negotiate TLS after
// <starttls/> (it answered <failure/>, a stream error, or closed). Nothing
// secret was sent. It wraps protocol.ErrInsecure; with AllowPlaintext
// Connect retries without TLS.
type tlsRefusedError struct{ cause error }

func (e *tlsRefusedError) Error() string {
	return "TLS could not be negotiated: server refused STARTTLS (" + e.cause.Error() +
		"); no credentials were sent"
}

func (e *tlsRefusedError) Unwrap() []error { return []error{protocol.ErrInsecure, e.cause} }

// ctxError turns an ended ctx into ErrTimeout (deadline) or the context
// error (cancelled); nil while ctx is live.
func ctxError(ctx context.Context, timeout time.Duration, during string) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %s (%s): %w", timeout, during, protocol.ErrTimeout)
	default:
		return fmt.Errorf("%s: %w", during, err)
	}
}

// classify maps a negotiation error to the protocol sentinels. The order
// matters: a failed certificate aborts the handshake, and whatever mellium
// reports afterwards is only a consequence of that.
func (a *attempt) classify(ctx context.Context, err error) error {
	if a.verification.Err != nil {
		return a.verification.Err // wraps protocol.ErrCertificate
	}
	if cerr := ctxError(ctx, a.p.timeout, a.phase); cerr != nil {
		return cerr
	}
	if a.startTLSErr != nil {
		return &tlsRefusedError{cause: a.startTLSErr}
	}
	if protocol.SentinelName(err) != "" {
		return err // ours: SASL failures, no common mechanism, …
	}
	if a.phase == "tls handshake" && !a.verification.Verified {
		// The server said <proceed/> but the handshake failed for another
		// reason than the certificate (no common version or cipher, …).
		return fmt.Errorf("TLS handshake failed: %w: %w", err, protocol.ErrInsecure)
	}
	var se stream.Error
	if errors.As(err, &se) {
		return fmt.Errorf("stream error from server during %s: %w: %w", a.phase, err, protocol.ErrProtocol)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The connection deadline is the ctx deadline; it may fire a moment
		// before ctx reports it.
		return fmt.Errorf("no answer within %s (%s): %w", a.p.timeout, a.phase, protocol.ErrTimeout)
	}
	if isClosed(err) {
		return fmt.Errorf("server closed the connection during %s: %w: %w", a.phase, err, protocol.ErrUnreachable)
	}
	return fmt.Errorf("%s: %w: %w", a.phase, err, protocol.ErrProtocol)
}

// isClosed reports whether err means the connection went away.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		// encoding/xml reports a truncated stream as a SyntaxError.
		strings.Contains(err.Error(), "unexpected EOF")
}
