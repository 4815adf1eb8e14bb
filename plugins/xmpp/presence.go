package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// SetPresence broadcasts the user's presence (RFC 6121 §4.2, §4.4): Type ""
// (available) or "unavailable", Show "", away, chat, dnd or xa, a Status
// text, a Priority in -128…127 (RFC 6121 §4.7.2.3), and Reach as an
// XEP-0152 <reach/> extension (addresses are hints, RFC 7081 §3.3; their
// Desc is left out, as XEP-0152 §3 asks of presence broadcasts).
//
// The first available presence is the "initial presence": only after it
// does the server send the contacts' presence, route messages for the
// bare JID to this session and deliver stored offline messages (RFC 6121
// §4.2.2, §8.5.2.1.1). Nothing in this backend sends it implicitly: open
// Presences (and Messages) first, then call SetPresence. Close sends the
// unavailable presence that ends it. Errors: ErrInvalid for a bad field,
// ErrNotConnected, ErrTimeout.
func (ss *session) SetPresence(ctx context.Context, p protocol.Presence) error {
	if err := ss.alive(); err != nil {
		return err
	}
	var typ stanza.PresenceType
	switch p.Type {
	case "", "available":
	case string(stanza.UnavailablePresence):
		typ = stanza.UnavailablePresence
	default:
		// Subscription management needs a 'to', which Presence lacks.
		return fmt.Errorf("xmpp presence: type %q: want \"\" (available) or unavailable: %w", p.Type, protocol.ErrInvalid)
	}
	switch p.Show {
	case "", "away", "chat", "dnd", "xa":
	default:
		return fmt.Errorf("xmpp presence: show %q: want away, chat, dnd or xa: %w", p.Show, protocol.ErrInvalid)
	}
	if p.Priority < -128 || p.Priority > 127 {
		return fmt.Errorf("xmpp presence: priority %d: want -128…127: %w", p.Priority, protocol.ErrInvalid)
	}
	if !utf8.ValidString(p.Status) {
		return fmt.Errorf("xmpp presence: status is not valid UTF-8: %w", protocol.ErrInvalid)
	}
	if err := checkReach(p.Reach); err != nil {
		return fmt.Errorf("xmpp presence: %w", err)
	}

	var payload []xml.TokenReader
	if p.Show != "" && typ == "" {
		payload = append(payload, textElem("", "show", p.Show))
	}
	if p.Status != "" {
		payload = append(payload, textElem("", "status", p.Status))
	}
	if p.Priority != 0 && typ == "" {
		payload = append(payload, textElem("", "priority", strconv.Itoa(p.Priority)))
	}
	if len(p.Reach) > 0 && typ == "" {
		// XEP-0152 §3: no <desc/> in a presence broadcast.
		payload = append(payload, reachElem(p.Reach, false))
	}
	if err := ss.s.Send(writeCtx(ctx), stanza.Presence{Type: typ}.Wrap(xmlstream.MultiReader(payload...))); err != nil {
		return fmt.Errorf("xmpp presence: %w", ss.requestError(ctx, err))
	}
	ss.mu.Lock()
	ss.presenceSent = typ == ""
	ss.mu.Unlock()
	ss.log.Debug("presence sent", "type", string(typ), "show", p.Show, "reach", len(p.Reach))
	return nil
}

// Presences streams every presence stanza received from now on: contacts'
// availability (after our initial presence, see SetPresence),
// subscription requests and answers (Type subscribe, subscribed, …), room
// occupants (From room@service/nick), and errors (Type "error", Status the
// condition: protocol.Presence has no error field). Reach carries the
// XEP-0152 addresses of the presence, Source "presence". Buffering,
// dropping and the end of the stream are as for Messages.
func (ss *session) Presences(ctx context.Context) (protocol.Stream[protocol.Presence], error) {
	if err := ss.alive(); err != nil {
		return nil, err
	}
	st, err := ss.presences.subscribe(ctx, false)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// handlePresence runs in the Serve loop for every presence stanza. It must
// not block nor use the session's send methods.
func (ss *session) handlePresence(e *elem, _ bool) {
	from, ok := ss.stanzaFrom(e)
	if !ok {
		ss.log.Debug("presence with a malformed 'from' dropped", "from", truncateText(e.attr("from"), 128))
		return
	}
	typ := e.attr("type")
	switch stanza.PresenceType(typ) {
	case "", stanza.UnavailablePresence, stanza.SubscribePresence, stanza.SubscribedPresence,
		stanza.UnsubscribePresence, stanza.UnsubscribedPresence, stanza.ProbePresence, stanza.ErrorPresence:
	default:
		// RFC 6121 §4.7.1: no other types exist.
		ss.log.Debug("presence of unknown type dropped", "type", truncateText(typ, 32))
		return
	}
	p := protocol.Presence{
		From:   from.String(),
		Type:   typ,
		Status: cleanText(pickLang(e.all(stanza.NSClient, "status")).Text(), 1024),
	}
	switch show := strings.TrimSpace(e.childText(stanza.NSClient, "show")); show {
	case "away", "chat", "dnd", "xa":
		p.Show = show
	}
	if n, err := strconv.Atoi(strings.TrimSpace(e.childText(stanza.NSClient, "priority"))); err == nil && n >= -128 && n <= 127 {
		p.Priority = n
	}
	if typ == string(stanza.ErrorPresence) {
		p.Status = describeStanzaError(parseStanzaError(e.child(stanza.NSClient, "error")))
	}
	if r := e.child(nsReach, "reach"); r != nil {
		p.Reach = parseReach(r, "presence")
	}
	switch stanza.PresenceType(typ) {
	case "":
		ss.reach.set(from, p.Reach)
		ss.known.set(from, &p)
	case stanza.UnavailablePresence, stanza.ErrorPresence:
		ss.reach.set(from, nil)
		ss.known.set(from, nil)
	}
	ss.rooms.presence(from, typ, e)
	ss.presences.publish(p)
}

// textElem is <local xmlns=space>text</local>.
func textElem(space, local, text string) xml.TokenReader {
	return xmlstream.Wrap(xmlstream.Token(xml.CharData(text)), xml.StartElement{Name: xml.Name{Space: space, Local: local}})
}

// presenceSize is what a presence holds in a stream's queue (streamBytes).
func presenceSize(p protocol.Presence) int {
	n := len(p.From) + len(p.Type) + len(p.Show) + len(p.Status) + 64
	for _, r := range p.Reach {
		n += len(r.URI) + len(r.Desc) + len(r.Source)
	}
	return n
}
