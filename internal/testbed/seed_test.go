package testbed

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/stanza"
)

// The vCards of TestSeed. Bob's is XEP-0292 with a SIP URI that supports video and a phone
// number written the way people write them; carol has only a XEP-0054 vCard; dave only a
// mobile number.
const (
	bobVCard4 = `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>
  <fn><text>Bob Builder</text></fn>
  <n><surname>Builder</surname><given>Bob</given></n>
  <tel><parameters><type><text>voice</text><text>video</text></type></parameters><uri>sip:bob@example.test</uri></tel>
  <tel><parameters><type><text>work</text><text>voice</text></type></parameters><uri>tel:+1 (555) 010-0199</uri></tel>
</vcard>`
	carolVCardTemp = `<vCard xmlns='vcard-temp'><FN>Carol Caller</FN><TEL><HOME/><VOICE/><NUMBER>+1 555 0100</NUMBER></TEL></vCard>`
	daveVCard4     = `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Dave</text></fn><tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-555-0142</uri></tel></vcard>`
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// login logs a user of the bed in with the bed's own client.
func login(t *testing.T, b *Bed, name string) *xmppClient {
	t.Helper()
	a, ok := b.account(name)
	if !ok {
		t.Fatalf("no user %s", name)
	}
	c, err := loginXMPP(testCtx(t, 10*time.Second), b.XMPPAddr, b.CAPool, a.Name, a.Domain, a.Password)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.Logs())
	}
	t.Cleanup(func() { _ = c.close() })
	return c
}

