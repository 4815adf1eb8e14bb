package soak

import "testing"

// TestTally: the counting the table rests on, without servers (this runs
// in `make test`; TestSoak does not).
func TestTally(t *testing.T) {
	tl := newTally()
	for _, id := range append(ids("kill9", 1, 3), ids("prosody", 2, 2)...) {
		tl.markSent(id)
	}
	tl.add(`{"body":"soak-kill9-r1-0 xxx"}`)
	tl.add(`{"body":"soak-kill9-r1-0 xxx"}`) // a duplicate
	tl.add(`{"body":"soak-kill9-r1-2"}`)
	tl.add(`{"body":"soak-prosody-r2-1"}`)
	tl.add(`{"body":"soak-kill9-r1-22"}`) // never sent: not counted
	if sent, got, lost, dup := tl.count("soak-kill9-"); sent != 3 || got != 2 || lost != 1 || dup != 1 {
		t.Errorf("kill9: sent %d received %d lost %d dup %d", sent, got, lost, dup)
	}
	if sent, got, lost, dup := tl.count("soak-prosody-"); sent != 2 || got != 1 || lost != 1 || dup != 0 {
		t.Errorf("prosody: sent %d received %d lost %d dup %d", sent, got, lost, dup)
	}
	if n := tl.seen(ids("kill9", 1, 3)); n != 2 {
		t.Errorf("seen %d", n)
	}
}
