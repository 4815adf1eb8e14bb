package session

import (
	"context"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"google.golang.org/grpc"
)

// speculation is a Connect sent to the agent before anyone asked for it,
// so that it travels with Status and Info (AgentSource.Lend). The first
// Connect for its kind and address takes its answer; if nobody does, the
// lease is closed, never left behind in the agent.
type speculation struct {
	kind    protocol.Kind
	address string
	cancel  context.CancelFunc
	done    chan struct{}
	closer  func(context.Context) error // the lease's Close, when one came
	sess    any
	err     error

	mu    sync.Mutex
	taken bool
}

func speculate(conn *grpc.ClientConn, kind protocol.Kind, address string) *speculation {
	// Bounded only by the caller who takes it (its ctx) or by drop.
	ctx, cancel := context.WithCancel(context.Background())
	sp := &speculation{kind: kind, address: address, cancel: cancel, done: make(chan struct{})}
	req := protocol.ConnectRequest{Address: address}
	go func() {
		defer close(sp.done)
		switch kind {
		case protocol.KindIMPP:
			s, err := cusaxv1.NewIMPPHost(conn).Connect(ctx, req)
			if err == nil {
				sp.sess, sp.closer = s, s.Close
			}
			sp.err = err
		case protocol.KindTelephony:
			s, err := cusaxv1.NewTelephonyHost(conn).Connect(ctx, req)
			if err == nil {
				sp.sess, sp.closer = s, s.Close
			}
			sp.err = err
		}
	}()
	return sp
}

// take hands the speculation to the first Connect for its kind and
// address; nil for any other (which then asks the agent itself).
func (sp *speculation) take(kind protocol.Kind, address string) *speculation {
	if sp == nil || sp.kind != kind || sp.address != address {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.taken {
		return nil
	}
	sp.taken = true
	return sp
}

// wait returns the speculation's answer, or ctx's error (the lease, if it
// comes later, is closed).
func (sp *speculation) wait(ctx context.Context) (any, error) {
	select {
	case <-sp.done:
		return sp.sess, sp.err
	case <-ctx.Done():
		sp.abandon()
		return nil, ctx.Err()
	}
}

// drop gives up an untaken speculation. With wait, it returns only once
// the lease, if one came, is closed (bounded by agentAsk): a process about
// to exit must not leave it open in the agent.
func (sp *speculation) drop(wait bool) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	taken := sp.taken
	sp.taken = true
	sp.mu.Unlock()
	if taken {
		return
	}
	if !wait {
		sp.abandon()
		return
	}
	select {
	case <-sp.done:
	case <-time.After(agentAsk):
		sp.cancel()
		<-sp.done
	}
	sp.cancel()
	if sp.closer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), agentAsk)
		defer cancel()
		_ = sp.closer(ctx)
	}
}

// abandon cancels the Connect and closes the lease should it arrive.
func (sp *speculation) abandon() {
	sp.cancel()
	go func() {
		<-sp.done
		if sp.closer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), agentAsk)
			defer cancel()
			_ = sp.closer(ctx)
		}
	}()
}

// lentIMPP is the agent's IMPP service whose first Connect may already
// be on its way (speculation).
type lentIMPP struct {
	protocol.IMPP
	spec *speculation
}

func (l *lentIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	if sp := l.spec.take(protocol.KindIMPP, req.Address); sp != nil {
		s, err := sp.wait(ctx)
		if err != nil {
			return nil, err
		}
		return s.(protocol.IMPPSession), nil
	}
	return l.IMPP.Connect(ctx, req)
}

// lentTelephony is lentIMPP for Telephony.
type lentTelephony struct {
	protocol.Telephony
	spec *speculation
}

func (l *lentTelephony) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	if sp := l.spec.take(protocol.KindTelephony, req.Address); sp != nil {
		s, err := sp.wait(ctx)
		if err != nil {
			return nil, err
		}
		return s.(protocol.TelephonySession), nil
	}
	return l.Telephony.Connect(ctx, req)
}
