package vcardcache

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestCache(t *testing.T) {
	root := t.TempDir()
	c := Open(root, "work", time.Hour)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	if _, ok := c.Get("bob@example.test"); ok {
		t.Fatal("hit on an empty cache")
	}
	v := protocol.VCard{JID: "bob@example.test", Text: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob\r\nEND:VCARD\r\n", Source: "xep-0292", Fetched: now}
	if err := c.Put(v.JID, Result{VCard: v, Reach: []protocol.ReachAddress{{URI: "sip:bob@example.test"}}, ReachKnown: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Put("carol@example.test", Result{None: true}); err != nil {
		t.Fatal(err)
	}
	r, ok := c.Get("Bob@Example.test")
	if !ok || r.VCard.Text != v.Text || r.None || !r.ReachKnown || len(r.Reach) != 1 {
		t.Fatalf("get bob: %+v %v", r, ok)
	}
	if r, ok := c.Get("carol@example.test"); !ok || !r.None || r.ReachKnown {
		t.Fatalf("get carol: %+v %v", r, ok)
	}
	now = now.Add(2 * time.Hour)
	if _, ok := c.Get("bob@example.test"); ok {
		t.Error("expired entry returned")
	}
	// A damaged entry is a miss, not an error.
	entries, _ := os.ReadDir(filepath.Join(root, "work"))
	for _, e := range entries {
		os.WriteFile(filepath.Join(root, "work", e.Name()), []byte("{garbage"), 0o600)
	}
	now = now.Add(-2 * time.Hour)
	if _, ok := c.Get("bob@example.test"); ok {
		t.Error("damaged entry returned")
	}
	fi, err := os.Stat(filepath.Join(root, "work"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v %v", fi.Mode().Perm(), err)
	}
}

func TestSafeAccountName(t *testing.T) {
	for in, want := range map[string]string{"work": "work", "../x": ".._x", "..": "_", "": "_", "a/b": "a_b"} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %q, want %q", in, got, want)
		}
	}
}

// --ttl 0 uses nothing cached (it used to mean the 24 h default), and still
// stores what is fetched for the next run with a real TTL.
func TestZeroTTLUsesNothing(t *testing.T) {
	root := t.TempDir()
	v := protocol.VCard{JID: "bob@example.test", Text: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob\r\nEND:VCARD\r\n", Source: "xep-0292"}
	if err := Open(root, "work", 0).Put(v.JID, Result{VCard: v}); err != nil {
		t.Fatal(err)
	}
	if _, ok := Open(root, "work", 0).Get(v.JID); ok {
		t.Error("ttl 0 returned a cached entry")
	}
	if _, ok := Open(root, "work", time.Hour).Get(v.JID); !ok {
		t.Error("what ttl 0 stored is not there for a real TTL")
	}
}
