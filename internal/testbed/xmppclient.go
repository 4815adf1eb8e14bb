package testbed

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// XML namespaces the seeding client speaks.
const (
	nsRoster       = "jabber:iq:roster" // RFC 6121 §2
	nsPubSub       = "http://jabber.org/protocol/pubsub"
	nsPubSubOwner  = "http://jabber.org/protocol/pubsub#owner"
	nsVCardTemp    = "vcard-temp"                       // XEP-0054
	nsVCard4       = "urn:ietf:params:xml:ns:vcard-4.0" // RFC 6351 xCard
	nodeVCard4     = "urn:xmpp:vcard4"                  // XEP-0292 PEP node
	nodeReach      = "urn:xmpp:reach:0"                 // XEP-0152 PEP node
	nsDataForms    = "jabber:x:data"                    // XEP-0004
	formPublishOpt = "http://jabber.org/protocol/pubsub#publish-options"
	formNodeConfig = "http://jabber.org/protocol/pubsub#node_config"
)

// xmppClient is the test bed's own small XMPP client (mellium.im/xmpp), used to seed data and
// to read it back. It is independent of the code under test on purpose: a bug in cusax's XMPP
// plugin must not be able to hide itself by seeding wrong data.
type xmppClient struct {
	jid    jid.JID // full JID bound by the server
	s      *xmpp.Session
	conn   net.Conn
	served chan error // Serve's result, once it ends

	available bool // sent available presence (only Seed's goroutine touches it)

	mu     sync.Mutex
	inbox  []xnode       // presence and message stanzas received
	signal chan struct{} // poked (never blocking) when inbox grows
}

// stanzaError is an XMPP error reply (RFC 6120 §8.3).
type stanzaError struct {
	Type, Condition, Text string
}

func (e *stanzaError) Error() string {
	s := "stanza error " + e.Type + "/" + e.Condition
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// errorCondition returns the condition of a stanza error in err's chain, or "".
func errorCondition(err error) string {
	var se *stanzaError
	if errors.As(err, &se) {
		return se.Condition
	}
	return ""
}

// loginXMPP connects to addr, negotiates STARTTLS (verifying the server against pool with the
// domain as name), authenticates with SCRAM-SHA-1 (what Prosody 0.12 offers besides PLAIN)
// and binds a resource. Serve runs until close: it delivers IQ responses, answers roster
// pushes and collects presence stanzas.
func loginXMPP(ctx context.Context, addr string, pool *x509.CertPool, local, domain, password string) (*xmppClient, error) {
	origin, err := jid.New(local, domain, "testbed-"+randomHex(4))
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// mellium's negotiation only honours ctx for cancellation; a deadline on the conn makes a
	// server that stops talking fail the login instead of hanging it.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	s, err := xmpp.NewClientSession(ctx, origin, conn,
		// An explicit config: StartTLS(nil) would keep the first ServerName it sees.
		xmpp.StartTLS(clientTLS(pool, domain)),
		xmpp.SASL("", password, sasl.ScramSha1),
		xmpp.BindResource(),
	)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("xmpp login %s@%s: %w", local, domain, err)
	}
	_ = conn.SetDeadline(time.Time{})
	c := &xmppClient{jid: s.LocalAddr(), s: s, conn: conn, served: make(chan error, 1), signal: make(chan struct{}, 1)}
	go func() { c.served <- s.Serve(xmpp.HandlerFunc(c.handle)) }()
	return c, nil
}

// handle is the Serve handler. It must not use the session's send methods (they would
// deadlock): replies go through t.
func (c *xmppClient) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	n, err := decodeElement(xmlstream.MultiReader(xmlstream.Token(*start), t))
	if err != nil {
		return err
	}
	switch n.XMLName.Local {
	case "iq":
		// RFC 6121 §2.1.6: a client acknowledges a roster push. Pushes may come from our
		// own bare JID or carry no from at all.
		if n.attr("type") == "set" && n.child("query") != nil && n.child("query").XMLName.Space == nsRoster {
			from := n.attr("from")
			if from == "" || from == c.jid.Bare().String() {
				return copyTokens(t, stanza.IQ{ID: n.attr("id"), Type: stanza.ResultIQ}.Wrap(nil))
			}
		}
		// Anything else gets Serve's automatic service-unavailable.
		return nil
	case "presence", "message":
		c.mu.Lock()
		c.inbox = append(c.inbox, n)
		c.mu.Unlock()
		select {
		case c.signal <- struct{}{}:
		default:
		}
	}
	return nil
}

