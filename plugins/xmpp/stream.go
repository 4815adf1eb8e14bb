package xmpp

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
)

// streamBuffer is how many values one stream holds for a reader that has
// not called Recv yet. Past it, new values for that stream are dropped and
// counted: the session's single reader (mellium's Serve loop, which also
// delivers every IQ response) must never wait for a slow consumer.
const streamBuffer = 256

// hub fans values out to every open stream of one kind (messages,
// presences). publish never blocks.
type hub[T any] struct {
	kind string // "message", "presence": for logs
	log  hclog.Logger

	mu     sync.Mutex
	subs   map[*subStream[T]]struct{}
	ended  bool
	endErr error // io.EOF or an error wrapping ErrNotConnected
}

func newHub[T any](kind string, log hclog.Logger) *hub[T] {
	return &hub[T]{kind: kind, log: log, subs: map[*subStream[T]]struct{}{}}
}

// subscribe opens a stream that receives every value published from now on
// until ctx ends, the stream is closed, or the session ends.
func (h *hub[T]) subscribe(ctx context.Context) (*subStream[T], error) {
	st := &subStream[T]{hub: h, ctx: ctx, ch: make(chan T, streamBuffer), done: make(chan struct{})}
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

// publish hands v to every stream without waiting; a full stream drops it.
func (h *hub[T]) publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.subs {
		select {
		case st.ch <- v:
		default:
			if n := st.dropped.Add(1); n == 1 || n%100 == 0 {
				h.log.Warn("stream reader too slow: dropping", "stream", h.kind, "dropped", n)
			}
		}
	}
}

// end ends every stream (after what they buffered) with err, and refuses
// new ones.
func (h *hub[T]) end(err error) {
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
	ch      chan T
	dropped atomic.Uint64
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
		return v, nil
	default:
	}
	select {
	case v := <-st.ch:
		return v, nil
	case <-st.done:
		var zero T
		if isCtxErr(st.err) {
			return zero, st.err
		}
		// Closed or ended by the server: first what arrived before.
		select {
		case v := <-st.ch:
			return v, nil
		default:
			return zero, st.err
		}
	}
}

// Close ends the stream; Recv then returns what was buffered, then io.EOF.
// It is safe to call more than once.
func (st *subStream[T]) Close() error {
	st.stopCtx()
	st.finish(io.EOF)
	return nil
}

// Dropped reports how many values this stream dropped because its reader
// was too slow. In process, callers reach it through
// interface{ Dropped() uint64 }; over gRPC the count is only logged.
func (st *subStream[T]) Dropped() uint64 { return st.dropped.Load() }

func isCtxErr(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}
