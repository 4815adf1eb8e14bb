package xmpp

import (
	"encoding/xml"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// inbound is the session's stanza handler, run by mellium's Serve loop for
// every top-level element that is not the answer to one of our IQs.
//
// It reads each stanza whole, within a budget, before anything looks at
// it, and never returns an error for what the server sent: mellium ends
// the stream (with a stream error of its own) whenever a handler returns
// one, and its mux does for stanzas with an unparseable JID, an IQ without
// payload, or text where a payload belongs. Only a failure to read the
// stream itself (XML that is not well-formed, RFC 6120 §11.3: a stream
// error anyway) is
// returned.
type inbound struct {
	ss  *session
	mux xmpp.Handler // IQ get/set payloads (ping, roster pushes, tests)
}

func (in inbound) HandleXMPP(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	if start.Name.Space == nsSM {
		return in.ss.handleSM(start) // XEP-0198 <r/>
	}
	if !stanza.Is(start.Name, stanza.NSClient) {
		// Not a stanza: a top-level element of some extension we never
		// negotiated. Drop it.
		return nil
	}
	// XEP-0198 §4: every stanza counts, in the order received; it is
	// handled once processed, or, for a message held for a consumer, once
	// acknowledged (smAcks).
	pos := in.ss.sm.arrive()
	wait := false
	defer func() {
		if !wait {
			in.ss.sm.done(pos)
		}
	}()
	e, truncated, err := readElem(t, *start, maxStanzaSize)
	if err != nil {
		return err
	}
	switch start.Name.Local {
	case "message":
		wait = in.ss.handleMessage(e, truncated, pos)
	case "presence":
		in.ss.handlePresence(e, truncated)
	case "iq":
		return in.handleIQ(t, e, truncated)
	}
	return nil
}

// handleIQ answers an IQ get or set (RFC 6120 §8.2.3: always, with a result
// or an error); results and errors that answer nothing we asked are
// dropped.
func (in inbound) handleIQ(w xmlstream.TokenReadEncoder, e *elem, truncated bool) error {
	typ := stanza.IQType(e.attr("type"))
	if typ != stanza.GetIQ && typ != stanza.SetIQ {
		return nil
	}
	start := xml.StartElement{Name: e.Name, Attr: e.Attr}
	if _, err := stanza.NewIQ(start); err != nil {
		in.ss.log.Debug("IQ with a malformed address refused", "error", err)
		return replyIQError(w, e, stanza.Modify, stanza.JIDMalformed)
	}
	if len(e.Children) != 1 || truncated {
		return replyIQError(w, e, stanza.Modify, stanza.BadRequest)
	}
	// Replay what was read to the mux: the payload and the end of the IQ.
	payload := e.Children[0].tokens()
	r := struct {
		xml.TokenReader
		xmlstream.Encoder
	}{
		TokenReader: xmlstream.MultiReader(payload, xmlstream.Token(start.End())),
		Encoder:     w,
	}
	return in.mux.HandleXMPP(r, &start)
}

// replyIQError answers the IQ e with an error, addressed to its sender when
// that is a valid JID.
func replyIQError(w xmlstream.TokenWriter, e *elem, typ stanza.ErrorType, cond stanza.Condition) error {
	iq := stanza.IQ{ID: e.attr("id"), Type: stanza.ErrorIQ}
	if from := e.attr("from"); from != "" {
		if j, err := jid.Parse(from); err == nil {
			iq.To = j
		}
	}
	_, err := xmlstream.Copy(w, iq.Wrap(stanza.Error{Type: typ, Condition: cond}.TokenReader()))
	return err
}

// handleRosterPush acknowledges a roster push (RFC 6121 §2.1.6). The session
// keeps no roster, so nothing else happens, but a push is checked the way
// a client must: only from the server (no 'from', or the account's bare
// JID, which mellium turns into no 'from'), with exactly one item whose JID
// is a valid bare JID. Anything else is refused and otherwise ignored.
func (ss *session) handleRosterPush(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	if !iq.From.Equal(jid.JID{}) && !iq.From.Equal(ss.s.LocalAddr().Bare()) {
		ss.log.Debug("roster push from a non-server sender ignored", "from", iq.From.String())
		_, err := xmlstream.Copy(t, iq.Error(stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}))
		return err
	}
	q, _, err := readElem(t, *start, maxStanzaSize)
	if err != nil {
		return err
	}
	items := q.all(roster.NS, "item")
	valid := len(items) == 1
	if valid {
		j, err := jid.Parse(items[0].attr("jid"))
		valid = err == nil && j.Resourcepart() == "" && j.Domainpart() != ""
	}
	if !valid {
		ss.log.Debug("malformed roster push ignored", "items", len(items))
		_, err := xmlstream.Copy(t, iq.Error(stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest}))
		return err
	}
	ss.log.Debug("roster push", "jid", items[0].attr("jid"), "subscription", items[0].attr("subscription"))
	// Counted before the result goes out: a roster fetched after this
	// is newer than the counter says, never older.
	ss.rosterPushes.Add(1)
	_, err = xmlstream.Copy(t, iq.Result(nil))
	return err
}
