package xmpp

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
)

// streamBuffer and streamBytes bound what one stream holds for a reader
// that has not called Recv yet: values, and bytes of text. When a stream is
// full, publish waits for its reader: nothing is ever dropped. Waiting
// holds mellium's Serve loop, the session's single reader, so IQ answers
// wait too and the server's TCP send buffer fills (TCP backpressure; the
// server buffers or slows the senders). That is the price of losing
// nothing; an unbounded queue would only move the loss to an out-of-memory
// kill. The bounds are large so that a consumer busy with a request for a
// moment (a roster, a room join, sending --lines) does not stall the
// session; a consumer must still keep calling Recv, or Close its stream
// (protocol.Stream). What a stream holds is not acknowledged to the server
// before its consumer took it (AckedMessages), so it is not lost if we
// die.
const (
	streamBuffer = 4096
	streamBytes  = 8 << 20
)

// hub fans values out to every open stream of one kind (messages,
// presences).
type hub[T any] struct {
	kind string // "message", "presence": for logs
	log  hclog.Logger
	size func(T) int // bytes a value holds, for streamBytes

	halted   chan struct{} // closed by halt: publish stops waiting
	haltOnce sync.Once

	mu     sync.Mutex
	subs   map[*subStream[T]]struct{}
	ended  bool
	endErr error // io.EOF or an error wrapping ErrNotConnected
}

func newHub[T any](kind string, log hclog.Logger, size func(T) int) *hub[T] {
	return &hub[T]{kind: kind, log: log, size: size, subs: map[*subStream[T]]struct{}{}, halted: make(chan struct{})}
}

// subscribe opens a stream that receives every value published from now on
// until ctx ends, the stream is closed, or the session ends. With acked,
// values handed to it wait for the consumer's acknowledgement (publish
// reports them as held).
func (h *hub[T]) subscribe(ctx context.Context, acked bool) (*subStream[T], error) {
	st := &subStream[T]{hub: h, ctx: ctx, acked: acked, ch: make(chan T, streamBuffer), drained: make(chan struct{}, 1), done: make(chan struct{})}
	st.stopCtx = context.AfterFunc(ctx, func() { st.finish(ctx.Err()) })
	h.mu.Lock()
	if h.ended {
		err := h.endErr
		h.mu.Unlock()
		st.stopCtx()
		return nil, err
	}
	h.subs[st] = struct{}{}
	h.mu.Unlock()
	select {
	case <-st.done: // ctx had ended already: finish ran before we registered
		h.remove(st)
	default:
	}
	return st, nil
}

// publish hands v to every open stream, waiting while a stream is full
// (see streamBuffer) until its reader takes a value, the stream ends, or
// the hub is halted. taken reports whether any stream got v; held whether
// an acknowledged stream did (then v is handled only once acknowledged).
func (h *hub[T]) publish(v T) (taken, held bool) {
	h.mu.Lock()
	subs := make([]*subStream[T], 0, len(h.subs))
	for st := range h.subs {
		subs = append(subs, st)
	}
	h.mu.Unlock()
	n := int64(h.size(v))
	for _, st := range subs {
		if !st.put(v, n) {
			continue
		}
		taken = true
		held = held || st.acked
	}
	return taken, held
}

// put queues v (n bytes) on st, waiting while st is full; false when st
// ended or the hub was halted first. A halted hub (the session is closing,
// nobody will read) waits for no one: what an acknowledged stream did not
// take stays unacknowledged.
func (st *subStream[T]) put(v T, n int64) bool {
	h := st.hub
	for st.queued.Load() > streamBytes {
		h.log.Debug("stream reader is slow: waiting for it", "stream", h.kind, "bytes", st.queued.Load())
		select {
		case <-st.drained:
		case <-st.done:
			return false
		case <-h.halted:
			return false
		}
	}
	select {
	case st.ch <- v:
	default:
		h.log.Debug("stream reader is slow: waiting for it", "stream", h.kind, "values", len(st.ch))
		select {
		case st.ch <- v:
		case <-st.done:
			return false
		case <-h.halted:
			return false
		}
	}
	st.queued.Add(n)
	return true
}

// halt makes publish stop waiting for readers (the session is closing).
func (h *hub[T]) halt() { h.haltOnce.Do(func() { close(h.halted) }) }

// end ends every stream (after what they buffered) with err, and refuses
// new ones.
func (h *hub[T]) end(err error) {
	h.halt()
	h.mu.Lock()
	h.ended, h.endErr = true, err
	subs := h.subs
	h.subs = map[*subStream[T]]struct{}{}
	h.mu.Unlock()
	for st := range subs {
		st.stopCtx()
		st.finish(err)
	}
}

func (h *hub[T]) remove(st *subStream[T]) {
	h.mu.Lock()
	delete(h.subs, st)
	h.mu.Unlock()
}

// subStream is one protocol.Stream. Values buffered before it ended are
// still delivered (unless its ctx ended); then Recv returns the reason: io.EOF after Close (of the
// stream or the session), ctx.Err() when the opening ctx ended, or an
// error wrapping protocol.ErrNotConnected when the server ended the
// stream.
type subStream[T any] struct {
	hub     *hub[T]
	ctx     context.Context
	acked   bool
	ch      chan T
	queued  atomic.Int64  // bytes in ch (streamBytes)
	drained chan struct{} // signalled by Recv
	stopCtx func() bool

	once sync.Once
	done chan struct{}
	err  error // set before done is closed
}

var _ protocol.Stream[protocol.Message] = (*subStream[protocol.Message])(nil)

func (st *subStream[T]) finish(err error) {
	st.once.Do(func() {
		st.err = err
		close(st.done)
		st.hub.remove(st)
	})
}

// Recv returns the next value, blocking until there is one or the stream
// ended. A cancelled ctx ends the stream at once, buffered values or not.
func (st *subStream[T]) Recv() (T, error) {
	if err := st.ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	select {
	case v := <-st.ch:
		return st.took(v), nil
	default:
	}
	select {
	case v := <-st.ch:
		return st.took(v), nil
	case <-st.done:
		var zero T
		if isCtxErr(st.err) {
			return zero, st.err
		}
		// Closed or ended by the server: first what arrived before.
		select {
		case v := <-st.ch:
			return st.took(v), nil
		default:
			return zero, st.err
		}
	}
}

// took accounts for v leaving the queue and wakes a waiting publish.
func (st *subStream[T]) took(v T) T {
	st.queued.Add(-int64(st.hub.size(v)))
	select {
	case st.drained <- struct{}{}:
	default:
	}
	return v
}

// Close ends the stream; Recv then returns what was buffered, then io.EOF.
// It is safe to call more than once.
func (st *subStream[T]) Close() error {
	st.stopCtx()
	st.finish(io.EOF)
	return nil
}

func isCtxErr(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}
