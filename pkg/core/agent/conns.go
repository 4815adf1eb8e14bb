package agent

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/stats"
)

// conns ends the leases of a client connection when that connection
// closes. A one-liner killed mid-way (kill -9, OOM) never sends Close:
// without this its leases, and their streams, would stay for as long as
// the agent runs — an open IncomingCalls stream would even keep the agent
// from answering calls 480. It is a gRPC stats handler: TagConn gives
// every accepted connection its own record (the RPCs on it carry it in
// their ctx), ConnEnd closes the leases it holds.
type conns struct {
	open atomic.Int64 // leases open, for Status
}

type connKey struct{}

// connLeases are the leases opened on one client connection.
type connLeases struct {
	mu     sync.Mutex
	leases map[*leaseEnd]struct{}
	closed bool
}

// leaseEnd is embedded in every lease: it ties the lease to the connection
// that opened it and to the socket server's registry.
type leaseEnd struct {
	c     *conns
	cl    *connLeases // nil when not opened over the socket
	close func(context.Context) error

	mu     sync.Mutex
	forget func()
	done   atomic.Bool
}

// SetForget implements cusaxv1.Forgettable: f drops the lease from the
// server's session registry. A lease that already ended (its connection
// closed as Connect answered) is dropped at once — from another
// goroutine: SetForget runs under the registry's lock.
func (e *leaseEnd) SetForget(f func()) {
	e.mu.Lock()
	e.forget = f
	e.mu.Unlock()
	if e.done.Load() {
		go f()
	}
}

// finish runs once, from the lease's Close: the lease is no longer the
// connection's, nor counted, nor in the registry.
func (e *leaseEnd) finish() {
	e.mu.Lock()
	if e.done.Swap(true) {
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	if e.cl != nil {
		e.cl.mu.Lock()
		delete(e.cl.leases, e)
		e.cl.mu.Unlock()
	}
	e.c.open.Add(-1)
	e.mu.Lock()
	f := e.forget
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// track records a new lease, closed by closeFn, on the connection of ctx
// (the Connect RPC's). bind hands the lease its end before the end is
// registered: a connection that closes at once ends the lease (closeFn)
// from another goroutine, which must find it bound. A lease opened on a
// connection already gone ends at once.
func (c *conns) track(ctx context.Context, closeFn func(context.Context) error, bind func(*leaseEnd)) *leaseEnd {
	e := &leaseEnd{c: c, close: closeFn}
	bind(e)
	c.open.Add(1)
	cl, _ := ctx.Value(connKey{}).(*connLeases)
	if cl == nil {
		return e // called in directly (tests), not over the socket
	}
	e.cl = cl
	cl.mu.Lock()
	gone := cl.closed
	if !gone {
		cl.leases[e] = struct{}{}
	}
	cl.mu.Unlock()
	if gone {
		go endLease(e)
	}
	return e
}

func (c *conns) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey{}, &connLeases{leases: map[*leaseEnd]struct{}{}})
}

func (c *conns) HandleConn(ctx context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnEnd); !ok {
		return
	}
	cl, _ := ctx.Value(connKey{}).(*connLeases)
	if cl == nil {
		return
	}
	cl.mu.Lock()
	cl.closed = true
	ends := make([]*leaseEnd, 0, len(cl.leases))
	for e := range cl.leases {
		ends = append(ends, e)
	}
	cl.mu.Unlock()
	for _, e := range ends {
		go endLease(e)
	}
}

func (c *conns) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *conns) HandleRPC(context.Context, stats.RPCStats)                       {}

// endLease closes a lease whose client went away, bounded.
func endLease(e *leaseEnd) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = e.close(ctx)
}
