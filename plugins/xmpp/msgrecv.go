package xmpp

import (
	"context"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// maxBodySize bounds a received message body; a longer one is cut (at a
// rune boundary) and ends with truncatedMarker. It is the whole stanza
// budget: a server refuses larger stanzas from its clients anyway
// (Prosody: c2s_stanza_size_limit, 256 KiB), so what a client could send
// arrives whole.
const maxBodySize = maxStanzaSize

// truncatedMarker ends a body that was cut.
const truncatedMarker = " […truncated]"

const (
	nsDelay = "urn:xmpp:delay" // XEP-0203
	nsSID   = "urn:xmpp:sid:0" // XEP-0359
)

// Messages streams the message stanzas received from now on (RFC 6121 §5):
// chat, normal, groupchat and headline messages that carry a <body>, and
// every message of type "error" (Type "error", Error the condition).
// Payload-only messages (chat states, receipts, pubsub events, room subject
// changes) are not streamed.
//
// What is received depends on presence: without an available presence
// (SetPresence) the server delivers only messages sent to this session's
// full JID (RFC 6121 §8.5.2.1.1); room messages arrive once JoinRoom
// succeeded, including the room's echo of our own groupchat messages,
// whose From is the room JID with our nick (Room.JID).
//
// Several streams may be open at once; each gets every message. A stream
// buffers streamBuffer messages for its reader: when that is full, the
// session waits for the reader (see streamBuffer); nothing is dropped.
// Time is when the message was received; Delay the sender's XEP-0203
// stamp, if any. Bodies are valid UTF-8 and at most maxBodySize bytes.
// With stream management (XEP-0198) a message is acknowledged to the
// server once processed; use AckedMessages to acknowledge only what the
// consumer took.
// The stream ends when ctx ends (Recv: ctx.Err()), on Close (io.EOF), or
// when the session ends (io.EOF after Close, else an error wrapping
// ErrNotConnected).
func (ss *session) Messages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	if err := ss.alive(); err != nil {
		return nil, err
	}
	st, err := ss.messages.subscribe(ctx, false)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// handleMessage runs in the Serve loop for every message stanza: it hands
// errors to a waiting Send, tracks room subjects, and publishes to the
// streams. It must not use the session's send methods; it waits only for
// a full stream (publish). pos is the message's XEP-0198 position: wait
// reports that it is not handled yet, because an acknowledged stream got
// it (AckMessage will say) or because nobody took a chat or normal message
// the server would otherwise consider delivered.
func (ss *session) handleMessage(e *elem, truncated bool, pos uint64) (wait bool) {
	from, ok := ss.stanzaFrom(e)
	if !ok {
		ss.log.Debug("message with a malformed 'from' dropped", "from", truncateText(e.attr("from"), 128))
		return false
	}
	m := protocol.Message{
		ID:     truncateText(e.attr("id"), 256),
		From:   from.String(),
		To:     truncateText(e.attr("to"), 3071),
		Type:   messageType(e.attr("type")),
		Thread: cleanText(e.childText(stanza.NSClient, "thread"), 256),
		Time:   time.Now(),
		Delay:  delayStamp(e),
	}
	m.StableID = ss.stableID(e)
	if ss.sm.enabled {
		m.Seq = pos
	}
	if m.Type == string(stanza.ErrorMessage) {
		se := parseStanzaError(e.child(stanza.NSClient, "error"))
		m.Error = string(se.Condition)
		ss.bounced(m.ID, se)
	}
	if m.Type == string(stanza.GroupChatMessage) {
		if subj := e.child(stanza.NSClient, "subject"); subj != nil {
			// XEP-0045 §8.1: a subject change (also sent on join, §7.2.15).
			ss.rooms.subject(from, cleanText(subj.Text(), 1024))
		}
	}
	body := pickLang(e.all(stanza.NSClient, "body"))
	if body == nil && m.Type != string(stanza.ErrorMessage) {
		return false
	}
	if body != nil {
		m.Body = cleanBody(body.Text(), body.textCut || (truncated && len(body.Text()) >= maxBodySize))
	}
	taken, held := ss.messages.publish(m)
	if held {
		return true
	}
	// A chat or normal message no stream took stays unacknowledged: when
	// the session ends the server stores it for the next session (see
	// smAcks) instead of it being lost here.
	return !taken && ss.sm.enabled && (m.Type == string(stanza.ChatMessage) || m.Type == string(stanza.NormalMessage))
}

// messageSize is what a message holds in a stream's queue (streamBytes).
func messageSize(m protocol.Message) int {
	return len(m.ID) + len(m.From) + len(m.To) + len(m.Type) + len(m.Body) + len(m.Thread) + len(m.Error) + 64
}

// stanzaFrom returns the sender of a stanza: its 'from' or, without one,
// the account's bare JID (RFC 6120 §8.1.2.1; mellium also blanks a 'from'
// equal to that bare JID). ok is false for a malformed 'from'.
func (ss *session) stanzaFrom(e *elem) (jid.JID, bool) {
	f := e.attr("from")
	if f == "" {
		return ss.s.LocalAddr().Bare(), true
	}
	j, err := jid.Parse(f)
	return j, err == nil
}

// messageType normalises a message type: a missing or unknown one means
// "normal" (RFC 6121 §5.2.2).
func messageType(t string) string {
	switch stanza.MessageType(t) {
	case stanza.ChatMessage, stanza.GroupChatMessage, stanza.HeadlineMessage, stanza.ErrorMessage:
		return t
	}
	return string(stanza.NormalMessage)
}

// pickLang returns the element without xml:lang, else the English one, else
// the first (RFC 6121 §5.2.3: several bodies differ only in language).
func pickLang(es []*elem) *elem {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if e.langAttr() == "" {
			return e
		}
	}
	for _, e := range es {
		if l := strings.ToLower(e.langAttr()); l == "en" || strings.HasPrefix(l, "en-") {
			return e
		}
	}
	return es[0]
}

