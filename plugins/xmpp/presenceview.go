package xmpp

import (
	"context"
	"slices"
	"strings"
	"sync"

	"mellium.im/xmpp/jid"

	"github.com/cusax/cusax/pkg/protocol"
)

var _ protocol.PresenceView = (*session)(nil)

// KnownPresences returns the last available presence of every full JID
// not gone unavailable since (RFC 6121 §4.4.2), sorted by From. Online
// says whether our own available presence went out (SetPresence): only
// then does the server send the contacts' presence (RFC 6121 §4.2.2).
func (ss *session) KnownPresences(context.Context) (protocol.PresenceSnapshot, error) {
	if err := ss.alive(); err != nil {
		return protocol.PresenceSnapshot{}, err
	}
	ss.mu.Lock()
	online := ss.presenceSent
	ss.mu.Unlock()
	return protocol.PresenceSnapshot{Online: online, Presences: ss.known.all()}, nil
}

// knownPresences is the last available presence of each full JID, bounded
// as reachCache is (a server flooding us cannot grow it without limit).
type knownPresences struct {
	mu sync.Mutex
	m  map[string]protocol.Presence
}

// set records p for from; nil forgets it.
func (k *knownPresences) set(from jid.JID, p *protocol.Presence) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := from.String()
	if p == nil {
		delete(k.m, key)
		return
	}
	if k.m == nil {
		k.m = map[string]protocol.Presence{}
	}
	if _, ok := k.m[key]; !ok && len(k.m) >= maxReachEntries {
		return
	}
	k.m[key] = *p
}

func (k *knownPresences) all() []protocol.Presence {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]protocol.Presence, 0, len(k.m))
	for _, p := range k.m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b protocol.Presence) int { return strings.Compare(a.From, b.From) })
	return out
}
