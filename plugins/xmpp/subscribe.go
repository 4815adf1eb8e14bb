package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

var _ protocol.PresenceSubscriber = (*session)(nil)

// Subscribe asks contact for a subscription to its presence: a presence
// of type "subscribe" to the bare JID (RFC 6121 §3.1.1; the server adds
// the contact to the roster with ask, §3.1.2). The answer comes later as
// a presence of type "subscribed" or "unsubscribed" (Presences). Errors:
// ErrInvalid, ErrNotConnected, ErrTimeout.
func (ss *session) Subscribe(ctx context.Context, contact string) error {
	return ss.sendSubscription(ctx, "subscribe", contact, stanza.SubscribePresence)
}

// ApproveSubscription lets contact see the user's presence: a presence
// of type "subscribed" to the bare JID. It answers a pending request
// (RFC 6121 §3.1.4) or, with none pending, pre-approves one (§3.4, where
// the server supports it; a server without pre-approval ignores it).
func (ss *session) ApproveSubscription(ctx context.Context, contact string) error {
	return ss.sendSubscription(ctx, "approve subscription", contact, stanza.SubscribedPresence)
}

func (ss *session) sendSubscription(ctx context.Context, what, contact string, typ stanza.PresenceType) error {
	if err := ss.alive(); err != nil {
		return err
	}
	j, err := jid.Parse(contact)
	if err != nil || j.Localpart() == "" && j.Domainpart() == "" {
		return fmt.Errorf("xmpp %s: jid %q: not a JID: %w", what, contact, protocol.ErrInvalid)
	}
	// RFC 6121 §3.1.1: the request goes to the bare JID ("SHOULD").
	j = j.Bare()
	if j.Equal(ss.s.LocalAddr().Bare()) {
		return fmt.Errorf("xmpp %s: %s is the account itself: %w", what, j, protocol.ErrInvalid)
	}
	if err := ss.s.Send(writeCtx(ctx), stanza.Presence{To: j, Type: typ}.Wrap(nil)); err != nil {
		return fmt.Errorf("xmpp %s %s: %w", what, j, ss.requestError(ctx, err))
	}
	ss.log.Debug("subscription presence sent", "type", string(typ), "to", j.String())
	return nil
}

// nsActivity is XEP-0108's namespace, also its PEP node.
const nsActivity = "http://jabber.org/protocol/activity"

// activityGeneral lists XEP-0108 §2.1's general categories; a specific
// activity is not checked against the schema (new ones are allowed
// there as extensions, §2.2), only for being an XML name.
var activityGeneral = map[string]bool{
	"doing_chores": true, "drinking": true, "eating": true, "exercising": true, "grooming": true,
	"having_appointment": true, "inactive": true, "relaxing": true, "talking": true, "traveling": true,
	"undefined": true, "working": true,
}

var _ protocol.ActivityPublisher = (*session)(nil)

// PublishActivity publishes the user's activity to the PEP node
// http://jabber.org/protocol/activity, item "current", readable by
// contacts with a presence subscription (XEP-0108 §3, access model
// "presence"): <activity><talking><on_the_phone/></talking><text/></activity>.
// The zero Activity publishes an empty <activity/>, which tells contacts
// the activity ended (XEP-0108 §5). Errors: ErrInvalid (unknown general
// category, bad specific name), ErrUnsupported (the server has no PEP),
// a stanza error wrapping ErrDenied or ErrProtocol.
func (ss *session) PublishActivity(ctx context.Context, a protocol.Activity) error {
	if err := ss.alive(); err != nil {
		return err
	}
	if a.General == "" && (a.Specific != "" || a.Text != "") {
		return fmt.Errorf("xmpp activity: a specific activity or text without a general one: %w", protocol.ErrInvalid)
	}
	if a.General != "" && !activityGeneral[a.General] {
		return fmt.Errorf("xmpp activity: %q is not an XEP-0108 category: %w", a.General, protocol.ErrInvalid)
	}
	if a.Specific != "" && !isXMLName(a.Specific) {
		return fmt.Errorf("xmpp activity: specific %q is not an element name: %w", a.Specific, protocol.ErrInvalid)
	}
	payload := func() xml.TokenReader {
		var parts []xml.TokenReader
		if a.General != "" {
			var specific xml.TokenReader
			if a.Specific != "" {
				specific = xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: a.Specific}})
			}
			parts = append(parts, xmlstream.Wrap(specific, xml.StartElement{Name: xml.Name{Local: a.General}}))
			if a.Text != "" {
				parts = append(parts, xmlstream.Wrap(xmlstream.Token(xml.CharData(a.Text)), xml.StartElement{
					Name: xml.Name{Local: "text"},
					Attr: []xml.Attr{{Name: xml.Name{Space: nsXML, Local: "lang"}, Value: "en"}},
				}))
			}
		}
		return xmlstream.Wrap(xmlstream.MultiReader(parts...), xml.StartElement{Name: xml.Name{Space: nsActivity, Local: "activity"}})
	}
	if err := ss.pepPublish(ctx, nsActivity, "current", payload, reachAccessModel); err != nil {
		switch condition(err) {
		case stanza.ServiceUnavailable, stanza.FeatureNotImplemented:
			// XEP-0163 §4: a server without PEP answers so for our bare JID.
			return fmt.Errorf("xmpp publish activity: the server has no PEP (%v): %w", err, protocol.ErrUnsupported)
		}
		return fmt.Errorf("xmpp publish activity: %w", err)
	}
	ss.log.Debug("activity published", "general", a.General, "specific", a.Specific)
	return nil
}

// Activity reads a contact's current XEP-0108 activity from its PEP node
// (an empty jid: the user's own). No node, no item or no access (not
// subscribed) is the zero Activity. It is not part of the SDK yet: the
// host reads activities through this method in process only (tests).
func (ss *session) Activity(ctx context.Context, contact string) (protocol.Activity, error) {
	if err := ss.alive(); err != nil {
		return protocol.Activity{}, err
	}
	var owner jid.JID
	if contact != "" {
		j, err := jid.Parse(contact)
		if err != nil {
			return protocol.Activity{}, fmt.Errorf("xmpp activity: jid %q: %v: %w", contact, err, protocol.ErrInvalid)
		}
		owner = j.Bare()
	}
	items, err := ss.pepItems(ctx, owner, nsActivity, 1, maxIQSize)
	if err != nil {
		if condition(err) != "" {
			return protocol.Activity{}, nil
		}
		return protocol.Activity{}, fmt.Errorf("xmpp activity %s: %w", contact, err)
	}
	var out protocol.Activity
	for _, it := range items {
		act := it.child(nsActivity, "activity")
		if act == nil {
			continue
		}
		for _, c := range act.Children {
			if c.Name.Space != nsActivity {
				continue
			}
			if c.Name.Local == "text" {
				out.Text = cleanText(c.Text(), 1024)
				continue
			}
			if activityGeneral[c.Name.Local] {
				out.General = c.Name.Local
				for _, s := range c.Children {
					if s.Name.Space == nsActivity && isXMLName(s.Name.Local) {
						out.Specific = s.Name.Local
						break
					}
				}
			}
		}
	}
	return out, nil
}

// isXMLName is a conservative check for an element name we write or
// report: ASCII letters, digits, '_' and '-', starting with a letter.
func isXMLName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}
