package session

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SentChat is what the agent did with a one-liner's message (SendChat).
type SentChat struct {
	To          string // the JID the contact resolved to
	NotInRoster bool
	// ContactError: the contact did not resolve (a usage error); nothing
	// was sent.
	ContactError string
}

// SendChat sends body to contact on the agent's live chat session of the
// account whose JID is address, in one round trip (the agent resolves the
// contact against its roster: agentapi SendChat). ok is false when the
// agent was not used — no agent, one that is ignored (noted as Lend
// notes it), one that does not keep this account or predates SendChat —
// and the caller then goes the usual way, which says the same things it
// would have said without this call. err is the send's failure, with its
// sentinel, exactly as a lease's Send would return it.
func (s *AgentSource) SendChat(ctx context.Context, address, contact, body string) (sent SentChat, ok bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, agentAsk)
	conn, derr := s.Dial(dctx)
	cancel()
	if derr != nil {
		if IgnoredAgent(derr, s.Socket) {
			s.ignore(derr)
		}
		return SentChat{}, false, nil
	}
	defer conn.Close()
	// Said before the call: during an outage the agent holds it until its
	// session is back.
	s.log().Debug("using the agent's live session (SendChat: one round trip)", "kind", protocol.KindIMPP, "address", address, "socket", s.Socket)
	r, err := agentapi.NewAgentClient(conn).SendChat(ctx, &agentapi.SendChatRequest{Address: address, Contact: contact, Body: body})
	switch {
	case status.Code(err) == codes.Unimplemented:
		s.log().Debug("the agent predates SendChat; leasing", "socket", s.Socket)
		return SentChat{}, false, nil
	case err != nil && ctx.Err() != nil:
		// As leaseTimeout says it: the agent keeps the session, and it did
		// not come back in time.
		return SentChat{}, true, fmt.Errorf("the agent's session of %s did not come back in time (the agent is reconnecting): %w", address, protocol.ErrTimeout)
	case err != nil:
		// The agent went away mid-call: the message may or may not have
		// gone, as with a lease whose agent died.
		return SentChat{}, true, fmt.Errorf("agent at %s: %v: %w", s.Socket, status.Convert(err).Message(), protocol.ErrNotConnected)
	case r.GetFallback() != "":
		s.log().Debug("the agent did not send; logging in directly", "why", r.GetFallback())
		return SentChat{}, false, nil
	}
	sent = SentChat{To: r.GetTo(), NotInRoster: r.GetNotInRoster(), ContactError: r.GetContactError()}
	if r.GetError() != "" {
		return sent, true, &agentError{msg: r.GetError(), sentinel: protocol.Sentinels[r.GetErrorSentinel()]}
	}
	return sent, true, nil
}

// agentError is an error the agent reported: its text, and its sentinel
// for errors.Is (nil when it had none, or one this client does not know).
type agentError struct {
	msg      string
	sentinel error
}

func (e *agentError) Error() string { return e.msg }
func (e *agentError) Unwrap() error { return e.sentinel }
