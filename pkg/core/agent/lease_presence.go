package agent

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/protocol"
)

// The lease forwards the optional presence features of the live session
// (protocol.PresenceSubscriber, protocol.ActivityPublisher), so that
// `roster subscribe|approve` and the on-the-phone activity work through
// the agent as without it.
var (
	_ protocol.PresenceSubscriber = (*imppLease)(nil)
	_ protocol.ActivityPublisher  = (*imppLease)(nil)
)

func (l *imppLease) Subscribe(ctx context.Context, jid string) error {
	_, err := do(ctx, l.c, func(s protocol.IMPPSession) (struct{}, error) {
		ps, ok := s.(protocol.PresenceSubscriber)
		if !ok {
			return struct{}{}, fmt.Errorf("presence subscription: %w", protocol.ErrUnsupported)
		}
		return struct{}{}, ps.Subscribe(ctx, jid)
	})
	return err
}

func (l *imppLease) ApproveSubscription(ctx context.Context, jid string) error {
	_, err := do(ctx, l.c, func(s protocol.IMPPSession) (struct{}, error) {
		ps, ok := s.(protocol.PresenceSubscriber)
		if !ok {
			return struct{}{}, fmt.Errorf("presence subscription: %w", protocol.ErrUnsupported)
		}
		return struct{}{}, ps.ApproveSubscription(ctx, jid)
	})
	return err
}

func (l *imppLease) PublishActivity(ctx context.Context, a protocol.Activity) error {
	_, err := do(ctx, l.c, func(s protocol.IMPPSession) (struct{}, error) {
		ap, ok := s.(protocol.ActivityPublisher)
		if !ok {
			return struct{}{}, fmt.Errorf("activity: %w", protocol.ErrUnsupported)
		}
		return struct{}{}, ap.PublishActivity(ctx, a)
	})
	return err
}

var _ protocol.PresenceView = (*imppLease)(nil)

// KnownPresences is the live session's view (roster --presence through
// the agent reads it: no wait, and the user's presence is left alone).
func (l *imppLease) KnownPresences(ctx context.Context) (protocol.PresenceSnapshot, error) {
	return do(ctx, l.c, func(s protocol.IMPPSession) (protocol.PresenceSnapshot, error) {
		pv, ok := s.(protocol.PresenceView)
		if !ok {
			return protocol.PresenceSnapshot{}, fmt.Errorf("presence view: %w", protocol.ErrUnsupported)
		}
		return pv.KnownPresences(ctx)
	})
}
