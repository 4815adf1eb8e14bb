package vcardcache

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestRosterCache(t *testing.T) {
	root := t.TempDir()
	if items, err := LoadRoster(root, "home"); err != nil || len(items) != 0 {
		t.Fatalf("no cache: %v %v, want nothing", items, err)
	}
	in := []protocol.RosterItem{
		{JID: "bob@example.com", Name: "Bob", Subscription: "both", Groups: []string{"work"}},
		{JID: "carol@example.org"},
		{Name: "no JID: not kept"},
	}
	if err := SaveRoster(root, "home", in); err != nil {
		t.Fatal(err)
	}
	got, err := LoadRoster(root, "home")
	if err != nil || len(got) != 2 || got[0].JID != "bob@example.com" || got[0].Name != "Bob" || got[0].Subscription != "" || got[0].Groups != nil || got[1].JID != "carol@example.org" {
		t.Fatalf("got %+v, %v", got, err)
	}
	// Private, like the vCards: names and addresses of the user's contacts.
	st, err := os.Stat(filepath.Join(root, "home", rosterFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("roster cache mode %v, %v", st.Mode(), err)
	}
	if other, err := LoadRoster(root, "work"); err != nil || len(other) != 0 {
		t.Errorf("another account sees %v %v", other, err)
	}
	if err := os.WriteFile(filepath.Join(root, "home", rosterFile), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRoster(root, "home"); err == nil {
		t.Error("a damaged cache read without an error")
	}
}
