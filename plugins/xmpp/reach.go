package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"

	"github.com/cusax/cusax/pkg/protocol"
)

// nsReach is XEP-0152's namespace, also its PEP node.
const nsReach = "urn:xmpp:reach:0"

// Bounds on what one <reach/> may contribute.
const (
	maxReachAddrs    = 16
	maxReachURI      = 1024
	maxReachEntries  = 4096 // full JIDs whose last presence reach is kept
	reachAccessModel = "presence"
)

// Reach returns a contact's XEP-0152 reachability addresses: first those
// published in the contact's PEP node urn:xmpp:reach:0 (Source "pep"),
// then those of the last available presence seen from each of the
// contact's resources (Source "presence"; a full JID asks for that
// resource only), without duplicate URIs. An empty jid means the user.
// They are hints only (RFC 7081 §3.3): nothing here proves that the
// addresses belong to the contact.
//
// No addresses is an empty result, not an error. A PEP node that is
// missing or that we may not read (item-not-found, forbidden, not
// subscribed to the contact's presence…) counts as empty. Errors:
// ErrInvalid, ErrNotConnected, ErrTimeout, ErrProtocol.
func (ss *session) Reach(ctx context.Context, contact string) ([]protocol.ReachAddress, error) {
	if err := ss.alive(); err != nil {
		return nil, err
	}
	var owner jid.JID
	if contact != "" {
		j, err := jid.Parse(contact)
		if err != nil {
			return nil, fmt.Errorf("xmpp reach: jid %q: %v: %w", contact, err, protocol.ErrInvalid)
		}
		owner = j
	}
	out := []protocol.ReachAddress{}
	items, err := ss.pepItems(ctx, owner.Bare(), nsReach, 1, maxIQSize)
	switch {
	case err == nil:
		for _, it := range items {
			out = append(out, parseReach(it.child(nsReach, "reach"), "pep")...)
		}
	case condition(err) != "":
		ss.log.Debug("no reach in PEP", "jid", contact, "error", err)
	default:
		return nil, fmt.Errorf("xmpp reach %s: %w", contact, err)
	}
	if owner.Equal(jid.JID{}) {
		owner = ss.s.LocalAddr().Bare()
	}
	out = append(out, ss.reach.get(owner)...)
	return dedupeReach(out), nil
}

// PublishReach publishes the user's reachability addresses (XEP-0152 §4.2)
// to the PEP node urn:xmpp:reach:0, item "current", readable by contacts
// with a presence subscription (access model "presence", set through
// publish-options). No addresses publishes an empty <reach/>, which tells
// contacts there are none. Each URI must be absolute (sip:, sips:, tel:,
// xmpp:, …): ErrInvalid otherwise. A stanza error wraps ErrDenied,
// ErrNotFound or ErrProtocol.
func (ss *session) PublishReach(ctx context.Context, addrs []protocol.ReachAddress) error {
	if err := ss.alive(); err != nil {
		return err
	}
	if err := checkReach(addrs); err != nil {
		return fmt.Errorf("xmpp publish reach: %w", err)
	}
	err := ss.pepPublish(ctx, nsReach, "current", func() xml.TokenReader { return reachElem(addrs, true) }, reachAccessModel)
	if err != nil {
		return fmt.Errorf("xmpp publish reach: %w", err)
	}
	ss.log.Debug("reach published", "addresses", len(addrs))
	return nil
}

// checkReach validates addresses we are about to send.
func checkReach(addrs []protocol.ReachAddress) error {
	if len(addrs) > maxReachAddrs {
		return fmt.Errorf("%d reach addresses, at most %d: %w", len(addrs), maxReachAddrs, protocol.ErrInvalid)
	}
	for _, a := range addrs {
		u, err := url.Parse(a.URI)
		if err != nil || u.Scheme == "" || len(a.URI) > maxReachURI || strings.ContainsAny(a.URI, " \t\r\n") {
			return fmt.Errorf("reach address %q: want an absolute URI such as sip:alice@example.com: %w", a.URI, protocol.ErrInvalid)
		}
	}
	return nil
}

// reachElem is <reach xmlns='urn:xmpp:reach:0'><addr uri=…><desc
// xml:lang='en'>…</desc></addr></reach> (XEP-0152 §3), with the
// descriptions only when withDesc.
func reachElem(addrs []protocol.ReachAddress, withDesc bool) xml.TokenReader {
	var parts []xml.TokenReader
	for _, a := range addrs {
		var desc xml.TokenReader
		if a.Desc != "" && withDesc {
			desc = xmlstream.Wrap(xmlstream.Token(xml.CharData(a.Desc)), xml.StartElement{
				Name: xml.Name{Local: "desc"},
				Attr: []xml.Attr{{Name: xml.Name{Space: nsXML, Local: "lang"}, Value: "en"}},
			})
		}
		parts = append(parts, xmlstream.Wrap(desc, xml.StartElement{
			Name: xml.Name{Local: "addr"},
			Attr: []xml.Attr{{Name: xml.Name{Local: "uri"}, Value: a.URI}},
		}))
	}
	return xmlstream.Wrap(xmlstream.MultiReader(parts...), xml.StartElement{Name: xml.Name{Space: nsReach, Local: "reach"}})
}

// parseReach reads the addresses of a <reach/> element (nil: none),
// keeping at most maxReachAddrs with a non-empty URI.
func parseReach(r *elem, source string) []protocol.ReachAddress {
	var out []protocol.ReachAddress
	for _, a := range r.all(nsReach, "addr") {
		uri := strings.TrimSpace(a.attr("uri"))
		if uri == "" || len(uri) > maxReachURI || !strings.Contains(uri, ":") {
			continue
		}
		out = append(out, protocol.ReachAddress{
			URI:    strings.ToValidUTF8(uri, "\uFFFD"),
			Desc:   cleanText(pickLang(a.all(nsReach, "desc")).Text(), 256),
			Source: source,
		})
		if len(out) == maxReachAddrs {
			break
		}
	}
	return out
}

func dedupeReach(in []protocol.ReachAddress) []protocol.ReachAddress {
	seen := map[string]bool{}
	out := in[:0]
	for _, a := range in {
		if !seen[a.URI] {
			seen[a.URI] = true
			out = append(out, a)
		}
	}
	return out
}

// reachCache keeps the reach addresses of the last available presence of
// each full JID (XEP-0152 §4.1), for Reach. Its size is bounded: a server
// flooding us with presences from many JIDs cannot grow it without limit.
type reachCache struct {
	mu sync.Mutex
	m  map[string][]protocol.ReachAddress // full JID → addresses
}

// set records addrs for from (nil forgets it).
func (c *reachCache) set(from jid.JID, addrs []protocol.ReachAddress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := from.String()
	if len(addrs) == 0 {
		delete(c.m, key)
		return
	}
	if c.m == nil {
		c.m = map[string][]protocol.ReachAddress{}
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= maxReachEntries {
		return
	}
	c.m[key] = addrs
}

// get returns the addresses seen from j: a bare JID collects every
// resource (and the bare JID itself), a full JID only that one.
func (c *reachCache) get(j jid.JID) []protocol.ReachAddress {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j.Resourcepart() != "" {
		return append([]protocol.ReachAddress(nil), c.m[j.String()]...)
	}
	bare := j.String()
	var keys []string
	for k := range c.m {
		if k == bare || strings.HasPrefix(k, bare+"/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // a stable order across calls
	var out []protocol.ReachAddress
	for _, k := range keys {
		out = append(out, c.m[k]...)
	}
	return out
}
