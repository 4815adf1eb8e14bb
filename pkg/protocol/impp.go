package protocol

import (
	"context"
	"time"
)

// IMPP is an instant-messaging-and-presence backend (XMPP today). RFC 7081
// strategy 2: it carries everything but real-time media.
type IMPP interface {
	Describer
	// Connect logs in and returns a live session. Errors: ErrAuth,
	// ErrCertificate, ErrInsecure (TLS not possible and cleartext not
	// allowed: no credentials were sent), ErrUnreachable, ErrTimeout,
	// ErrInvalid.
	Connect(ctx context.Context, req ConnectRequest) (IMPPSession, error)
}

// IMPPSession is one logged-in IMPP connection. State stays inside the
// backend (the plugin process when served over gRPC).
type IMPPSession interface {
	// Report describes the connection as it was established.
	Report() ConnectionReport
	// Roster returns the user's roster (RFC 6121 §2).
	Roster(ctx context.Context) ([]RosterItem, error)
	// VCard fetches a contact's vCard: XEP-0292 first, then XEP-0054.
	// An empty jid means the user's own. ErrNotFound when there is none.
	VCard(ctx context.Context, jid string) (VCard, error)
	// SetPresence broadcasts the user's presence.
	SetPresence(ctx context.Context, p Presence) error
	// Presences streams presence received after the call.
	Presences(ctx context.Context) (Stream[Presence], error)
	// Send sends a message; Type "chat" to a JID or "groupchat" to a room.
	// A stanza error from the server is returned wrapping ErrNotFound,
	// ErrDenied or ErrProtocol, with the condition in the text.
	Send(ctx context.Context, m Message) error
	// Messages streams messages received after the call.
	Messages(ctx context.Context) (Stream[Message], error)
	// JoinRoom joins a MUC room (XEP-0045) and returns once joined.
	JoinRoom(ctx context.Context, j RoomJoin) (Room, error)
	// LeaveRoom leaves a room joined before.
	LeaveRoom(ctx context.Context, room string) error
	// DiscoInfo runs a disco#info query (XEP-0030, forms per XEP-0128).
	DiscoInfo(ctx context.Context, jid, node string) (DiscoInfo, error)
	// Reach returns a contact's XEP-0152 reachability addresses (PEP and
	// presence). They are hints only (RFC 7081 §3.3).
	Reach(ctx context.Context, jid string) ([]ReachAddress, error)
	// PublishReach publishes the user's own reachability addresses (PEP).
	PublishReach(ctx context.Context, addrs []ReachAddress) error
	// Close logs out. It is safe to call more than once.
	Close(ctx context.Context) error
}

// RosterItem is one roster entry (RFC 6121 §2.1.2).
type RosterItem struct {
	JID          string   `json:"jid"`
	Name         string   `json:"name,omitempty"`
	Subscription string   `json:"subscription"`
	Groups       []string `json:"groups,omitempty"`
	Ask          bool     `json:"ask,omitempty"`
}

// VCard carries a vCard as vCard 4 text (RFC 6350), so that any backend and
// any go-vcard consumer can share it without another wire schema.
type VCard struct {
	JID string `json:"jid"`
	// Text is the vCard in RFC 6350 text form.
	Text string `json:"text"`
	// Source is where it came from: "xep-0292" or "xep-0054".
	Source  string    `json:"source"`
	Fetched time.Time `json:"fetched"`
}

// Presence is one presence (RFC 6121 §4).
type Presence struct {
	From     string         `json:"from,omitempty"`
	Type     string         `json:"type,omitempty"` // "" (available), "unavailable", …
	Show     string         `json:"show,omitempty"` // away, chat, dnd, xa
	Status   string         `json:"status,omitempty"`
	Priority int            `json:"priority,omitempty"`
	Reach    []ReachAddress `json:"reach,omitempty"` // XEP-0152 presence extension
}

// Message is one message stanza.
type Message struct {
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Type   string `json:"type"` // chat, groupchat, normal, headline, error
	Body   string `json:"body"`
	Thread string `json:"thread,omitempty"`
	// Time is when the message was received (for Send: unused).
	Time time.Time `json:"time"`
	// Delay is when the sender says it was sent, when the message was
	// delayed (XEP-0203: offline storage, room history); zero otherwise.
	// It is the sender's claim, not the receive time. For Send: when set,
	// the message went out late (e.g. held by cusax agent during an
	// outage) and backends stamp it with this time (XEP-0203 §4).
	Delay time.Time `json:"delay,omitzero"`
	// Error is the stanza error condition for type "error".
	Error string `json:"error,omitempty"`
	// Seq identifies a received message for AckedMessages.AckMessage; 0
	// when the backend cannot acknowledge messages.
	Seq uint64 `json:"-"`
	// StableID is a received message's unique and stable id (XEP-0359):
	// the stanza-id the account's own server gave it (by = the account's
	// bare JID), else the sender's origin-id; empty when it has neither.
	// Unlike ID it survives the servers in between, so it tells a message
	// delivered again (from offline storage) from a new one.
	StableID string `json:"stable_id,omitempty"`
}

// RoomJoin asks to join a MUC room.
type RoomJoin struct {
	Room     string // bare room JID
	Nick     string
	Password string // secret; never logged
	History  int    // messages of history to request; 0 = none
	// HistorySince, when set, asks instead for the messages sent since
	// then (XEP-0045 §7.2.13 'since'): what a listener missed while its
	// connection was down.
	HistorySince time.Time
}

// Room is a joined MUC room.
type Room struct {
	JID       string   `json:"jid"` // room@service/nick as joined
	Subject   string   `json:"subject,omitempty"`
	Occupants []string `json:"occupants,omitempty"` // room nicks, as the room lists them
}

// DiscoInfo is a disco#info result.
type DiscoInfo struct {
	JID        string          `json:"jid"`
	Node       string          `json:"node,omitempty"`
	Identities []DiscoIdentity `json:"identities"`
	Features   []string        `json:"features"`
	Forms      []DataForm      `json:"forms,omitempty"`
}

// DiscoIdentity is one identity of a disco#info result.
type DiscoIdentity struct {
	Category string `json:"category"`
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
}

// DataForm is an XEP-0004 form as field var → values.
type DataForm struct {
	FormType string              `json:"form_type"`
	Fields   map[string][]string `json:"fields"`
}

// ReachAddress is one XEP-0152 reachability address.
type ReachAddress struct {
	URI  string `json:"uri"`
	Desc string `json:"desc,omitempty"`
	// Source is "pep" or "presence".
	Source string `json:"source,omitempty"`
}
