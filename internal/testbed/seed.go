package testbed

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// Contact is one roster item to seed (RFC 6121 §2.1.2).
type Contact struct {
	JID    string   // bare JID of the contact, e.g. "bob@example.test"
	Name   string   // roster name ("" = none)
	Groups []string // roster groups

	// Mutual makes the subscription "both" through a real exchange (RFC 6121 §3): both
	// accounts come online, each sends subscribe and the other answers subscribed. The
	// contact must then be an account of the bed (one of Users or added by AddUsers).
	Mutual bool
}

// Seed is data to put into the bed's Prosody through XMPP, keyed by user name ("alice"; a
// user of the bed or one added by AddUsers).
type Seed struct {
	// Rosters: items added to each user's roster, one roster set per item.
	Rosters map[string][]Contact

	// VCard4: an xCard (RFC 6351, <vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>…</vcard>)
	// published as XEP-0292 to the user's PEP node urn:xmpp:vcard4, item "current", with
	// publish-options access_model=open and persist_items=true.
	VCard4 map[string]string

	// VCardTemp: a XEP-0054 vCard (<vCard xmlns='vcard-temp'>…</vCard>) stored with an iq
	// set. Prosody 0.12 (mod_vcard_legacy) converts it to vCard4 in PEP, losing TEL types
	// other than HOME and WORK, and reads vcard-temp back from that vCard4. A user with both
	// VCardTemp and VCard4 ends with the VCard4 one: it is published last.
	VCardTemp map[string]string

	// Reach: SIP URIs published as XEP-0152 reachability addresses to the PEP node
	// urn:xmpp:reach:0, item "current", with access_model=presence (only contacts with a
	// presence subscription may read them).
	Reach map[string][]string
}

// seedTimeout bounds a whole Seed when ctx has no deadline of its own.
const seedTimeout = 30 * time.Second

