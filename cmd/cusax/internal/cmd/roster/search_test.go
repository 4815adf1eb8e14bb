package roster

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/contacts"
)

// TestRosterShowSearch: beyond a JID, a name and a name prefix, roster
// show finds a contact by part of the name or JID (a domain), then by a
// phone number in the vCards, ignoring case and separators; several
// matches are a usage error naming them.
func TestRosterShowSearch(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  string // the JID shown; "" for a usage error
		names []string
	}{
		{"BO", cmdtest.BobJID, nil},       // prefix, as before
		{"ob", cmdtest.BobJID, nil},       // part of the name
		{"CAROL@other", carolJID, nil},    // part of the JID
		{"other.example", carolJID, nil},  // the domain
		{"+1 (555) 01-99", daveJID, nil},  // a number, separators ignored
		{"0199", daveJID, nil},            // part of the number
		{"15550100", cmdtest.BobJID, nil}, // bob's tel:, not his sip: host
		{"example.com", "", []string{"Bob <" + cmdtest.BobJID + ">", "<" + daveJID + ">"}},
		{"555", "", []string{"Bob <" + cmdtest.BobJID + ">", "<" + daveJID + ">"}},
		{"nobody", "", nil},
		{"4242", "", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
			r := e.Run(newCmd, "show", tc.query, "--json")
			if tc.want == "" {
				if r.Code != cmdutil.ExitUsage {
					t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitUsage)
				}
				if len(tc.names) > 0 && !errors.Is(r.Err, contacts.ErrAmbiguous) {
					t.Errorf("error %v, want ambiguous", r.Err)
				}
				for _, n := range tc.names {
					if !strings.Contains(r.Err.Error(), n) {
						t.Errorf("error %q does not name %s", r.Err, n)
					}
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
			}
			var got struct {
				JID string `json:"jid"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || got.JID != tc.want {
				t.Errorf("showed %q (%v), want %s", got.JID, err, tc.want)
			}
		})
	}
}

// TestRosterHeader: piped, --header names the documented columns first.
func TestRosterHeader(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, cmdtest.BobJID + "\t"},
		{[]string{"--header"}, "jid\tname\tsubscription\tgroups\tcallable\tcall_uri\tvideo\tinter_domain\tpstn\treach\n"},
		{[]string{"--header", "--presence", "--presence-wait", "10ms"}, "jid\tname\tsubscription\tgroups\tcallable\tcall_uri\tvideo\tinter_domain\tpstn\treach\tpresence\n"},
	} {
		r := e.Run(newCmd, tc.args...)
		if r.Err != nil || !strings.HasPrefix(r.Stdout, tc.want) {
			t.Errorf("%q: %v\n%q, want it to start with %q", tc.args, r.Err, r.Stdout, tc.want)
		}
	}
}
