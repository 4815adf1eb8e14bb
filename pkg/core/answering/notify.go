package answering

import (
	"context"

	"github.com/cusax/cusax/pkg/protocol"
)

// ChatNotifier sends the notification as a chat message to To over the
// account's XMPP session, which Session opens once (the session the judge
// uses for the roster).
type ChatNotifier struct {
	To      string
	Session func() (protocol.IMPPSession, error)
}

// Notify implements Notifier.
func (n ChatNotifier) Notify(ctx context.Context, text string) error {
	s, err := n.Session()
	if err != nil {
		return err
	}
	return s.Send(ctx, protocol.Message{To: n.To, Type: "chat", Body: text})
}
