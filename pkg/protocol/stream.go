package protocol

// Stream delivers a sequence of values from a long-lived subscription
// (incoming messages, presence, incoming calls, call progress).
//
// Recv blocks until the next value, returning io.EOF when the stream ended
// normally and ctx.Err() (or an error wrapping a sentinel) otherwise. Cancel
// the context passed to the method that opened the stream to end it; Close
// releases it early and is safe to call more than once.
type Stream[T any] interface {
	Recv() (T, error)
	Close() error
}
