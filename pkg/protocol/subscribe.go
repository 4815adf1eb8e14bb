package protocol

import "context"

// IMPP capabilities of the optional presence features below.
const (
	// CapSubscribe: the session is a PresenceSubscriber.
	CapSubscribe Capability = "presence-subscribe"
	// CapActivity: the session is an ActivityPublisher.
	CapActivity Capability = "activity-publish"
)

// PresenceSubscriber is an optional IMPPSession feature: presence
// subscription management (RFC 6121 §3). Without a subscription to a
// contact's presence ("to" or "both", RFC 6121 §2.1.2.1) nothing tells us
// whether the contact is online.
type PresenceSubscriber interface {
	// Subscribe asks jid for a subscription to its presence (RFC 6121
	// §3.1.1: a presence of type "subscribe" to the bare JID). It returns
	// once the request is sent; the contact's answer comes later as a
	// presence of type "subscribed" or "unsubscribed". Errors: ErrInvalid
	// for a bad JID, ErrNotConnected, ErrTimeout.
	Subscribe(ctx context.Context, jid string) error
	// ApproveSubscription lets jid see the user's presence (RFC 6121
	// §3.1.4: a presence of type "subscribed"): it answers a pending
	// request, or pre-approves one to come (§3.4). Errors as Subscribe.
	ApproveSubscription(ctx context.Context, jid string) error
}

// Activity is an XEP-0108 user activity: General is one of the §2.1
// categories (e.g. "talking"), Specific one of its specific activities
// (e.g. "on_the_phone") or "", Text a free note. The zero Activity means
// "no activity" (XEP-0108 §5: an empty <activity/> stops it).
type Activity struct {
	General  string `json:"general,omitempty"`
	Specific string `json:"specific,omitempty"`
	Text     string `json:"text,omitempty"`
}

// ActivityPublisher is an optional IMPPSession feature: publishing the
// user's activity to contacts (XEP-0108 over PEP, XEP-0163).
type ActivityPublisher interface {
	// PublishActivity publishes a (the zero Activity retracts it, XEP-0108
	// §5). Errors: ErrInvalid for an unknown category, ErrUnsupported when
	// the server has no PEP, ErrDenied, ErrNotConnected, ErrTimeout.
	PublishActivity(ctx context.Context, a Activity) error
}

// CapPresenceView: the session is a PresenceView.
const CapPresenceView Capability = "presence-view"

// PresenceView is an optional IMPPSession feature: the presence the
// session has received so far, so that a session online for a while (the
// one `cusax agent` keeps) tells who is online at once, without a
// presence of its own (which would change the user's) and without waiting.
type PresenceView interface {
	// KnownPresences returns the last available presence of every full
	// JID that has not gone unavailable since (RFC 6121 §4.4.2; room
	// occupants included). Online is false until the session's own
	// available presence went out: before it the server sends none
	// (RFC 6121 §4.2.2), so an empty list would mean nothing.
	KnownPresences(ctx context.Context) (PresenceSnapshot, error)
}

// PresenceSnapshot is what a PresenceView knows.
type PresenceSnapshot struct {
	Online    bool       `json:"online"`
	Presences []Presence `json:"presences"`
}
