package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// XEP-0060 namespaces, and XEP-0004 data forms.
const (
	nsPubSub       = "http://jabber.org/protocol/pubsub"
	nsPubSubOwner  = "http://jabber.org/protocol/pubsub#owner"
	nsPubSubErrors = "http://jabber.org/protocol/pubsub#errors"
	nsData         = "jabber:x:data"

	formPublishOptions = "http://jabber.org/protocol/pubsub#publish-options"
	formNodeConfig     = "http://jabber.org/protocol/pubsub#node_config"
)

// pepItems fetches up to maxItems of the newest items of a PEP node
// (XEP-0163) of owner, the zero JID meaning the account itself
// (XEP-0060 §6.5.7 max_items; mellium's pubsub.Query cannot ask for an
// item by id correctly, and its iterator reads from the network while the
// Serve loop waits). It returns the <item/> elements.
func (ss *session) pepItems(ctx context.Context, owner jid.JID, node string, maxItems, budget int) ([]*elem, error) {
	q := xmlstream.Wrap(
		xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "items"}, Attr: []xml.Attr{
			{Name: xml.Name{Local: "node"}, Value: node},
			{Name: xml.Name{Local: "max_items"}, Value: strconv.Itoa(maxItems)},
		}}),
		xml.StartElement{Name: xml.Name{Space: nsPubSub, Local: "pubsub"}},
	)
	iq, err := ss.sendIQ(ctx, stanza.GetIQ, owner, q, budget)
	if err != nil {
		return nil, err
	}
	items := iq.child(nsPubSub, "pubsub").child(nsPubSub, "items")
	return items.all(nsPubSub, "item"), nil
}

// formField is one field of a submitted data form (XEP-0004 §3.2).
type formField struct {
	Var    string
	Values []string
}

// submitForm is an XEP-0004 form of type "submit" with a FORM_TYPE.
func submitForm(formType string, fields ...formField) xml.TokenReader {
	field := func(f formField, typ string) xml.TokenReader {
		var vals []xml.TokenReader
		for _, v := range f.Values {
			vals = append(vals, textElem("", "value", v))
		}
		attrs := []xml.Attr{{Name: xml.Name{Local: "var"}, Value: f.Var}}
		if typ != "" {
			attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "type"}, Value: typ})
		}
		return xmlstream.Wrap(xmlstream.MultiReader(vals...), xml.StartElement{Name: xml.Name{Local: "field"}, Attr: attrs})
	}
	parts := []xml.TokenReader{field(formField{"FORM_TYPE", []string{formType}}, "hidden")}
	for _, f := range fields {
		parts = append(parts, field(f, ""))
	}
	return xmlstream.Wrap(xmlstream.MultiReader(parts...), xml.StartElement{
		Name: xml.Name{Space: nsData, Local: "x"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: "submit"}},
	})
}

// pepPublish publishes payload as item id of the account's PEP node, with
// publish-options (XEP-0060 §7.1.5) setting the node's access model
// (XEP-0222/XEP-0223 style: "open", "presence", …); mellium's Publish
// has no options argument. When the node exists with another access
// model the service answers <conflict/> with <precondition-not-met/>: the
// node is then reconfigured (XEP-0060 §8.2.4, we own it) and the publish
// tried once more.
func (ss *session) pepPublish(ctx context.Context, node, id string, payload func() xml.TokenReader, accessModel string) error {
	publish := func() error {
		q := xmlstream.Wrap(
			xmlstream.MultiReader(
				xmlstream.Wrap(
					xmlstream.Wrap(payload(), xml.StartElement{Name: xml.Name{Local: "item"}, Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: id}}}),
					xml.StartElement{Name: xml.Name{Local: "publish"}, Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}},
				),
				xmlstream.Wrap(
					submitForm(formPublishOptions, formField{"pubsub#access_model", []string{accessModel}}),
					xml.StartElement{Name: xml.Name{Local: "publish-options"}},
				),
			),
			xml.StartElement{Name: xml.Name{Space: nsPubSub, Local: "pubsub"}},
		)
		_, err := ss.sendIQ(ctx, stanza.SetIQ, jid.JID{}, q, maxIQSize)
		return err
	}
	err := publish()
	var ie *iqError
	if err == nil || !errors.As(err, &ie) || ie.app != "precondition-not-met" {
		return err
	}
	ss.log.Debug("pep node has another access model: reconfiguring", "node", node, "access_model", accessModel)
	cfg := xmlstream.Wrap(
		xmlstream.Wrap(
			submitForm(formNodeConfig, formField{"pubsub#access_model", []string{accessModel}}),
			xml.StartElement{Name: xml.Name{Local: "configure"}, Attr: []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}},
		),
		xml.StartElement{Name: xml.Name{Space: nsPubSubOwner, Local: "pubsub"}},
	)
	if _, err := ss.sendIQ(ctx, stanza.SetIQ, jid.JID{}, cfg, maxIQSize); err != nil {
		return fmt.Errorf("configure node %s: %w", node, err)
	}
	return publish()
}