// Seed stores s in Prosody the way a client would: it logs in as each user concerned (with
// the bed's own XMPP client, not cusax's), sends vcard-temp sets, PEP publishes and roster
// sets, and for Mutual contacts runs the subscription exchange with both accounts online and
// waits until both rosters show subscription "both". Seeding is additive and may be repeated:
// existing items are updated, and a Mutual contact already at "both" is left alone.
//
// Side effects beyond the data: each user logs in once (counted in the run log), and users
// taking part in a Mutual exchange send available presence with priority -1 (so offline
// messages stay stored) and are subscribed to each other's presence afterwards.
//
// Mistakes that need no server (an unknown user, a Mutual contact that is not an account of
// the bed, a JID with a resource, XML that does not parse or is not a vCard, a user of
// NoTLSDomain, which the client does not use) fail before anything is sent. After that,
// errors name the user and the step, and what was seeded before stays. Contact JIDs must be
// in canonical (lower-case) form.
func (b *Bed) Seed(ctx context.Context, s Seed) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, seedTimeout)
		defer cancel()
	}
	if err := b.checkSeed(s); err != nil {
		return fmt.Errorf("testbed: seed: %w", err)
	}
	sessions := map[string]*xmppClient{}
	defer func() {
		for _, c := range sessions {
			_ = c.close()
		}
	}()
	login := func(name string) (*xmppClient, error) {
		if c := sessions[name]; c != nil {
			return c, nil
		}
		a, _ := b.account(name) // checked by checkSeed
		c, err := loginXMPP(ctx, b.XMPPAddr, b.CAPool, a.Name, a.Domain, a.Password)
		if err != nil {
			return nil, fmt.Errorf("testbed: seed: %w", err)
		}
		sessions[name] = c
		return c, nil
	}

	// vcard-temp first: mod_vcard_legacy turns it into the vCard4 PEP item, which a VCard4
	// for the same user then replaces.
	for _, name := range slices.Sorted(maps.Keys(s.VCardTemp)) {
		c, err := login(name)
		if err != nil {
			return err
		}
		if _, err := c.iq(ctx, stanza.SetIQ, "", s.VCardTemp[name]); err != nil {
			return fmt.Errorf("testbed: seed: store vcard-temp of %s: %w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.VCard4)) {
		c, err := login(name)
		if err != nil {
			return err
		}
		opts := map[string]string{"pubsub#access_model": "open", "pubsub#persist_items": "true"}
		if err := c.publish(ctx, nodeVCard4, "current", s.VCard4[name], opts); err != nil {
			return fmt.Errorf("testbed: seed: publish vCard4 of %s: %w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Reach)) {
		c, err := login(name)
		if err != nil {
			return err
		}
		if err := c.publish(ctx, nodeReach, "current", reachPayload(s.Reach[name]), map[string]string{"pubsub#access_model": "presence"}); err != nil {
			return fmt.Errorf("testbed: seed: publish reach of %s: %w", name, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Rosters)) {
		c, err := login(name)
		if err != nil {
			return err
		}
		for _, ct := range s.Rosters[name] {
			if err := c.setRosterItem(ctx, ct); err != nil {
				return fmt.Errorf("testbed: seed: roster of %s: add %s: %w", name, ct.JID, err)
			}
			if !ct.Mutual {
				continue
			}
			other, _ := b.userByJID(ct.JID)
			oc, err := login(other)
			if err != nil {
				return err
			}
			if err := subscribeMutual(ctx, c, oc); err != nil {
				return fmt.Errorf("testbed: seed: mutual subscription %s <-> %s: %w", name, ct.JID, err)
			}
		}
	}
	return nil
}

// checkSeed finds the mistakes that need no server before anything is sent.
func (b *Bed) checkSeed(s Seed) error {
	users := map[string]bool{}
	for _, m := range []map[string]string{s.VCardTemp, s.VCard4} {
		for name, x := range m {
			users[name] = true
			n, err := parseXML(x)
			if err != nil {
				return fmt.Errorf("vCard of %s: %w", name, err)
			}
			if want := map[string]string{nsVCardTemp: "vCard", nsVCard4: "vcard"}[n.XMLName.Space]; want == "" || n.XMLName.Local != want {
				return fmt.Errorf("vCard of %s: root element {%s}%s is neither a vcard-temp vCard nor an xCard vcard", name, n.XMLName.Space, n.XMLName.Local)
			}
		}
	}
	for name := range s.Reach {
		users[name] = true
	}
	for name, contacts := range s.Rosters {
		users[name] = true
		for _, ct := range contacts {
			if j, err := jid.Parse(ct.JID); err != nil || j.Resourcepart() != "" {
				return fmt.Errorf("roster of %s: %q is not a bare JID", name, ct.JID)
			}
			if ct.Mutual {
				other, ok := b.userByJID(ct.JID)
				if !ok {
					return fmt.Errorf("roster of %s: %s is Mutual but not an account of the bed", name, ct.JID)
				}
				users[other] = true
			}
		}
	}
	for name := range users {
		a, ok := b.account(name)
		if !ok {
			return fmt.Errorf("unknown user %q", name)
		}
		if a.Domain == b.NoTLSDomain {
			return fmt.Errorf("user %q is on %s, which the seeding client does not use (no TLS)", name, a.Domain)
		}
	}
	return nil
}

// reachPayload is a XEP-0152 <reach/> element listing uris.
func reachPayload(uris []string) string {
	var sb strings.Builder
	sb.WriteString("<reach xmlns='urn:xmpp:reach:0'>")
	for _, u := range uris {
		fmt.Fprintf(&sb, "<addr uri='%s'/>", escapeXML(u))
	}
	sb.WriteString("</reach>")
	return sb.String()
}

// subscribeMutual runs RFC 6121 §3.1 both ways between a and b, each side answering the
// other's subscribe only once it has arrived, then waits for subscription "both" on both
// rosters. Pairs already at "both" are left alone.
func subscribeMutual(ctx context.Context, a, b *xmppClient) error {
	aj, bj := a.jid.Bare().String(), b.jid.Bare().String()
	if ok, err := hasSubscription(ctx, a, bj, "both"); err != nil || ok {
		return err
	}
	// Subscription requests go to available resources only (else they wait offline), so
	// both come online first.
	for _, c := range []*xmppClient{a, b} {
		if !c.available {
			if err := c.sendPresence(ctx, "", stanza.AvailablePresence); err != nil {
				return err
			}
			c.available = true
		}
	}
	for _, pair := range [][2]*xmppClient{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		fj := from.jid.Bare().String()
		if err := from.sendPresence(ctx, to.jid.Bare().String(), stanza.SubscribePresence); err != nil {
			return err
		}
		if err := to.waitStanza(ctx, "subscribe from "+fj, isPresence(fj, "subscribe")); err != nil {
			return err
		}
		if err := to.sendPresence(ctx, fj, stanza.SubscribedPresence); err != nil {
			return err
		}
	}
	for _, w := range []struct {
		c     *xmppClient
		other string
	}{{a, bj}, {b, aj}} {
		if err := waitSubscription(ctx, w.c, w.other, "both"); err != nil {
			return err
		}
	}
	return nil
}

// isPresence matches a presence of type typ from the bare JID from (any resource).
func isPresence(from, typ string) func(xnode) bool {
	return func(n xnode) bool {
		f, _, _ := strings.Cut(n.attr("from"), "/")
		return n.XMLName.Local == "presence" && n.attr("type") == typ && f == from
	}
}

func hasSubscription(ctx context.Context, c *xmppClient, contact, sub string) (bool, error) {
	items, err := c.roster(ctx)
	if err != nil {
		return false, err
	}
	for _, it := range items {
		if it.JID == contact {
			return it.Subscription == sub, nil
		}
	}
	return false, nil
}

// waitSubscription polls the roster until contact's subscription is sub.
func waitSubscription(ctx context.Context, c *xmppClient, contact, sub string) error {
	for {
		ok, err := hasSubscription(ctx, c, contact, sub)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: roster item %s never reached subscription %q: %w", c.jid.Bare(), contact, sub, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
