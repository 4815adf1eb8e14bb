//go:build unix

package vcardcache

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Shell completion reads the roster cache: what is put at its path must
// neither hang it nor feed it names. A FIFO (an open would block for ever),
// a link to a roster elsewhere, and another user's file are all refused
// promptly, as a damaged cache is; the user's own file is read.
func TestLoadRosterHostilePaths(t *testing.T) {
	root := t.TempDir()
	if err := SaveRoster(root, "work", []protocol.RosterItem{{JID: "bob@example.com", Name: "Bob"}}); err != nil {
		t.Fatal(err)
	}
	if items, err := LoadRoster(root, "work"); err != nil || len(items) != 1 {
		t.Fatalf("own cache: %v, %v", items, err)
	}
	path := filepath.Join(root, "work", rosterFile)
	elsewhere := filepath.Join(t.TempDir(), "roster.json")
	if err := os.WriteFile(elsewhere, []byte(`[{"jid":"mallory@evil.example","name":"Bob"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(t *testing.T){
		"fifo": func(t *testing.T) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"link": func(t *testing.T) {
			if err := os.Symlink(elsewhere, path); err != nil {
				t.Fatal(err)
			}
		},
		"another user's file": func(t *testing.T) {
			if os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("needs root (chown); CI runs tests as root")
				}
				t.Skip("needs root (chown)")
			}
			if err := os.WriteFile(path, []byte(`[{"jid":"mallory@evil.example","name":"Bob"}]`), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			_ = os.Remove(path)
			plant(t)
			done := make(chan error, 1)
			var items []protocol.RosterItem
			go func() {
				var err error
				items, err = LoadRoster(root, "work")
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || len(items) != 0 {
					t.Errorf("read %v, %v; want refused", items, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("LoadRoster hung")
			}
		})
	}
}