func copyTokens(w xmlstream.TokenWriter, r xml.TokenReader) error {
	_, err := xmlstream.Copy(w, r)
	return err
}

// waitStanza waits until a received presence or message satisfies match.
func (c *xmppClient) waitStanza(ctx context.Context, what string, match func(xnode) bool) error {
	for {
		c.mu.Lock()
		for _, n := range c.inbox {
			if match(n) {
				c.mu.Unlock()
				return nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.signal:
		case err := <-c.served:
			c.served <- err
			return fmt.Errorf("%s: waiting for %s: session ended: %v", c.jid, what, err)
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %s: %w", c.jid, what, ctx.Err())
		}
	}
}

// iq sends an IQ of type typ ("get" or "set") with the payload given as XML text to "to"
// ("" = the account itself) and returns the payload of the result: the zero xnode for an
// empty result, a *stanzaError for an error reply.
func (c *xmppClient) iq(ctx context.Context, typ stanza.IQType, to, payload string) (xnode, error) {
	iq := stanza.IQ{Type: typ}
	if to != "" {
		j, err := jid.Parse(to)
		if err != nil {
			return xnode{}, err
		}
		iq.To = j
	}
	resp, err := c.s.SendIQ(ctx, iq.Wrap(xmlTokens(payload)))
	if err != nil {
		return xnode{}, fmt.Errorf("%s: iq %s to %q: %w", c.jid, typ, to, err)
	}
	defer resp.Close()
	n, err := decodeElement(resp)
	if err != nil {
		return xnode{}, fmt.Errorf("%s: iq %s to %q: read reply: %w", c.jid, typ, to, err)
	}
	if n.attr("type") == "error" {
		se := &stanzaError{Condition: "undefined-condition"}
		if e := n.child("error"); e != nil {
			se.Type = e.attr("type")
			for _, ch := range e.Children {
				if ch.XMLName.Local == "text" {
					se.Text = strings.TrimSpace(ch.Text)
				} else if ch.XMLName.Space == "urn:ietf:params:xml:ns:xmpp-stanzas" {
					se.Condition = ch.XMLName.Local
				}
			}
		}
		return xnode{}, fmt.Errorf("%s: iq %s to %q: %w", c.jid, typ, to, se)
	}
	if len(n.Children) == 0 {
		return xnode{}, nil
	}
	return n.Children[0], nil
}

// sendPresence sends a presence stanza of type typ ("" = available) to "to" ("" = broadcast).
// Available presence carries priority -1: RFC 6121 §4.7.2.3 keeps messages away from such a
// resource, and Prosody then leaves the account's offline messages where they are.
func (c *xmppClient) sendPresence(ctx context.Context, to string, typ stanza.PresenceType) error {
	p := stanza.Presence{Type: typ}
	if to != "" {
		j, err := jid.Parse(to)
		if err != nil {
			return err
		}
		p.To = j
	}
	var payload xml.TokenReader
	if typ == stanza.AvailablePresence {
		payload = xmlstream.Wrap(xmlstream.Token(xml.CharData("-1")), xml.StartElement{Name: xml.Name{Local: "priority"}})
	}
	return c.s.Send(ctx, p.Wrap(payload))
}

// rosterItem is one item of a roster get (RFC 6121 §2.1.2).
type rosterItem struct {
	JID, Name, Subscription, Ask string
	Groups                       []string
}

// roster fetches the account's roster.
func (c *xmppClient) roster(ctx context.Context) ([]rosterItem, error) {
	q, err := c.iq(ctx, stanza.GetIQ, "", "<query xmlns='"+nsRoster+"'/>")
	if err != nil {
		return nil, err
	}
	var items []rosterItem
	for _, it := range q.all("item") {
		ri := rosterItem{JID: it.attr("jid"), Name: it.attr("name"), Subscription: it.attr("subscription"), Ask: it.attr("ask")}
		if ri.Subscription == "" {
			ri.Subscription = "none"
		}
		for _, g := range it.all("group") {
			ri.Groups = append(ri.Groups, g.Text)
		}
		items = append(items, ri)
	}
	return items, nil
}

// setRosterItem adds or updates one roster item. RFC 6121 §2.3.2: a roster set carries
// exactly one item, so this is one IQ per contact.
func (c *xmppClient) setRosterItem(ctx context.Context, contact Contact) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "<query xmlns='%s'><item jid='%s'", nsRoster, escapeXML(contact.JID))
	if contact.Name != "" {
		fmt.Fprintf(&sb, " name='%s'", escapeXML(contact.Name))
	}
	sb.WriteString(">")
	for _, g := range contact.Groups {
		fmt.Fprintf(&sb, "<group>%s</group>", escapeXML(g))
	}
	sb.WriteString("</item></query>")
	_, err := c.iq(ctx, stanza.SetIQ, "", sb.String())
	return err
}

