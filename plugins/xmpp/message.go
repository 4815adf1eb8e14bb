package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// chatMessage is a message stanza with a body (RFC 6121 §5.2.3) and an
// optional thread (§5.2.5).
type chatMessage struct {
	stanza.Message
	Body   string `xml:"body"`
	Thread string `xml:"thread,omitempty"`
	// Delay is set when the message is sent late (protocol.Message.Delay).
	Delay *delayElem `xml:"urn:xmpp:delay delay,omitempty"`
}

// delayElem is XEP-0203 §4's <delay xmlns='urn:xmpp:delay' from stamp/>:
// stamp is the time the message was first meant to go out (UTC, XEP-0082
// DateTime), from the entity that delayed it (here: the sender's own
// client, so from is the sender's JID).
type delayElem struct {
	From  string `xml:"from,attr,omitempty"`
	Stamp string `xml:"stamp,attr"`
}

// Send sends one message (RFC 6121 §5). Type is "chat" (default),
// "groupchat" (to a room's bare JID, XEP-0045 §7.4: a full JID is cut to
// it), "normal" or "headline".
//
// A message has no reply, so Send follows it with an XEP-0199 ping to the
// server: the server handles a client's stanzas in order, so an error it
// generates for the message itself (no such user: service-unavailable,
// RFC 6121 §8.5.2.2.1; a room of a local MUC service: item-not-found for
// no such room, not-acceptable or forbidden for a non-occupant) arrives
// before the ping's answer and is returned here with the condition and
// text: ErrNotFound (item-not-found, service-unavailable, gone),
// ErrUnreachable (remote-server-not-found, remote-server-timeout,
// recipient-unavailable), ErrDenied (forbidden, not-allowed,
// not-authorized, not-acceptable, policy-violation, registration- or
// subscription-required) or ErrProtocol (any other). Errors that come later
// (from a remote domain) are not seen here, only on Messages streams.
func (ss *session) Send(ctx context.Context, m protocol.Message) error {
	if err := ss.alive(); err != nil {
		return err
	}
	to, err := jid.Parse(m.To)
	if err != nil {
		return fmt.Errorf("xmpp send: to %q: %v: %w", m.To, err, protocol.ErrInvalid)
	}
	typ := stanza.MessageType(m.Type)
	switch typ {
	case "":
		typ = stanza.ChatMessage
	case stanza.ChatMessage, stanza.GroupChatMessage, stanza.NormalMessage, stanza.HeadlineMessage:
	default:
		return fmt.Errorf("xmpp send: type %q: want chat, groupchat, normal or headline: %w", m.Type, protocol.ErrInvalid)
	}
	if typ == stanza.GroupChatMessage {
		// Groupchat goes to the room's bare JID (XEP-0045 §7.4).
		to = to.Bare()
	}
	id := m.ID
	if id == "" {
		id = randomID()
	}
	bounce := ss.expectBounce(id)
	defer ss.forgetBounce(id)

	msg := chatMessage{
		Message: stanza.Message{ID: id, To: to, Type: typ},
		Body:    m.Body,
		Thread:  m.Thread,
	}
	if !m.Delay.IsZero() {
		// XEP-0203 §4: a message held back (e.g. by cusax agent while the
		// server was away) says when it was written, so the receiver can
		// show it as delayed.
		msg.Delay = &delayElem{From: ss.s.LocalAddr().String(), Stamp: m.Delay.UTC().Format("2006-01-02T15:04:05.000Z")}
	}
	if err := ss.s.Encode(writeCtx(ctx), msg); err != nil {
		return fmt.Errorf("xmpp send to %s: %w", to, ss.ioError(err))
	}
	ss.log.Debug("message sent", "to", to.String(), "type", string(typ), "id", id)
	// Any answer to the ping will do, an error too (a server without
	// XEP-0199 answers service-unavailable): only its arrival matters.
	probe := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: ping.NS, Local: "ping"}})
	if _, err := ss.sendIQ(ctx, stanza.GetIQ, ss.s.LocalAddr().Domain(), probe, maxStanzaSize); err != nil && condition(err) == "" {
		return fmt.Errorf("xmpp send to %s: waiting for the server: %w", to, err)
	}
	select {
	case se := <-bounce:
		return fmt.Errorf("xmpp send to %s: %w", to, stanzaError(se))
	default:
		return nil
	}
}

// expectBounce registers a message ID whose error reply Send wants.
func (ss *session) expectBounce(id string) <-chan stanza.Error {
	ch := make(chan stanza.Error, 1)
	ss.mu.Lock()
	if ss.bounces == nil {
		ss.bounces = map[string]chan stanza.Error{}
	}
	ss.bounces[id] = ch
	ss.mu.Unlock()
	return ch
}

func (ss *session) forgetBounce(id string) {
	ss.mu.Lock()
	delete(ss.bounces, id)
	ss.mu.Unlock()
}

// stanzaError classifies a stanza error (RFC 6120 §8.3.3).
func stanzaError(se stanza.Error) error {
	switch se.Condition {
	case stanza.ItemNotFound, stanza.ServiceUnavailable, stanza.Gone:
		return fmt.Errorf("%s: %w", describeStanzaError(se), protocol.ErrNotFound)
	case stanza.RemoteServerNotFound, stanza.RemoteServerTimeout, stanza.RecipientUnavailable:
		return fmt.Errorf("%s: %w", describeStanzaError(se), protocol.ErrUnreachable)
	case stanza.Forbidden, stanza.NotAllowed, stanza.NotAuthorized, stanza.PolicyViolation,
		stanza.RegistrationRequired, stanza.SubscriptionRequired, stanza.NotAcceptable:
		// not-acceptable: e.g. groupchat from a non-occupant (XEP-0045 §7.4).
		return fmt.Errorf("%s: %w", describeStanzaError(se), protocol.ErrDenied)
	}
	return fmt.Errorf("%s: %w", describeStanzaError(se), protocol.ErrProtocol)
}

func describeStanzaError(se stanza.Error) string {
	s := string(se.Condition)
	if s == "" {
		s = "undefined-condition"
	}
	// The text in the default language or English, else any (map order).
	text := se.Text[""]
	if text == "" {
		text = se.Text["en"]
	}
	for _, t := range se.Text {
		if text != "" {
			break
		}
		text = t
	}
	if text = strings.TrimSpace(text); text != "" {
		return s + " (" + text + ")"
	}
	return s
}

// ioError classifies an error of a session operation.
func (ss *session) ioError(err error) error {
	if err := ss.alive(); err != nil {
		return err
	}
	if isClosed(err) {
		return fmt.Errorf("%w: %w", err, protocol.ErrNotConnected)
	}
	return err
}
