package testbed

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// maxLargeRosterContacts bounds the contacts SeedLargeRoster makes per bed, so that names
// keep their four digits.
const maxLargeRosterContacts = 10000

// LargeRosterGroup is the roster group of SeedLargeRoster's contacts.
const LargeRosterGroup = "Large roster"

// LargeRosterContact describes contact number i (0, 1, …) of SeedLargeRoster: its user name,
// its roster name and vCard FN, and the two TEL URIs of its vCard, so that a benchmark can
// check what it got.
func (b *Bed) LargeRosterContact(i int) (name, fn, sipURI, telURI string) {
	name = fmt.Sprintf("c%04d", i)
	// +44 20 7946 0000–0999 is Ofcom's range for drama; beyond it the numbers merely look real.
	return name, fmt.Sprintf("Contact %04d", i), "sip:" + name + "@" + b.Domain, fmt.Sprintf("tel:+44-20-7946-%04d", i)
}

// largeRosterVCard is contact i's xCard: a SIP URI TEL (voice, video) and a phone TEL (cell).
func (b *Bed) largeRosterVCard(i int) string {
	_, fn, sip, tel := b.LargeRosterContact(i)
	return fmt.Sprintf("<vcard xmlns='%s'><fn><text>%s</text></fn>"+
		"<tel><parameters><type><text>voice</text><text>video</text></type></parameters><uri>%s</uri></tel>"+
		"<tel><parameters><type><text>cell</text></type></parameters><uri>%s</uri></tel></vcard>",
		nsVCard4, escapeXML(fn), escapeXML(sip), escapeXML(tel))
}

// SeedLargeRoster makes n new accounts on Domain, named c0000, c0001, … (numbering goes on
// across calls, so contacts are never shared between calls; at most 10,000 per bed), each
// with a XEP-0292 vCard (FN "Contact 0000", TEL;TYPE=voice,video sip:c0000@example.test and
// TEL;TYPE=cell tel:+44-20-7946-0000; see LargeRosterContact) in PEP with access model open,
// and puts all of them in user's roster with subscription "both" on both sides, roster name
// = FN and group LargeRosterGroup. It returns the contacts' bare JIDs in order.
//
// It takes about a second for 1,000 contacts (mostly creating 4,000 small files), because it
// does not go through XMPP: the
// contacts' accounts, rosters and PEP nodes are written straight into Prosody's storage files
// (see prosodyStore), which Prosody reads when someone first asks for them; the user's own
// roster is changed inside Prosody through its admin console, because Prosody keeps rosters
// in memory. If user is online, the items are there for the next roster get but no roster
// push announces them. The contacts are XMPP-only (not in Kamailio); the contacts of one call
// share one random password (deriving SCRAM keys per account would be most of the time
// taken), which User gives. Because of the "both" subscriptions, user's initial presence is
// answered with n unavailable presences from the server, as on a real busy account.
func (b *Bed) SeedLargeRoster(ctx context.Context, user string, n int) ([]string, error) {
	ua, ok := b.account(user)
	if !ok {
		return nil, fmt.Errorf("testbed: SeedLargeRoster: unknown user %q", user)
	}
	if n <= 0 {
		return nil, fmt.Errorf("testbed: SeedLargeRoster: n = %d, want > 0", n)
	}

	// Claim the numbers and names first, so that concurrent calls never collide.
	b.extra.mu.Lock()
	first := b.extra.nextLarge
	if first+n > maxLargeRosterContacts {
		b.extra.mu.Unlock()
		return nil, fmt.Errorf("testbed: SeedLargeRoster: %d contacts so far, %d more would pass the limit of %d", first, n, maxLargeRosterContacts)
	}
	b.extra.nextLarge += n
	b.extra.mu.Unlock()

	// One password for all contacts of a call: SCRAM keys are then derived once, not n
	// times (1.7 ms each, five times that under -race).
	password := randomPassword()
	accts := make([]account, n)
	for i := range accts {
		name, _, _, _ := b.LargeRosterContact(first + i)
		accts[i] = account{Name: name, Domain: b.Domain, Password: password}
	}
	if err := b.extra.reserve(b, accts); err != nil {
		return nil, fmt.Errorf("testbed: SeedLargeRoster: %w", err)
	}
	jids, err := b.seedLargeRoster(ctx, ua, accts, first)
	if err != nil {
		b.extra.release(accts)
		return nil, fmt.Errorf("testbed: SeedLargeRoster: %w", err)
	}
	return jids, nil
}

