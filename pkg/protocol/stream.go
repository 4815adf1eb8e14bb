package protocol

import "context"

// Stream delivers a sequence of values from a long-lived subscription
// (incoming messages, presence, incoming calls, call progress).
//
// Recv blocks until the next value, returning io.EOF when the stream ended
// normally and ctx.Err() (or an error wrapping a sentinel) otherwise. Cancel
// the context passed to the method that opened the stream to end it; Close
// releases it early and is safe to call more than once.
//
// A backend never drops a value because its reader is slow: a stream holds
// a bounded number of values and then makes the backend wait (for XMPP, the
// server then waits on TCP). A reader must therefore keep calling Recv, or
// Close the stream, for the session to go on.
type Stream[T any] interface {
	Recv() (T, error)
	Close() error
}

// AckedMessages is an optional IMPPSession feature: a message stream with
// delivery acknowledged by its consumer. A message counts as delivered to
// the server only once the consumer called AckMessage with its Seq (for
// XMPP, XEP-0198 stream management: the acknowledged count 'h' stops at the
// first message not acknowledged). Messages never acknowledged are
// redelivered by the server after the session ends (XMPP: to the next
// session, through offline storage), so a consumer that dies, or stops
// after --count messages, loses nothing it did not show.
type AckedMessages interface {
	// AckedMessages is Messages with consumer acknowledgement. It returns
	// ErrUnsupported when the server offers no acknowledgement (XMPP: no
	// stream management); use Messages then.
	AckedMessages(ctx context.Context) (Stream[Message], error)
	// AckMessage acknowledges the message with this Seq (from an
	// AckedMessages stream): the consumer took it (printed it, stored it).
	// Acknowledging a Seq twice, or one never delivered, is harmless.
	AckMessage(ctx context.Context, seq uint64) error
}
