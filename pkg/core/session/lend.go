package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// A Lender is a Source that can also lend live sessions another process
// of the same user keeps connected (`cusax agent`, see AgentSource): Open
// takes a lent backend instead of starting a plugin, and no password is
// looked up for a lent aspect, since nothing logs in.
type Lender interface {
	Source
	// Lend returns a backend of kind whose Connect, with Address equal to
	// address, returns a lease on the live session of that address: a
	// lease's Close ends the lease only (the live session stays logged
	// in), Register reports the live registration (no new REGISTER) and
	// Unregister does nothing. Lend returns nil when nothing is lent for
	// address (no agent, an agent not trusted, or one that does not serve
	// it); the caller then logs in itself. Its Started has Lease set and
	// no process of its own.
	Lend(ctx context.Context, kind protocol.Kind, address string) *Started
}

// Lends reports whether src lends the live session of address for kind
// (see Lender): the caller then needs no password for that aspect.
func Lends(ctx context.Context, src Source, kind protocol.Kind, address string) bool {
	return lend(ctx, src, kind, address) != nil
}

func lend(ctx context.Context, src Source, kind protocol.Kind, address string) *Started {
	l, ok := src.(Lender)
	if !ok || address == "" {
		return nil
	}
	return l.Lend(ctx, kind, address)
}

// leaseTimeout names what a lease's deadline means: the agent keeps the
// session but it did not come back (the agent waits for a reconnecting
// aspect up to the caller's deadline) — the network's failure, as a fresh
// login's timeout would be (ErrTimeout), not a hung plugin (NoAnswer).
func leaseTimeout(ctx, dctx context.Context, err error, address string, d time.Duration) error {
	if err == nil || ctx.Err() != nil || !errors.Is(dctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("the agent's session of %s did not come back within %s (the agent is reconnecting): %w", address, d, protocol.ErrTimeout)
}
