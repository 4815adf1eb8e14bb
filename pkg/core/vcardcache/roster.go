package vcardcache

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/protocol"
)

// rosterFile holds the account's last roster seen, beside its vCards (a
// vCard entry is named by a hex hash, so the names never meet).
const rosterFile = "roster.json"

// rosterEntry is what is kept of a roster item: enough to complete and
// resolve a contact's name, nothing about subscriptions or groups.
type rosterEntry struct {
	JID  string `json:"jid"`
	Name string `json:"name,omitempty"`
}

// SaveRoster records account's roster under root (see Dir) so that shell
// completion can offer contact names without logging in. Like the vCards,
// it can always be rebuilt: a command that fetched the roster calls it and
// ignores the error.
func SaveRoster(root, account string, items []protocol.RosterItem) error {
	entries := make([]rosterEntry, 0, len(items))
	for _, it := range items {
		if it.JID != "" {
			entries = append(entries, rosterEntry{JID: it.JID, Name: it.Name})
		}
	}
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, safe(account))
	if err := os.MkdirAll(dir, atomicfile.DirPerm); err != nil {
		return fmt.Errorf("roster cache: %w", err)
	}
	return replace(filepath.Join(dir, rosterFile), b)
}

// LoadRoster returns the roster SaveRoster last recorded for account, with
// only JIDs and names filled in. No file (no roster fetched yet) is an
// empty roster, not an error; a damaged one is an error the caller may
// treat the same way.
func LoadRoster(root, account string) ([]protocol.RosterItem, error) {
	b, err := readBounded(filepath.Join(root, safe(account), rosterFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("roster cache: %w", err)
	}
	var entries []rosterEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("roster cache: %w", err)
	}
	items := make([]protocol.RosterItem, len(entries))
	for i, e := range entries {
		items[i] = protocol.RosterItem{JID: e.JID, Name: e.Name}
	}
	return items, nil
}
