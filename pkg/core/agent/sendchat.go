package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
)

// SendChat is `cusax chat CONTACT MESSAGE` in one round trip (issue 17: a
// one-liner through the agent in a few milliseconds). It does what the
// command does over a lease — the roster from the agent's live copy, the
// contact resolved as `chat` resolves it (pkg/contacts), Send with the
// same delay stamp after a reconnect — on a lease of its own, closed
// before it answers. Outcomes travel in the response, not as gRPC errors,
// so that the client exits exactly as without the agent.
func (c *control) SendChat(ctx context.Context, req *agentapi.SendChatRequest) (*agentapi.SendChatResponse, error) {
	served := false
	for _, acc := range c.a.accounts {
		if acc.chat != nil && sameAddress(acc.chat.req.Address, req.GetAddress()) {
			served = true
		}
	}
	if !served {
		return &agentapi.SendChatResponse{Fallback: "the agent keeps no chat session for " + req.GetAddress()}, nil
	}
	sess, err := (&leaseIMPP{a: c.a}).Connect(ctx, protocol.ConnectRequest{Address: req.GetAddress()})
	if err != nil {
		return sendChatError(err), nil
	}
	defer func() { _ = sess.Close(context.WithoutCancel(ctx)) }()
	if sess.Report().TLS == nil {
		// Only a command's own --allow-plaintext may send in the clear,
		// with its warning: that is the full path's to say.
		return &agentapi.SendChatResponse{Fallback: "the agent's session is not over TLS"}, nil
	}
	items, err := sess.Roster(ctx)
	if err != nil && !errors.Is(err, protocol.ErrUnsupported) {
		return sendChatError(fmt.Errorf("roster: %w", err)), nil
	}
	entries := make([]contacts.Entry, 0, len(items))
	inRoster := map[string]bool{}
	for _, it := range items {
		entries = append(entries, contacts.Entry{JID: it.JID, Name: it.Name})
		inRoster[strings.ToLower(it.JID)] = true
	}
	e, err := contacts.Resolve(entries, req.GetContact())
	if err != nil {
		return &agentapi.SendChatResponse{ContactError: err.Error()}, nil
	}
	r := &agentapi.SendChatResponse{To: e.JID, NotInRoster: !inRoster[strings.ToLower(e.JID)]}
	if err := sess.Send(ctx, protocol.Message{To: e.JID, Type: "chat", Body: req.GetBody()}); err != nil {
		s := sendChatError(err)
		s.To, s.NotInRoster = r.To, r.NotInRoster
		return s, nil
	}
	return r, nil
}

// sendChatError carries err's text and sentinel to the client.
func sendChatError(err error) *agentapi.SendChatResponse {
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, protocol.ErrTimeout) {
		err = fmt.Errorf("%w: %w", err, protocol.ErrTimeout)
	}
	return &agentapi.SendChatResponse{Error: err.Error(), ErrorSentinel: protocol.SentinelName(err)}
}
