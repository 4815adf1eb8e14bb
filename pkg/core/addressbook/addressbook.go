// Package addressbook turns an XMPP roster into the user's address book for
// calls too (RFC 7081 §3, §3.3): each contact with its vCard, the TELs a
// call can use, the video cue, the cost cues of §5, and XEP-0152
// reachability hints judged against the vCard.
package addressbook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/vcardcache"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/vcardxml"
	"github.com/emersion/go-vcard"
)

// Contact is one roster entry with what a caller needs to know.
type Contact struct {
	JID          string           `json:"jid"`
	Name         string           `json:"name"`
	Subscription string           `json:"subscription"`
	Groups       []string         `json:"groups"`
	Tels         []contacts.Tel   `json:"tels"`
	Callable     bool             `json:"callable"`
	Video        bool             `json:"video"`
	InterDomain  bool             `json:"inter_domain"`
	PSTN         bool             `json:"pstn"`
	Reach        []contacts.Reach `json:"reach"`
	Presence     *PresenceSummary `json:"presence,omitempty"`
	VCardSource  string           `json:"vcard_source,omitempty"`
	VCardError   string           `json:"vcard_error,omitempty"`
	Card         vcard.Card       `json:"-"`
	VCard        *protocol.VCard  `json:"-"`
}

// PresenceSummary is the contact's presence as last seen.
type PresenceSummary struct {
	// State is "available" (a presence came: see Show), "offline" (we are
	// subscribed to the contact's presence, subscription "to" or "both",
	// and none came, or an unavailable one) or "unknown" (no subscription
	// gives us their presence, subscription "none" or "from", RFC 6121
	// §2.1.2.1: the server would not tell us, so offline would be a guess).
	State     string `json:"state"`
	Available bool   `json:"available"`
	Show      string `json:"show,omitempty"`
	Status    string `json:"status,omitempty"`
}

// Options shape a Build.
type Options struct {
	// AccountDomain is the domain of the user's own JID (for §5 cues).
	AccountDomain string
	// Cache holds vCards between runs; nil disables it.
	Cache *vcardcache.Cache
	// Refresh ignores (but refills) the cache.
	Refresh bool
	// Concurrency bounds simultaneous vCard and reach queries (default 8).
	Concurrency int
	// PresenceWait > 0 collects presence for that long (RFC 6121 §4.2:
	// the server sends contacts' presence after our initial presence).
	PresenceWait time.Duration
	// Only limits the work to these bare JIDs (nil = the whole roster).
	Only []string
}

// Build fetches the roster and enriches every contact. Per-contact failures
// (a vCard that cannot be fetched or parsed) are recorded in the contact,
// never fatal: one hostile vCard must not hide the rest of the roster.
func Build(ctx context.Context, sess protocol.IMPPSession, caps protocol.Info, opts Options) ([]Contact, error) {
	var presences protocol.Stream[protocol.Presence]
	var live map[string]PresenceSummary
	if opts.PresenceWait > 0 {
		live = liveView(ctx, sess, caps)
	}
	if opts.PresenceWait > 0 && live == nil {
		st, err := sess.Presences(ctx)
		if err != nil {
			return nil, fmt.Errorf("presence: %w", err)
		}
		presences = st
		defer st.Close()
		// Priority -1: this session only looks, so the server must neither
		// hand it the messages stored offline nor route new ones to it
		// (RFC 6121 §8.5.2.1.1); contacts' presence still comes (§4.2.2).
		// (With XEP-0198 a message it never read would be stored again at
		// its end; without, it would be lost.)
		if err := sess.SetPresence(ctx, protocol.Presence{Priority: -1}); err != nil {
			return nil, fmt.Errorf("presence: %w", err)
		}
	}
	items, err := sess.Roster(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	out := make([]Contact, 0, len(items))
	only := map[string]bool{}
	for _, j := range opts.Only {
		only[address.BareKey(j)] = true // case and IDN form do not matter
	}
	for _, it := range items {
		if len(only) > 0 && !only[address.BareKey(it.JID)] {
			continue
		}
		groups := it.Groups
		if groups == nil {
			groups = []string{}
		}
		out = append(out, Contact{JID: it.JID, Name: it.Name, Subscription: it.Subscription, Groups: groups, Tels: []contacts.Tel{}, Reach: []contacts.Reach{}})
	}
	n := opts.Concurrency
	if n <= 0 {
		n = 8
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			enrich(ctx, sess, caps, opts, &out[i])
		}()
	}
	pres := live
	if presences != nil {
		pres = collectPresence(ctx, presences, opts.PresenceWait)
	}
	wg.Wait()
	for i := range out {
		if pres != nil {
			p := pres[strings.ToLower(out[i].JID)]
			p.State = presenceState(p, out[i].Subscription)
			out[i].Presence = &p
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := strings.ToLower(displayName(out[i])), strings.ToLower(displayName(out[j]))
		if a != b {
			return a < b
		}
		return out[i].JID < out[j].JID
	})
	return out, ctx.Err()
}

func displayName(c Contact) string {
	if c.Name != "" {
		return c.Name
	}
	return c.JID
}

