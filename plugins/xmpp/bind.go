package xmpp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

const nsBind = "urn:ietf:params:xml:ns:xmpp-bind"

// bindFeature is resource binding (RFC 6120 §7), client side. It replaces
// xmpp.BindResource, which in mellium v0.22.0 never sends the requested
// resource: its bindPayload writes the (empty) JID into <resource/>, so a
// server always assigns a random one.
func (a *attempt) bindFeature() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsBind, Local: "bind"},
		Necessary:  xmpp.Authn,
		Prohibited: xmpp.Ready,
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			return true, nil, d.DecodeElement(&struct{}{}, start)
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, _ any) (xmpp.SessionState, io.ReadWriter, error) {
			a.phase = "bind"
			j, err := a.bind(s)
			if err != nil {
				return 0, nil, err
			}
			s.UpdateAddr(j)
			a.log.Debug("bound", "address", j.String())
			a.phase = "stream management"
			if a.smEnabled, err = a.enableSM(s); err != nil {
				return 0, nil, err
			}
			a.log.Debug("stream management", "enabled", a.smEnabled)
			return xmpp.Ready, nil, nil
		},
	}
}

type bindPayload struct {
	Resource string `xml:"resource,omitempty"`
	JID      string `xml:"jid,omitempty"`
}

func (a *attempt) bind(s *xmpp.Session) (jid.JID, error) {
	resource := a.p.origin.Resourcepart()
	a.log.Debug("binding resource", "requested", resource)
	w := s.TokenWriter()
	defer w.Close()
	r := s.TokenReader()
	defer r.Close()
	d := xml.NewTokenDecoder(r)

	id := randomID()
	var payload xml.TokenReader
	if resource != "" {
		payload = xmlstream.Wrap(xmlstream.Token(xml.CharData(resource)), xml.StartElement{Name: xml.Name{Local: "resource"}})
	}
	iq := stanza.IQ{ID: id, Type: stanza.SetIQ}
	if _, err := xmlstream.Copy(w, iq.Wrap(xmlstream.Wrap(payload,
		xml.StartElement{Name: xml.Name{Space: nsBind, Local: "bind"}}))); err != nil {
		return jid.JID{}, err
	}
	if err := w.Flush(); err != nil {
		return jid.JID{}, err
	}

	start, err := nextStart(d)
	if err != nil {
		return jid.JID{}, err
	}
	var resp struct {
		stanza.IQ
		Bind bindPayload   `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
		Err  *stanza.Error `xml:"jabber:client error"`
	}
	if start.Name.Local != "iq" {
		return jid.JID{}, fmt.Errorf("bind: got <%s/>, want the IQ result: %w", start.Name.Local, protocol.ErrProtocol)
	}
	if err := d.DecodeElement(&resp, &start); err != nil {
		return jid.JID{}, err
	}
	switch {
	case resp.ID != id:
		return jid.JID{}, fmt.Errorf("bind: IQ result for id %q, want %q: %w", resp.ID, id, protocol.ErrProtocol)
	case resp.Type == stanza.ErrorIQ:
		cond := "unknown error"
		if resp.Err != nil {
			cond = resp.Err.Error()
		}
		// RFC 6120 §7.6.2: e.g. conflict, not-allowed, resource-constraint.
		return jid.JID{}, fmt.Errorf("bind resource %q: %s: %w", resource, cond, protocol.ErrProtocol)
	case resp.Type != stanza.ResultIQ:
		return jid.JID{}, fmt.Errorf("bind: IQ of type %q: %w", resp.Type, protocol.ErrProtocol)
	}
	j, err := jid.Parse(resp.Bind.JID)
	if err != nil || j.Resourcepart() == "" || !j.Bare().Equal(a.p.addr.Bare()) {
		// RFC 6120 §7.6.1: the server returns the full JID of the account.
		return jid.JID{}, fmt.Errorf("bind: server returned JID %q for %s: %w", resp.Bind.JID, a.p.addr, protocol.ErrProtocol)
	}
	return j, nil
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
