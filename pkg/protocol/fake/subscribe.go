package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cusax/cusax/pkg/protocol"
)

// SubscriptionEvent is a subscription request or approval sent through
// the service.
type SubscriptionEvent struct {
	From string // the sender's bare address
	To   string // the contact's bare address
	Type string // "subscribe" or "subscribed"
}

// ActivityEvent is an activity published through the service.
type ActivityEvent struct {
	Account  string // bare address
	Activity protocol.Activity
}

// Subscriptions returns the subscription requests and approvals sent, in
// order.
func (s *Service) Subscriptions() []SubscriptionEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SubscriptionEvent(nil), s.subscriptions...)
}

// Activities returns the activities published, in order (the zero
// Activity is a retraction).
func (s *Service) Activities() []ActivityEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ActivityEvent(nil), s.activities...)
}

var (
	_ protocol.PresenceSubscriber = (*imppSession)(nil)
	_ protocol.ActivityPublisher  = (*imppSession)(nil)
)

// Subscribe records the request and hands the contact's open sessions a
// presence of type subscribe (RFC 6121 §3.1.3).
func (s *imppSession) Subscribe(_ context.Context, jid string) error {
	return s.subscription(jid, "subscribe")
}

// ApproveSubscription records the approval and updates both rosters as
// the server would (RFC 6121 §3.1.5, §3.1.6): the contact gains "to",
// the user "from".
func (s *imppSession) ApproveSubscription(_ context.Context, jid string) error {
	return s.subscription(jid, "subscribed")
}

func (s *imppSession) subscription(jid, typ string) error {
	if err := s.has(protocol.CapSubscribe); err != nil {
		return err
	}
	if err := checkText(jid); err != nil {
		return err
	}
	bare, _, _ := strings.Cut(jid, "/")
	if bare == "" || strings.Count(bare, "@") > 1 || strings.HasPrefix(bare, "@") || strings.HasSuffix(bare, "@") {
		return fmt.Errorf("jid %q: %w", jid, protocol.ErrInvalid)
	}
	me := key(s.acct.Address)
	if key(bare) == me {
		return fmt.Errorf("jid %q is the account itself: %w", jid, protocol.ErrInvalid)
	}
	s.b.svc.mu.Lock()
	s.b.svc.subscriptions = append(s.b.svc.subscriptions, SubscriptionEvent{From: me, To: key(bare), Type: typ})
	if typ == "subscribed" {
		addSub(s.acct, key(bare), "from")
		if other, ok := s.b.svc.accounts[key(bare)]; ok {
			addSub(other, me, "to")
		}
	}
	s.b.svc.mu.Unlock()
	s.b.svc.PublishPresence(bare, protocol.Presence{From: me, Type: typ})
	return nil
}

// addSub adds half ("to" or "from") to a's subscription to jid.
func addSub(a *Account, jid, half string) {
	for i, it := range a.Roster {
		if key(it.JID) != jid {
			continue
		}
		switch it.Subscription {
		case half, "both":
		case "to", "from":
			a.Roster[i].Subscription = "both"
		default:
			a.Roster[i].Subscription = half
		}
		return
	}
	a.Roster = append(a.Roster, protocol.RosterItem{JID: jid, Subscription: half})
}

// PublishActivity records a.
func (s *imppSession) PublishActivity(_ context.Context, a protocol.Activity) error {
	if err := s.has(protocol.CapActivity); err != nil {
		return err
	}
	if err := checkText(a.General, a.Specific, a.Text); err != nil {
		return err
	}
	if a.General == "" && a.Specific != "" {
		return fmt.Errorf("activity without a general category: %w", protocol.ErrInvalid)
	}
	s.b.svc.mu.Lock()
	s.b.svc.activities = append(s.b.svc.activities, ActivityEvent{Account: key(s.acct.Address), Activity: a})
	s.b.svc.mu.Unlock()
	return nil
}

var _ protocol.PresenceView = (*imppSession)(nil)

// remember keeps p for KnownPresences; s.b.svc.mu is held.
func (s *imppSession) remember(p protocol.Presence) {
	switch p.Type {
	case "", "available":
		if s.known == nil {
			s.known = map[string]protocol.Presence{}
		}
		s.known[p.From] = p
	case "unavailable", "error":
		delete(s.known, p.From)
	}
}

// KnownPresences returns the available presences handed to this session
// (PublishPresence) and not withdrawn, sorted by From.
func (s *imppSession) KnownPresences(context.Context) (protocol.PresenceSnapshot, error) {
	if err := s.has(protocol.CapPresenceView); err != nil {
		return protocol.PresenceSnapshot{}, err
	}
	s.b.svc.mu.Lock()
	defer s.b.svc.mu.Unlock()
	out := protocol.PresenceSnapshot{Online: s.online, Presences: []protocol.Presence{}}
	for _, p := range s.known {
		out.Presences = append(out.Presences, p)
	}
	slices.SortFunc(out.Presences, func(a, b protocol.Presence) int { return strings.Compare(a.From, b.From) })
	return out, nil
}