// publish publishes payload (one element as XML text) as item id of the account's PEP node
// (XEP-0163) with the given publish-options (XEP-0060 §7.1.5). Prosody refuses options that
// contradict an existing node's configuration (precondition-not-met); then the node is
// reconfigured to match and the publish is retried once.
func (c *xmppClient) publish(ctx context.Context, node, id, payload string, options map[string]string) error {
	pub := fmt.Sprintf("<pubsub xmlns='%s'><publish node='%s'><item id='%s'>%s</item></publish>%s</pubsub>",
		nsPubSub, escapeXML(node), escapeXML(id), payload, dataForm("publish-options", formPublishOpt, options))
	_, err := c.iq(ctx, stanza.SetIQ, "", pub)
	if errorCondition(err) != "conflict" && errorCondition(err) != "precondition-not-met" {
		return err
	}
	conf := fmt.Sprintf("<pubsub xmlns='%s'><configure node='%s'>%s</configure></pubsub>",
		nsPubSubOwner, escapeXML(node), dataForm("", formNodeConfig, options))
	if _, cerr := c.iq(ctx, stanza.SetIQ, "", conf); cerr != nil {
		return fmt.Errorf("%w; reconfiguring the node: %v", err, cerr)
	}
	_, err = c.iq(ctx, stanza.SetIQ, "", pub)
	return err
}

// dataForm renders a submitted XEP-0004 form with the given FORM_TYPE, wrapped in an element
// called wrap unless wrap is "".
func dataForm(wrap, formType string, fields map[string]string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "<x xmlns='%s' type='submit'><field var='FORM_TYPE' type='hidden'><value>%s</value></field>", nsDataForms, formType)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		fmt.Fprintf(&sb, "<field var='%s'><value>%s</value></field>", escapeXML(k), escapeXML(fields[k]))
	}
	sb.WriteString("</x>")
	if wrap == "" {
		return sb.String()
	}
	return "<" + wrap + ">" + sb.String() + "</" + wrap + ">"
}

// items fetches the items of owner's PEP node (XEP-0060 §6.5.2) and returns their payloads
// by item id.
func (c *xmppClient) items(ctx context.Context, owner, node string) (map[string]xnode, error) {
	ps, err := c.iq(ctx, stanza.GetIQ, owner, fmt.Sprintf("<pubsub xmlns='%s'><items node='%s'/></pubsub>", nsPubSub, escapeXML(node)))
	if err != nil {
		return nil, err
	}
	out := map[string]xnode{}
	if its := ps.child("items"); its != nil {
		for _, it := range its.all("item") {
			var payload xnode
			if len(it.Children) > 0 {
				payload = it.Children[0]
			}
			out[it.attr("id")] = payload
		}
	}
	return out, nil
}

// close ends the stream (RFC 6120 §4.4) and waits briefly for the server to close its side.
func (c *xmppClient) close() error {
	err := c.s.Close()
	select {
	case <-c.served:
	case <-time.After(2 * time.Second):
	}
	if cerr := c.conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}
