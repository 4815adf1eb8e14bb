package xmpp

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// Roster fetches the user's roster (RFC 6121 §2.1.3). The result is
// delivered by the session's Serve loop. Ask (pending subscription) is not
// reported: mellium's roster.Item does not carry it.
func (ss *session) Roster(ctx context.Context) ([]protocol.RosterItem, error) {
	if err := ss.alive(); err != nil {
		return nil, err
	}
	iter := roster.Fetch(writeCtx(ctx), ss.s)
	items := []protocol.RosterItem{}
	for iter.Next() {
		it := iter.Item()
		items = append(items, protocol.RosterItem{
			JID:          it.JID.String(),
			Name:         it.Name,
			Subscription: it.Subscription,
			Groups:       append([]string(nil), it.Group...),
		})
	}
	err := iter.Err()
	if cerr := iter.Close(); err == nil {
		err = cerr
	}
	var se stanza.Error
	if err == nil || errors.As(err, &se) {
		// The answer came, to mellium's iterator rather than our handler:
		// count it for XEP-0198 (see smAcks).
		ss.sm.counted()
	}
	if err != nil {
		if errors.As(err, &se) {
			return nil, fmt.Errorf("xmpp roster: %w", stanzaError(se))
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(cerr, context.DeadlineExceeded) {
				return nil, fmt.Errorf("xmpp roster: %w: %w", cerr, protocol.ErrTimeout)
			}
			return nil, fmt.Errorf("xmpp roster: %w", cerr)
		}
		return nil, fmt.Errorf("xmpp roster: %w", ss.ioError(err))
	}
	ss.log.Debug("roster fetched", "items", len(items), "version", iter.Version())
	return items, nil
}
