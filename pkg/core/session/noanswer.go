package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
)

// deadlineSlack is how close to the host's deadline an error counts as
// that deadline.
const deadlineSlack = 250 * time.Millisecond

// NoAnswer tells a plugin that did not answer from a server that did not.
// The host gives a backend its own network timeout plus a margin; a backend
// that times out answers within it with its precise error (exit 7). When
// the host's deadline (dctx) passed first while the caller's ctx still
// runs, the plugin is hung: that is a plugin failure (exit 6), not the
// network's. Otherwise err is returned as it is.
func NoAnswer(ctx, dctx context.Context, err error, kind protocol.Kind, name, op string, d time.Duration) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	// gRPC sends the deadline along (grpc-timeout), so the plugin's side
	// may end the call ("RST_STREAM … CANCEL") a moment before our timer
	// fires: an error that close to the deadline is the deadline.
	if dl, ok := dctx.Deadline(); ok && time.Until(dl) < deadlineSlack {
		<-dctx.Done()
	}
	if !errors.Is(dctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("plugin %s/%s did not answer %s within %s: %w", kind, name, op, d, pluginhost.ErrFailed)
}
