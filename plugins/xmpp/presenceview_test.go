package xmpp

import (
	"fmt"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/cusax/cusax/pkg/protocol"
)

// A server flooding us with presences from ever new JIDs cannot grow the
// view without bound; unavailable forgets; a known JID is still updated
// when the view is full.
func TestKnownPresencesBounded(t *testing.T) {
	var k knownPresences
	first := jid.MustParse("a0@example.test/r")
	for i := range maxReachEntries + 500 {
		j := jid.MustParse(fmt.Sprintf("a%d@example.test/r", i))
		k.set(j, &protocol.Presence{From: j.String()})
	}
	if n := len(k.all()); n != maxReachEntries {
		t.Fatalf("%d entries, want the bound %d", n, maxReachEntries)
	}
	k.set(first, &protocol.Presence{From: first.String(), Show: "dnd"})
	if got := k.all()[0]; got.From != first.String() || got.Show != "dnd" {
		t.Errorf("update of a known JID: %+v", got)
	}
	k.set(first, nil)
	if n := len(k.all()); n != maxReachEntries-1 {
		t.Errorf("after unavailable: %d entries", n)
	}
}
