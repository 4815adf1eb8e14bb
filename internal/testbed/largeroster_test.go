package testbed

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"mellium.im/xmpp/stanza"
)

func TestSeedLargeRoster(t *testing.T) {
	b := Start(t, Options{})
	const n = 1000
	start := time.Now()
	jids, err := b.SeedLargeRoster(testCtx(t, 30*time.Second), "alice", n)
	if err != nil {
		t.Fatalf("SeedLargeRoster: %v\n%s", err, b.Logs())
	}
	took := time.Since(start)
	t.Logf("SeedLargeRoster(alice, %d) took %v", n, took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("SeedLargeRoster took %v: it must take seconds, not minutes", took)
	}
	if len(jids) != n || jids[0] != "c0000@example.test" || jids[n-1] != "c0999@example.test" {
		t.Fatalf("JIDs: %d, first %q, last %q", len(jids), jids[0], jids[len(jids)-1])
	}

	ctx := testCtx(t, 20*time.Second)
	alice := login(t, b, "alice")
	fetch := time.Now()
	roster, err := alice.roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("roster get of %d items took %v", len(roster), time.Since(fetch).Round(time.Millisecond))
	byJID := map[string]rosterItem{}
	for _, it := range roster {
		byJID[it.JID] = it
	}
	for i, j := range jids {
		_, fn, _, _ := b.LargeRosterContact(i)
		it, ok := byJID[j]
		if !ok || it.Subscription != "both" || it.Name != fn || len(it.Groups) != 1 || it.Groups[0] != LargeRosterGroup {
			t.Fatalf("roster item %s = %+v (present %v)", j, it, ok)
		}
	}

	t.Run("vCards", func(t *testing.T) {
		for _, i := range []int{0, 499, 999} {
			items, err := alice.items(ctx, jids[i], nodeVCard4)
			if err != nil {
				t.Fatal(err)
			}
			want := mustParse(t, b.largeRosterVCard(i)).canonical()
			if got := items["current"].canonical(); got != want {
				t.Errorf("%s's vCard4:\n got %s\nwant %s", jids[i], got, want)
			}
		}
		// vcard_legacy serves the same data as vcard-temp, TEL types dropped.
		vt, err := alice.iq(ctx, stanza.GetIQ, jids[7], "<vCard xmlns='vcard-temp'/>")
		if err != nil {
			t.Fatal(err)
		}
		_, fn, sipURI, tel := b.LargeRosterContact(7)
		got := vt.canonical()
		for _, w := range []string{fn, sipURI, strings.TrimPrefix(tel, "tel:")} {
			if !strings.Contains(got, fmt.Sprintf("%q", w)) {
				t.Errorf("vcard-temp of %s lacks %q: %s", jids[7], w, got)
			}
		}
	})

	t.Run("a contact can log in and sees alice", func(t *testing.T) {
		c := login(t, b, "c0999")
		if ok, err := hasSubscription(ctx, c, "alice@example.test", "both"); err != nil || !ok {
			t.Errorf("c0999's roster item for alice: both = %v, err %v", ok, err)
		}
	})

	t.Run("more while alice is online", func(t *testing.T) {
		// alice's roster is in memory now: the bed must change it there, not on disk.
		more, err := b.SeedLargeRoster(ctx, "alice", 3)
		if err != nil {
			t.Fatal(err)
		}
		if more[0] != "c1000@example.test" {
			t.Errorf("numbering did not go on: %v", more)
		}
		roster, err := alice.roster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(roster) != n+3 {
			t.Errorf("alice's roster has %d items, want %d", len(roster), n+3)
		}
		// Bob gets a large roster of his own: contacts are never shared.
		bobs, err := b.SeedLargeRoster(ctx, "bob", 2)
		if err != nil || bobs[0] != "c1003@example.test" {
			t.Errorf("bob's contacts %v, err %v", bobs, err)
		}
	})
}

func TestAddUsers(t *testing.T) {
	b := Start(t, Options{})
	ctx := testCtx(t, 20*time.Second)
	start := time.Now()
	users, err := b.AddUsers(ctx, b.Domain, "frank", "grace.h")
	if err != nil {
		t.Fatalf("AddUsers: %v\n%s", err, b.Logs())
	}
	t.Logf("AddUsers of 2 users took %v", time.Since(start).Round(time.Millisecond))
	remote, err := b.AddUsers(ctx, b.Domain2, "heidi")
	if err != nil {
		t.Fatal(err)
	}
	if b.JID("frank") != "frank@example.test" || b.JID("heidi") != "heidi@biloxi.test" {
		t.Errorf("JIDs: %q %q", b.JID("frank"), b.JID("heidi"))
	}
	if u, ok := b.User("grace.h"); !ok || u != users["grace.h"] || len(u.Password) < 16 {
		t.Errorf("User(grace.h) = %+v, %v", u, ok)
	}
	if _, ok := b.Users["frank"]; ok {
		t.Error("AddUsers changed Bed.Users")
	}

	t.Run("XMPP", func(t *testing.T) {
		for _, name := range []string{"frank", "grace.h", "heidi"} {
			c := login(t, b, name)
			if got := c.jid.Bare().String(); got != b.JID(name) {
				t.Errorf("bound %s, want %s", got, b.JID(name))
			}
		}
		if _, err := loginXMPP(ctx, b.XMPPAddr, b.CAPool, "frank", b.Domain, remote["heidi"].Password); err == nil {
			t.Error("frank logged in with heidi's password")
		}
		// Seed works with them like with the bed's own users.
		err := b.Seed(ctx, Seed{Rosters: map[string][]Contact{"frank": {{JID: "heidi@biloxi.test", Mutual: true}}}})
		if err != nil {
			t.Error(err)
		}
	})

	t.Run("SIP", func(t *testing.T) {
		registrar := sip.Uri{Scheme: "sip", Host: b.Domain}
		if r := sipSend(t, b, "UDP", sip.REGISTER, registrar, "frank", users["frank"].Password); r.final.StatusCode != 200 {
			t.Errorf("REGISTER frank: %s\n%s", r.final.StartLine(), b.Logs())
		}
		if r := sipSend(t, b, "TLS", sip.REGISTER, registrar, "grace.h", users["grace.h"].Password); r.final.StatusCode != 200 {
			t.Errorf("REGISTER grace.h: %s", r.final.StartLine())
		}
		// Users of the second domain are XMPP only, like dave.
		if r := sipSend(t, b, "UDP", sip.REGISTER, registrar, "heidi", remote["heidi"].Password); r.final.StatusCode == 200 {
			t.Errorf("REGISTER heidi: %s, want a refusal", r.final.StartLine())
		}
	})

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name, domain string
			users        []string
			want         string
		}{
			{"a user of the bed", b.Domain, []string{"alice"}, "exists"},
			{"added before", b.Domain2, []string{"frank"}, "exists"},
			{"twice in one call", b.Domain, []string{"ivan", "ivan"}, "exists"},
			{"upper case", b.Domain, []string{"Ivan"}, "invalid user name"},
			{"not a localpart", b.Domain, []string{"ivan@x"}, "invalid user name"},
			{"unknown domain", "example.org", []string{"ivan"}, "not a domain of the bed"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := b.AddUsers(ctx, tt.domain, tt.users...)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("AddUsers(%s, %v): %v, want an error with %q", tt.domain, tt.users, err, tt.want)
				}
			})
		}
		if _, ok := b.User("ivan"); ok {
			t.Error("a refused AddUsers left ivan behind")
		}
	})
}
