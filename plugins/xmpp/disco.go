package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

const nsDiscoInfo = "http://jabber.org/protocol/disco#info"

// Bounds on one disco#info result.
const (
	maxDiscoIdentities = 256
	maxDiscoFeatures   = 4096
	maxDiscoForms      = 32
	maxFormFields      = 512
	maxFieldValues     = 512
)

// DiscoInfo runs a disco#info query (XEP-0030 §3.1) against jid (empty:
// the user's server), optionally for a node, and returns its identities,
// features and XEP-0128 extension forms (data forms of type "result",
// each as FORM_TYPE plus field var → all values; a form without FORM_TYPE
// has FormType ""). Values are returned as sent, multi-valued fields
// (jid-multi, list-multi, text-multi) with every value.
//
// For a MUC room (XEP-0045 §6.4) the form is
// http://jabber.org/protocol/muc#roominfo. RFC 7081 §4 says a room can
// announce the SIP URI of an associated audio/video service in its
// "audio-video-uri" field, but XEP-0045 (1.35.5, and no earlier version)
// defines no such field, nor does the XSF form-type registry: the var is
// not standardised, so DiscoInfo maps nothing and callers look for the
// var their service uses (e.g. "muc#roominfo_avuri" or
// "audio-video-uri").
//
// The forms are decoded here rather than with mellium's form package,
// which rejects fields it does not expect (reported items, unknown types).
// Errors: ErrInvalid (bad JID), ErrNotFound (item-not-found,
// service-unavailable), ErrDenied, ErrTimeout, ErrProtocol.
func (ss *session) DiscoInfo(ctx context.Context, target, node string) (protocol.DiscoInfo, error) {
	if err := ss.alive(); err != nil {
		return protocol.DiscoInfo{}, err
	}
	var to jid.JID
	if target == "" {
		to = ss.s.LocalAddr().Domain()
	} else {
		j, err := jid.Parse(target)
		if err != nil {
			return protocol.DiscoInfo{}, fmt.Errorf("xmpp disco#info: jid %q: %v: %w", target, err, protocol.ErrInvalid)
		}
		to = j
	}
	var attrs []xml.Attr
	if node != "" {
		attrs = []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}
	}
	q := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsDiscoInfo, Local: "query"}, Attr: attrs})
	iq, err := ss.sendIQ(ctx, stanza.GetIQ, to, q, maxIQSize)
	if err != nil {
		return protocol.DiscoInfo{}, fmt.Errorf("xmpp disco#info %s: %w", to, err)
	}
	query := iq.child(nsDiscoInfo, "query")
	if query == nil {
		return protocol.DiscoInfo{}, fmt.Errorf("xmpp disco#info %s: result without <query/>: %w", to, protocol.ErrProtocol)
	}
	return parseDiscoInfo(to.String(), node, query), nil
}

// parseDiscoInfo reads a disco#info <query/> leniently: entries without
// their required attributes are skipped.
func parseDiscoInfo(to, node string, q *elem) protocol.DiscoInfo {
	info := protocol.DiscoInfo{JID: to, Node: node, Identities: []protocol.DiscoIdentity{}, Features: []string{}}
	for _, id := range q.all(nsDiscoInfo, "identity") {
		cat, typ := id.attr("category"), id.attr("type")
		if cat == "" || typ == "" || len(info.Identities) == maxDiscoIdentities {
			continue
		}
		info.Identities = append(info.Identities, protocol.DiscoIdentity{
			Category: cleanText(cat, 256), Type: cleanText(typ, 256), Name: cleanText(id.attr("name"), 1024),
		})
	}
	seen := map[string]bool{}
	for _, f := range q.all(nsDiscoInfo, "feature") {
		v := f.attr("var")
		if v == "" || seen[v] || len(info.Features) == maxDiscoFeatures {
			continue
		}
		seen[v] = true
		info.Features = append(info.Features, cleanText(v, 1024))
	}
	for _, x := range q.all(nsData, "x") {
		// XEP-0128 §2: extensions are forms of type "result"; accept a
		// missing type too.
		if t := x.attr("type"); (t != "result" && t != "") || len(info.Forms) == maxDiscoForms {
			continue
		}
		info.Forms = append(info.Forms, parseForm(x))
	}
	return info
}

// parseForm reads an XEP-0004 form as FORM_TYPE and field var → values.
func parseForm(x *elem) protocol.DataForm {
	f := protocol.DataForm{Fields: map[string][]string{}}
	for _, field := range x.all(nsData, "field") {
		v := field.attr("var")
		if v == "" {
			continue
		}
		var vals []string
		for _, val := range field.all(nsData, "value") {
			if len(vals) == maxFieldValues {
				break
			}
			vals = append(vals, strings.ToValidUTF8(val.Text(), "\uFFFD"))
		}
		if v == "FORM_TYPE" {
			// XEP-0068: the hidden FORM_TYPE field names the form.
			if len(vals) > 0 {
				f.FormType = strings.TrimSpace(vals[0])
			}
			continue
		}
		if _, dup := f.Fields[v]; !dup && len(f.Fields) == maxFormFields {
			continue
		}
		f.Fields[v] = append(f.Fields[v], vals...)
		if f.Fields[v] == nil {
			f.Fields[v] = []string{}
		}
	}
	return f
}
