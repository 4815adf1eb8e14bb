package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/addressbook"
)

// seededUser makes a fresh user on the bed whose roster has contacts with
// vCards covering each RFC 7081 §3.3/§5 cue, logs it in with cusax, and
// returns its cusax home.
func seededUser(t *testing.T, bed *testbed.Bed, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, name)
	if err != nil {
		t.Fatal(err)
	}
	jid := name + "@" + bed.Domain
	err = bed.Seed(ctx, testbed.Seed{
		Rosters: map[string][]testbed.Contact{name: {
			{JID: "bob@" + bed.Domain, Name: "Bob Builder", Groups: []string{"Work"}, Mutual: true},
			{JID: "carol@" + bed.Domain, Name: "Carol"},
			{JID: "dave@" + bed.Domain2, Name: "Dave"},
			{JID: "frank@" + bed.Domain, Name: "Frank"},
		}},
		VCard4: map[string]string{
			"bob": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bob Builder</text></fn>` +
				`<tel><parameters><type><text>voice</text><text>video</text></type></parameters><uri>sip:bob@example.test</uri></tel>` +
				`<tel><parameters><type><text>cell</text></type></parameters><uri>tel:+1-555-0101</uri></tel></vcard>`,
			"dave": `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Dave</text></fn>` +
				`<tel><parameters><type><text>cell</text></type></parameters><uri>tel:+44 20 7946 0000</uri></tel></vcard>`,
		},
		VCardTemp: map[string]string{
			"carol": `<vCard xmlns='vcard-temp'><FN>Carol</FN><TEL><VOICE/><WORK/><NUMBER>+1 555 0100</NUMBER></TEL></vCard>`,
		},
		Reach: map[string][]string{"bob": {"sip:bob@example.test"}},
	})
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, bed.Logs())
	}
	home := t.TempDir()
	r := runCLI(t, home, users[name].Password+"\n", "login", "--name", "r", "--jid", jid, "--xmpp-server", bed.XMPPAddr, "--ca-file", bed.CAFile, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login %s: %d", name, r.code)
	}
	return home
}

// The roster with vCard calling data: the derived fields are right for
// each contact (RFC 7081 §3.3 callable/video, §5 inter_domain/pstn).
func TestRosterDerivedFields(t *testing.T) {
	bed := testbed.Shared(t)
	home := seededUser(t, bed, "rosa")
	r := runCLI(t, home, "", "roster", "--json")
	if r.code != 0 {
		t.Fatalf("roster: %d", r.code)
	}
	var list []addressbook.Contact
	if err := cmdtest.UnmarshalList(r.stdout, "contacts", &list); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	by := map[string]addressbook.Contact{}
	for _, c := range list {
		by[c.JID] = c
	}
	type want struct{ callable, video, inter, pstn bool }
	for jid, w := range map[string]want{
		"bob@example.test":   {callable: true, video: true},
		"carol@example.test": {callable: true, pstn: true},
		"dave@biloxi.test":   {callable: true, inter: true, pstn: true},
		"frank@example.test": {},
	} {
		c, ok := by[jid]
		if !ok {
			t.Errorf("%s missing from the roster output", jid)
			continue
		}
		got := want{c.Callable, c.Video, c.InterDomain, c.PSTN}
		if got != w {
			t.Errorf("%s: callable/video/inter_domain/pstn = %+v, want %+v (tels %+v, vcard error %q)", jid, got, w, c.Tels, c.VCardError)
		}
	}
	bob := by["bob@example.test"]
	if bob.Name != "Bob Builder" || bob.Subscription != "both" || strings.Join(bob.Groups, ",") != "Work" {
		t.Errorf("bob's roster item: %+v", bob)
	}
	if len(bob.Reach) != 1 || !bob.Reach[0].Verified {
		t.Errorf("bob's reach hint should be verified by his vCard: %+v", bob.Reach)
	}
	if len(by["carol@example.test"].Tels) != 1 || by["carol@example.test"].Tels[0].URI != "tel:+15550100" {
		t.Errorf("carol's TEL not normalised: %+v", by["carol@example.test"].Tels)
	}

	// Warm cache: same answer.
	r2 := runCLI(t, home, "", "roster", "--json")
	if r2.code != 0 || r2.stdout != r.stdout {
		t.Errorf("warm-cache roster differs:\n%s\n---\n%s", r.stdout, r2.stdout)
	}
	// Piped: stable tab-separated columns.
	r3 := runCLI(t, home, "", "roster")
	if !strings.Contains(r3.stdout, "bob@example.test\tBob Builder\tboth\tWork\ttrue\tsip:bob@example.test\ttrue\tfalse\tfalse\t") {
		t.Errorf("TSV output:\n%s", r3.stdout)
	}
	// show by unique prefix, case-insensitive; export every contact.
	r4 := runCLI(t, home, "", "roster", "show", "car")
	if r4.code != 0 || !strings.Contains(r4.stdout, "FN:Carol") {
		t.Errorf("roster show car: %d %q", r4.code, r4.stdout)
	}
	r5 := runCLI(t, home, "", "roster", "export")
	if n := strings.Count(r5.stdout, "BEGIN:VCARD"); r5.code != 0 || n != 4 {
		t.Errorf("export: %d cards, exit %d", n, r5.code)
	}
	r6 := runCLI(t, home, "", "roster", "show", "nobody-here")
	if r6.code != 2 {
		t.Errorf("show unknown contact: exit %d", r6.code)
	}

	// --presence: bob (mutual subscription) is online through go-sendxmpp.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	online := sendxmpp(t, ctx, bed, "bob", "--listen")
	if err := online.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = online.Process.Kill(); _ = online.Wait() }()
	time.Sleep(time.Second)
	r7 := runCLI(t, home, "", "roster", "--json", "--presence", "--presence-wait", "2s")
	var withPresence []addressbook.Contact
	if err := cmdtest.UnmarshalList(r7.stdout, "contacts", &withPresence); err != nil {
		t.Fatal(err)
	}
	for _, c := range withPresence {
		switch {
		case c.Presence == nil:
			t.Errorf("%s: no presence field with --presence", c.JID)
		case c.JID == "bob@example.test" && !c.Presence.Available:
			t.Errorf("bob is online but shown %+v", c.Presence)
		case c.JID == "carol@example.test" && c.Presence.Available:
			t.Errorf("carol (no subscription) shown available")
		}
	}
}