func mustParse(t *testing.T, s string) xnode {
	t.Helper()
	n, err := parseXML(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSeed(t *testing.T) {
	b := Start(t, Options{})
	seed := Seed{
		Rosters: map[string][]Contact{"alice": {
			{JID: "bob@example.test", Name: "Bob", Groups: []string{"Friends", "Work"}, Mutual: true},
			{JID: "carol@example.test", Name: "Carol"},
			{JID: "dave@biloxi.test", Name: "Dave (Biloxi)", Groups: []string{"Elsewhere"}},
		}},
		VCard4:    map[string]string{"bob": bobVCard4, "dave": daveVCard4},
		VCardTemp: map[string]string{"carol": carolVCardTemp},
		Reach:     map[string][]string{"bob": {"sip:bob@example.test", "sips:bob@example.test"}},
	}
	start := time.Now()
	if err := b.Seed(testCtx(t, 20*time.Second), seed); err != nil {
		t.Fatalf("Seed: %v\n%s", err, b.Logs())
	}
	t.Logf("Seed took %v", time.Since(start).Round(time.Millisecond))

	ctx := testCtx(t, 10*time.Second)
	alice := login(t, b, "alice")
	roster, err := alice.roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []rosterItem{
		{JID: "bob@example.test", Name: "Bob", Subscription: "both", Groups: []string{"Friends", "Work"}},
		{JID: "carol@example.test", Name: "Carol", Subscription: "none"},
		{JID: "dave@biloxi.test", Name: "Dave (Biloxi)", Subscription: "none", Groups: []string{"Elsewhere"}},
	}
	if got := sortedRoster(roster); !slices.EqualFunc(got, want, rosterItemEqual) {
		t.Errorf("alice's roster:\n got %+v\nwant %+v", got, want)
	}
	bob := login(t, b, "bob")
	if ok, err := hasSubscription(ctx, bob, "alice@example.test", "both"); err != nil || !ok {
		t.Errorf("bob's roster item for alice is not subscription both (err %v)", err)
	}

	t.Run("XEP-0292 comes back as published", func(t *testing.T) {
		for owner, vc := range map[string]string{"bob@example.test": bobVCard4, "dave@biloxi.test": daveVCard4} {
			items, err := alice.items(ctx, owner, nodeVCard4)
			if err != nil {
				t.Fatalf("%s: %v", owner, err)
			}
			got, ok := items["current"]
			if !ok || got.canonical() != mustParse(t, vc).canonical() {
				t.Errorf("%s's vCard4 item current:\n got %s\nwant %s", owner, got.canonical(), mustParse(t, vc).canonical())
			}
		}
	})

	t.Run("vcard-temp comes back with Prosody's changes", func(t *testing.T) {
		// mod_vcard_legacy rebuilds vcard-temp from the vCard4 it made of it: what was stored
		// is there, plus an empty <N/> structure, minus TEL types other than HOME and WORK.
		got, err := alice.iq(ctx, stanza.GetIQ, "carol@example.test", "<vCard xmlns='vcard-temp'/>")
		if err != nil {
			t.Fatal(err)
		}
		tels := got.all("TEL")
		if fn := got.child("FN"); fn == nil || fn.Text != "Carol Caller" || len(tels) != 1 {
			t.Fatalf("carol's vcard-temp: %s", got.canonical())
		}
		tel := tels[0]
		if n := tel.child("NUMBER"); n == nil || n.Text != "+1 555 0100" || tel.child("HOME") == nil {
			t.Errorf("carol's TEL: %s, want NUMBER +1 555 0100 and HOME", tel.canonical())
		}
		if tel.child("VOICE") != nil {
			t.Errorf("VOICE survived vcard_legacy (Prosody changed? update test-bed-notes.md): %s", tel.canonical())
		}
		// The same vCard seen as XEP-0292: NUMBER became a tel: URI, spaces and all.
		items, err := alice.items(ctx, "carol@example.test", nodeVCard4)
		if err != nil {
			t.Fatal(err)
		}
		v4 := items["current"]
		if uri := v4.find("tel", "uri"); uri == nil || uri.Text != "tel:+1 555 0100" {
			t.Errorf("carol's vCard4: %s, want tel uri tel:+1 555 0100", v4.canonical())
		}
	})

	t.Run("vcard-temp view of a XEP-0292 vCard loses the types", func(t *testing.T) {
		got, err := alice.iq(ctx, stanza.GetIQ, "bob@example.test", "<vCard xmlns='vcard-temp'/>")
		if err != nil {
			t.Fatal(err)
		}
		var numbers []string
		for _, tel := range got.all("TEL") {
			numbers = append(numbers, tel.child("NUMBER").Text)
			if tel.child("VIDEO") != nil {
				t.Errorf("TEL with VIDEO in bob's vcard-temp view (Prosody changed?): %s", tel.canonical())
			}
		}
		// "tel:" is stripped, "sip:" is not; WORK is the one type that survives.
		if want := []string{"sip:bob@example.test", "+1 (555) 010-0199"}; !slices.Equal(numbers, want) {
			t.Errorf("bob's vcard-temp numbers = %q, want %q", numbers, want)
		}
	})

	t.Run("reach is for subscribers only", func(t *testing.T) {
		items, err := alice.items(ctx, "bob@example.test", nodeReach)
		if err != nil {
			t.Fatal(err)
		}
		want := mustParse(t, reachPayload(seed.Reach["bob"])).canonical()
		if got := items["current"]; got.canonical() != want {
			t.Errorf("bob's reach seen by alice:\n got %s\nwant %s", got.canonical(), want)
		}
		carol := login(t, b, "carol")
		if _, err := carol.items(ctx, "bob@example.test", nodeReach); errorCondition(err) != "forbidden" {
			t.Errorf("carol (not subscribed) reading bob's reach: %v, want forbidden", err)
		}
	})

	t.Run("seeding again is harmless", func(t *testing.T) {
		again := Seed{Rosters: map[string][]Contact{"alice": {{JID: "bob@example.test", Name: "Bobby", Mutual: true}}},
			VCard4: map[string]string{"bob": bobVCard4}}
		if err := b.Seed(testCtx(t, 10*time.Second), again); err != nil {
			t.Fatal(err)
		}
		roster, err := alice.roster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(roster, func(r rosterItem) bool { return r.JID == "bob@example.test" }); i < 0 ||
			roster[i].Name != "Bobby" || roster[i].Subscription != "both" {
			t.Errorf("bob after a second Seed: %+v", roster)
		}
	})

	t.Run("vCard4 replaces a vcard-temp", func(t *testing.T) {
		// carol's node was made by mod_vcard_legacy with its own configuration.
		v4 := `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Carol 4</text></fn></vcard>`
		if err := b.Seed(testCtx(t, 10*time.Second), Seed{VCard4: map[string]string{"carol": v4}}); err != nil {
			t.Fatal(err)
		}
		items, err := alice.items(ctx, "carol@example.test", nodeVCard4)
		if err != nil {
			t.Fatal(err)
		}
		if got := items["current"].canonical(); got != mustParse(t, v4).canonical() {
			t.Errorf("carol's vCard4 after Seed: %s", got)
		}
	})

	t.Run("publish-options that contradict the node reconfigure it", func(t *testing.T) {
		// Prosody answers conflict/precondition-not-met; publish reconfigures and retries.
		if err := bob.publish(ctx, nodeReach, "current", reachPayload([]string{"sip:bob@example.test"}),
			map[string]string{"pubsub#access_model": "open"}); err != nil {
			t.Fatal(err)
		}
		carol := login(t, b, "carol")
		if _, err := carol.items(ctx, "bob@example.test", nodeReach); err != nil {
			t.Errorf("carol reading bob's reach after it became open: %v", err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			seed Seed
			want string
		}{
			{"unknown user", Seed{VCard4: map[string]string{"mallory": bobVCard4}}, "unknown user"},
			{"mutual with a stranger", Seed{Rosters: map[string][]Contact{"alice": {{JID: "x@example.test", Mutual: true}}}}, "not an account"},
			{"full JID", Seed{Rosters: map[string][]Contact{"alice": {{JID: "bob@example.test/phone"}}}}, "bare JID"},
			{"bad XML", Seed{VCardTemp: map[string]string{"carol": "<vCard"}}, "parse XML"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := b.Seed(testCtx(t, 10*time.Second), tt.seed)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Seed: %v, want an error with %q", err, tt.want)
				}
			})
		}
	})
}

func sortedRoster(items []rosterItem) []rosterItem {
	out := slices.Clone(items)
	for i := range out {
		out[i].Groups = slices.Sorted(slices.Values(out[i].Groups))
	}
	slices.SortFunc(out, func(a, b rosterItem) int { return strings.Compare(a.JID, b.JID) })
	return out
}

func rosterItemEqual(a, b rosterItem) bool {
	return a.JID == b.JID && a.Name == b.Name && a.Subscription == b.Subscription && a.Ask == b.Ask && slices.Equal(a.Groups, b.Groups)
}