// cleanBody makes a body valid UTF-8 and at most maxBodySize bytes plus
// truncatedMarker. encoding/xml already refuses invalid UTF-8 in the
// stream (a stream error ends the session, RFC 6120 §11.6), so replacing
// is defence in depth.
func cleanBody(s string, cut bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxBodySize {
		s, cut = s[:cutUTF8(s, maxBodySize)], true
	}
	if cut {
		s += truncatedMarker
	}
	return s
}

// cleanText is cleanBody for short fields (status, subject, thread).
func cleanText(s string, n int) string {
	return truncateText(strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD"), n)
}

// delayStamp is the XEP-0203 delay stamp (room history, offline messages,
// messages a server queued for us), or zero. It is what the sender's server
// claims, shown as such, never as the time the message was received.
func delayStamp(e *elem) time.Time {
	if d := e.child(nsDelay, "delay"); d != nil {
		if t, err := time.Parse(time.RFC3339Nano, d.attr("stamp")); err == nil {
			return t
		}
	}
	return time.Time{}
}

// stableID is the message's XEP-0359 id: the <stanza-id/> our own server
// gave it (by = the account's bare JID; §3: an entity must only trust one
// by itself or its server), else the sender's <origin-id/>; "" when none.
// It only ever keeps a copy from being shown twice: a forged one can at
// worst hide a sender's own repeated message.
func (ss *session) stableID(e *elem) string {
	me := ss.s.LocalAddr().Bare().String()
	for _, sid := range e.all(nsSID, "stanza-id") {
		if strings.EqualFold(sid.attr("by"), me) && sid.attr("id") != "" {
			return truncateText(sid.attr("id"), 256)
		}
	}
	if o := e.child(nsSID, "origin-id"); o != nil && o.attr("id") != "" {
		return "origin:" + truncateText(o.attr("id"), 256)
	}
	return ""
}

// bounced hands an error message to the Send waiting for it.
func (ss *session) bounced(id string, se stanza.Error) {
	if id == "" {
		return
	}
	ss.mu.Lock()
	ch := ss.bounces[id]
	ss.mu.Unlock()
	if ch != nil {
		select {
		case ch <- se:
		default:
		}
	}
}