// seedLargeRoster does SeedLargeRoster's work once the names are reserved. On error it
// removes the files it wrote.
func (b *Bed) seedLargeRoster(ctx context.Context, ua account, accts []account, first int) (_ []string, err error) {
	store, err := b.prosodyStore()
	if err != nil {
		return nil, err
	}
	if err := store.mkdirs(b.Domain, "roster", "pep", "pep_"+nodeVCard4); err != nil {
		return nil, err
	}
	userJID := ua.Name + "@" + ua.Domain
	jids := make([]string, len(accts))
	for i, a := range accts {
		jids[i] = a.Name + "@" + a.Domain
	}
	written := make([][]string, len(accts)) // by contact, so that workers need no lock
	var files []string
	defer func() {
		if err != nil {
			for _, w := range written {
				removeFiles(w)
			}
			removeFiles(files)
		}
	}()
	// The accounts come last: until one exists Prosody treats the user as unknown and does
	// not look at its other files, so a half-written contact is never seen.
	now := time.Now()
	err = parallel(ctx, len(accts), func(i int) error {
		a := accts[i]
		vcard, err := parseXML(b.largeRosterVCard(first + i))
		if err != nil {
			return err
		}
		item, err := pepItemLua(vcard, "current", jids[i], now)
		if err != nil {
			return err
		}
		roster := lua{{false, lua{{"version", 1}, {"pending", lua{}}}}, {userJID, rosterItemLua("both", "", nil)}}
		node := lua{{nodeVCard4, pepNodeLua(nodeVCard4, lua{{"access_model", "open"}, {"persist_items", true}})}}
		for _, f := range []struct{ store, ext, content string }{
			{"roster", "dat", "return " + luaSource(roster) + ";\n"},
			{"pep", "dat", "return " + luaSource(node) + ";\n"},
			{"pep_" + nodeVCard4, "list", "item(" + luaSource(item) + ");\n"},
		} {
			if err := store.create(a.Domain, f.store, a.Name, f.ext, f.content); err != nil {
				return err
			}
			written[i] = append(written[i], store.path(a.Domain, f.store, a.Name, f.ext))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write contacts: %w", err)
	}
	accountFiles, err := store.writeAccounts(ctx, accts)
	files = append(files, accountFiles...)
	if err != nil {
		return nil, err
	}
	if _, err := b.prosodyLua(ctx, b.addToRosterLua(ua.Name, ua.Domain, jids, first)); err != nil {
		return nil, fmt.Errorf("add %d contacts to %s's roster: %w", len(accts), userJID, err)
	}
	return jids, nil
}

// addToRosterLua is the Lua that adds the contacts (numbered from first) to user's roster
// with subscription both, and forgets any roster of theirs Prosody cached (it would have
// cached an empty one had someone sent them presence before they existed).
func (b *Bed) addToRosterLua(user, host string, jids []string, first int) string {
	var sb strings.Builder
	sb.WriteString("local add = {")
	for i, j := range jids {
		_, fn, _, _ := b.LargeRosterContact(first + i)
		fmt.Fprintf(&sb, "{%s,%s};", luaString(j), luaString(fn))
	}
	sb.WriteString("};\n")
	fmt.Fprintf(&sb, `local rm = require "core.rostermanager";
local user, host, group = %s, %s, %s;
local roster, err = rm.load_roster(user, host);
if not roster then return false, "load roster: " .. tostring(err); end
for _, c in ipairs(add) do
	roster[c[1]] = { subscription = "both"; name = c[2]; groups = { [group] = true } };
	local h = prosody.hosts[c[1]:match("@(.*)$")];
	if h and h.roster_cache then h.roster_cache:set(c[1], nil); end
end
local ok, err = rm.save_roster(user, host, roster);
if not ok then return false, "save roster: " .. tostring(err); end
return true, "added " .. #add;
`, luaString(user), luaString(host), luaString(LargeRosterGroup))
	return sb.String()
}