func enrich(ctx context.Context, sess protocol.IMPPSession, caps protocol.Info, opts Options, c *Contact) {
	cached, hit := lookup(opts, c.JID)
	v, none, err := cached.VCard, cached.None, error(nil)
	if !hit {
		v, none, err = fetchVCard(ctx, sess, caps, c.JID)
	}
	switch {
	case err != nil:
		c.VCardError = err.Error()
	case none:
	default:
		card, perr := vcardxml.ParseText(v.Text)
		if perr != nil {
			c.VCardError = "unreadable vCard: " + perr.Error()
			break
		}
		c.Card, c.VCard, c.VCardSource = card, &v, v.Source
		calling := contacts.Derive(card, c.JID, opts.AccountDomain)
		c.Tels, c.Callable, c.Video, c.InterDomain, c.PSTN = calling.Tels, calling.Callable, calling.Video, calling.InterDomain, calling.PSTN
		if c.Tels == nil {
			c.Tels = []contacts.Tel{}
		}
	}
	if c.Card == nil {
		// No vCard: still a §5 cue if the contact lives elsewhere.
		c.InterDomain = contacts.Derive(vcard.Card{}, c.JID, opts.AccountDomain).InterDomain
	}
	addrs, reachKnown := cached.Reach, hit && cached.ReachKnown
	if !reachKnown && caps.Has(protocol.CapReach) {
		if a, rerr := sess.Reach(ctx, c.JID); rerr == nil {
			addrs, reachKnown = a, true
		}
	}
	if len(addrs) > 0 {
		c.Reach = contacts.JudgeReach(addrs, c.Card)
	}
	if opts.Cache != nil && err == nil && (!hit || (reachKnown && !cached.ReachKnown)) {
		_ = opts.Cache.Put(c.JID, vcardcache.Result{VCard: v, None: none, Reach: addrs, ReachKnown: reachKnown})
	}
}

// lookup consults the cache unless --refresh.
func lookup(opts Options, jid string) (vcardcache.Result, bool) {
	if opts.Cache == nil || opts.Refresh {
		return vcardcache.Result{}, false
	}
	return opts.Cache.Get(jid)
}

// fetchVCard asks the server; ErrNotFound means "no vCard", not a failure.
func fetchVCard(ctx context.Context, sess protocol.IMPPSession, caps protocol.Info, jid string) (protocol.VCard, bool, error) {
	if !caps.Has(protocol.CapVCard) {
		return protocol.VCard{}, true, nil
	}
	v, err := sess.VCard(ctx, jid)
	if errors.Is(err, protocol.ErrNotFound) {
		return protocol.VCard{}, true, nil
	}
	if err != nil {
		return protocol.VCard{}, false, err
	}
	if v.JID == "" {
		v.JID = jid
	}
	return v, false, nil
}

// liveView is the presence a session online for a while already knows
// (protocol.PresenceView: the session `cusax agent` keeps), by bare JID;
// nil when the session cannot tell, or is not online (its own available
// presence has not gone out, so the server sent it nothing). Using it
// sends no presence of ours: the user's presence stays as it is.
func liveView(ctx context.Context, sess protocol.IMPPSession, caps protocol.Info) map[string]PresenceSummary {
	pv, ok := sess.(protocol.PresenceView)
	if !ok || !caps.Has(protocol.CapPresenceView) {
		return nil
	}
	snap, err := pv.KnownPresences(ctx)
	if err != nil || !snap.Online {
		return nil
	}
	out := map[string]PresenceSummary{}
	for _, p := range snap.Presences {
		b := strings.ToLower(p.From)
		if i := strings.IndexByte(b, '/'); i >= 0 {
			b = b[:i]
		}
		if prev, seen := out[b]; !seen || prev.Show != "" && p.Show == "" {
			// Several resources: prefer one that is plainly available.
			out[b] = PresenceSummary{Available: true, Show: p.Show, Status: p.Status}
		}
	}
	return out
}

// presenceState is PresenceSummary.State: a presence received counts
// whatever the subscription (a server may send it, e.g. after a directed
// presence); without one, only a subscription to the contact's presence
// (RFC 6121 §2.1.2.1 "to" or "both") makes their silence mean offline.
func presenceState(p PresenceSummary, subscription string) string {
	switch {
	case p.Available:
		return "available"
	case subscription == "to" || subscription == "both":
		return "offline"
	}
	return "unknown"
}

func collectPresence(ctx context.Context, st protocol.Stream[protocol.Presence], wait time.Duration) map[string]PresenceSummary {
	out := map[string]PresenceSummary{}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := st.Recv()
			if err != nil {
				return
			}
			b := strings.ToLower(p.From)
			if i := strings.IndexByte(b, '/'); i >= 0 {
				b = b[:i]
			}
			mu.Lock()
			switch p.Type {
			case "", "available":
				out[b] = PresenceSummary{Available: true, Show: p.Show, Status: p.Status}
			case "unavailable":
				if _, ok := out[b]; !ok {
					out[b] = PresenceSummary{Status: p.Status}
				}
			}
			mu.Unlock()
		}
	}()
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	st.Close()
	mu.Lock()
	defer mu.Unlock()
	cp := make(map[string]PresenceSummary, len(out))
	for k, v := range out {
		cp[k] = v
	}
	return cp
}
