package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// vCard namespaces and nodes.
const (
	nsVCard4    = "urn:ietf:params:xml:ns:vcard-4.0" // xCard, RFC 6351
	nodeVCard4  = "urn:xmpp:vcard4"                  // XEP-0292 PEP node
	nsVCardTemp = "vcard-temp"                       // XEP-0054
)

// fetchXCard returns the <vcard/> of owner's XEP-0292 PEP node (newest
// item), or nil when there is none or it is empty.
func (ss *session) fetchXCard(ctx context.Context, owner jid.JID, budget int) (*elem, error) {
	items, err := ss.pepItems(ctx, owner, nodeVCard4, 1, budget)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if v := it.child(nsVCard4, "vcard"); v != nil && len(v.Children) > 0 {
			return v, nil
		}
	}
	return nil, nil
}

// fetchVCardTemp returns owner's XEP-0054 <vCard/>, or nil when the result
// is empty (XEP-0054 §3.1 allows an empty result for "no vCard").
func (ss *session) fetchVCardTemp(ctx context.Context, owner jid.JID, budget int) (*elem, error) {
	q := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsVCardTemp, Local: "vCard"}})
	iq, err := ss.sendIQ(ctx, stanza.GetIQ, owner, q, budget)
	if err != nil {
		return nil, err
	}
	if v := iq.child(nsVCardTemp, "vCard"); v != nil && len(v.Children) > 0 {
		return v, nil
	}
	return nil, nil
}

// VCard fetches a contact's vCard (jid; empty: the user's own) and returns
// it as vCard 4 text (RFC 6350):
//
//  1. XEP-0292 (§4.1): the newest item of the contact's PEP node
//     urn:xmpp:vcard4 (item "current"), an xCard (RFC 6351) — Source
//     "xep-0292";
//  2. when that node is missing, empty or unreadable (item-not-found, or
//     forbidden, which Prosody answers for accounts that do not exist):
//     XEP-0054 vcard-temp, an IQ get to the bare JID (no 'to' for our own)
//     — Source "xep-0054".
//
// Prosody 0.12 (mod_vcard_legacy) keeps one vCard per account, in PEP:
// a vcard-temp set is converted to vCard 4 and stored there, and a
// vcard-temp get is converted back from it. Measured on the test bed:
// a vcard-temp TEL with <VIDEO/><WORK/> and NUMBER sip:bob@example.test
// comes back from both views with type work only (VIDEO, VOICE, CELL are
// lost on the way in), and in PEP as <uri>tel:sip:bob@example.test</uri>;
// an xCard published to PEP keeps its types there, while its vcard-temp
// view again has WORK/HOME only. So when both exist the XEP-0292 one is
// never poorer (the vcard-temp view is derived from it), and it is the
// only one that can carry TYPE=video (RFC 7081 §3.3): it wins. vcardxml
// maps the tel:sip: form back to the SIP URI.
//
// Errors: ErrInvalid (bad jid), ErrNotFound (no vCard in either place, or
// no such account), ErrProtocol for a vCard over vcardxml.MaxSize
// (wrapping vcardxml.ErrTooLarge) or malformed, ErrDenied, ErrTimeout,
// ErrNotConnected. The XML read is bounded before any parsing.
func (ss *session) VCard(ctx context.Context, contact string) (protocol.VCard, error) {
	if err := ss.alive(); err != nil {
		return protocol.VCard{}, err
	}
	var owner jid.JID // zero: our own account (RFC 6120 §10.3.3)
	label := ss.s.LocalAddr().Bare().String()
	if contact != "" {
		j, err := jid.Parse(contact)
		if err != nil {
			return protocol.VCard{}, fmt.Errorf("xmpp vcard: jid %q: %v: %w", contact, err, protocol.ErrInvalid)
		}
		owner = j.Bare()
		label = owner.String()
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	budget := vcardMaxSize + vcardEnvelope

	x, err := ss.fetchXCard(ctx, owner, budget)
	switch {
	case err == nil && x != nil:
		return ss.convertVCard(label, x, "xep-0292")
	case errors.Is(err, errTooLarge):
		return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: xep-0292: %w: %w", label, errVCardTooLarge, protocol.ErrProtocol)
	case err != nil && condition(err) == "":
		return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: xep-0292: %w", label, err)
	case err != nil:
		ss.log.Debug("no xep-0292 vcard", "jid", label, "error", err)
	}

	v, err := ss.fetchVCardTemp(ctx, owner, budget)
	switch {
	case err == nil && v != nil:
		return ss.convertVCard(label, v, "xep-0054")
	case err == nil:
		return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: no vcard: %w", label, protocol.ErrNotFound)
	case errors.Is(err, errTooLarge):
		return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: xep-0054: %w: %w", label, errVCardTooLarge, protocol.ErrProtocol)
	}
	return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: xep-0054: %w", label, err)
}

// vcardEnvelope is room for the IQ and pubsub elements around a vCard.
const vcardEnvelope = 4 << 10

// convertVCard turns an xCard or vcard-temp element into vCard 4 text.
func (ss *session) convertVCard(label string, e *elem, source string) (protocol.VCard, error) {
	d, start, err := e.decoder()
	if err != nil {
		return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: %s: %v: %w", label, source, err, protocol.ErrProtocol)
	}
	text, err := vcardText(d, start, source)
	if err != nil {
		return protocol.VCard{}, fmt.Errorf("xmpp vcard %s: %s: %w: %w", label, source, err, protocol.ErrProtocol)
	}
	ss.log.Debug("vcard fetched", "jid", label, "source", source, "bytes", len(text))
	return protocol.VCard{JID: label, Text: text, Source: source, Fetched: time.Now()}, nil
}
