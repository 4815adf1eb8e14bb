package fake

import (
	"context"
	"io"
	"sync"
)

// stream is an unbounded in-memory protocol.Stream: the fake never drops a
// value (the contract forbids it) and never makes its producer wait.
type stream[T any] struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []T
	closed bool
	err    error // returned once the queue is empty and the stream closed
}

// newStream returns a stream that ends with ctx.Err() when ctx ends.
func newStream[T any](ctx context.Context) *stream[T] {
	s := &stream[T]{}
	s.cond = sync.NewCond(&s.mu)
	go func() {
		<-ctx.Done()
		s.end(ctx.Err())
	}()
	return s
}

// push queues v; false when the stream was closed.
func (s *stream[T]) push(v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.queue = append(s.queue, v)
	s.cond.Broadcast()
	return true
}

// end closes the stream: what is queued is still delivered, then err (io.EOF
// for a normal end).
func (s *stream[T]) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	s.cond.Broadcast()
}

func (s *stream[T]) Recv() (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.closed {
		s.cond.Wait()
	}
	var zero T
	if len(s.queue) > 0 {
		v := s.queue[0]
		s.queue = s.queue[1:]
		return v, nil
	}
	if s.err == nil {
		return zero, io.EOF
	}
	return zero, s.err
}

func (s *stream[T]) Close() error {
	s.end(io.EOF)
	return nil
}
