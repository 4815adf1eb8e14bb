package xmpp

import (
	"context"
	"time"
)

// writeGrace is how long a context handed to mellium outlives the
// caller's deadline.
const writeGrace = 5 * time.Second

// writeCtx returns the context to hand to mellium's send methods (Send,
// Encode, SendIQElement, roster.Fetch) instead of ctx.
//
// mellium v0.22 arms a goroutine for each write (session.go
// setWriteDeadline) that sets the connection's write deadline in the past
// when it sees ctx done. It races with the end of the write: when ctx is
// cancelled right after a write succeeded (a deferred cancel, or a gRPC
// call's context ending with the call) the goroutine may still see it and
// fail the NEXT write, whoever makes it, with "i/o timeout". That stopped
// `chat --lines` after a few hundred messages sent in a row, and would
// hit the XEP-0198 acknowledgements. The context returned here is never
// cancelled: it ends only at ctx's deadline (or defaultRequestTimeout)
// plus writeGrace, long after the write's goroutine is gone. Callers still
// stop waiting when ctx ends; a write that is stuck then ends at this
// deadline or when the session closes the connection.
func writeCtx(ctx context.Context) context.Context {
	d := defaultRequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	d += writeGrace
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	time.AfterFunc(d, cancel) // the same moment: only releases the timer
	return wctx
}
