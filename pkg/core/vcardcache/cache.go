// Package vcardcache keeps contacts' vCards on disk under the XDG cache
// directory, so that `cusax roster` and `cusax whois-caller` do not fetch
// every vCard on every run (RFC 7081 §3.5: avoid retrieving vCards for the
// whole roster). Entries expire after a TTL; a missing vCard is cached too,
// so that contacts without one are not asked again and again. Beside
// them it keeps the roster last fetched (SaveRoster), which shell
// completion reads instead of logging in.
//
// A damaged or unreadable entry is treated as missing and fetched again:
// the cache can always be rebuilt, so it never makes a command fail.
package vcardcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/protocol"
)

// DefaultTTL is how long a cached vCard is used before it is fetched again.
const DefaultTTL = 24 * time.Hour

// maxEntry bounds what is read back from disk.
const maxEntry = 1 << 20

// Cache is one account's vCard cache.
type Cache struct {
	dir string
	ttl time.Duration
	now func() time.Time
}

// Dir returns $XDG_CACHE_HOME/cusax/vcards (default ~/.cache/…).
func Dir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("vcard cache: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "cusax", "vcards"), nil
}

// Open returns the cache of account under root (see Dir). Entries older
// than ttl are not used; ttl <= 0 uses none (`--ttl 0`: fetch them all, as
// --refresh) while still storing what is fetched.
func Open(root, account string, ttl time.Duration) *Cache {
	if ttl < 0 {
		ttl = 0
	}
	return &Cache{dir: filepath.Join(root, safe(account)), ttl: ttl, now: time.Now}
}

// entry is what is stored per contact.
type entry struct {
	JID     string    `json:"jid"`
	Fetched time.Time `json:"fetched"`
	// None records that the contact has no vCard.
	None   bool   `json:"none,omitempty"`
	Text   string `json:"text,omitempty"`
	Source string `json:"source,omitempty"`
	// Reach caches the contact's XEP-0152 addresses (fetched with the
	// vCard, same TTL); ReachKnown says they were fetched at all.
	Reach      []protocol.ReachAddress `json:"reach,omitempty"`
	ReachKnown bool                    `json:"reach_known,omitempty"`
}

// Result is a cache lookup.
type Result struct {
	VCard protocol.VCard
	// None: the contact is known to have no vCard.
	None bool
	// Reach is the cached XEP-0152 addresses, valid when ReachKnown.
	Reach      []protocol.ReachAddress
	ReachKnown bool
	// Age of the entry.
	Age time.Duration
}

// Get returns a fresh entry for jid, or ok=false when there is none (or it
// expired, or it could not be read).
func (c *Cache) Get(jid string) (Result, bool) {
	b, err := readBounded(c.path(jid))
	if err != nil {
		return Result{}, false
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || !strings.EqualFold(e.JID, jid) {
		return Result{}, false
	}
	age := c.now().Sub(e.Fetched)
	if age < 0 || age > c.ttl || c.ttl == 0 {
		return Result{}, false
	}
	return Result{VCard: protocol.VCard{JID: e.JID, Text: e.Text, Source: e.Source, Fetched: e.Fetched}, None: e.None,
		Reach: e.Reach, ReachKnown: e.ReachKnown, Age: age}, true
}

// Put stores what Get returns: a contact's vCard (or, with None, that it
// has none) and, when ReachKnown, its XEP-0152 addresses. Age is ignored.
func (c *Cache) Put(jid string, r Result) error {
	fetched := r.VCard.Fetched
	if fetched.IsZero() || r.None {
		fetched = c.now()
	}
	e := entry{JID: jid, Fetched: fetched, None: r.None, Reach: r.Reach, ReachKnown: r.ReachKnown}
	if !r.None {
		e.Text, e.Source = r.VCard.Text, r.VCard.Source
	}
	return c.write(e)
}

func (c *Cache) write(e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, atomicfile.DirPerm); err != nil {
		return fmt.Errorf("vcard cache: %w", err)
	}
	return replace(c.path(e.JID), b)
}

// replace writes data atomically (temp file + rename) but without fsync:
// a cache needs readers never to see a half-written entry, not durability
// (an entry lost in a crash is fetched again), and two fsyncs per contact
// made a cold 1,000-contact roster a second slower.
func replace(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".entry-*")
	if err != nil {
		return fmt.Errorf("vcard cache: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp, 0o600)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("vcard cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("vcard cache: %w", err)
	}
	return nil
}

// path names the entry by a hash of the bare JID: JIDs may contain
// characters that are not safe in file names.
func (c *Cache) path(jid string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(jid)))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:16])+".json")
}

func readBounded(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || !mine(fi) {
		return nil, fmt.Errorf("%s: not a regular file of this user's: not read", path)
	}
	if fi.Size() > maxEntry {
		return nil, errors.New("cache entry too large")
	}
	b := make([]byte, fi.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}

func safe(name string) string {
	var sb strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	if s := sb.String(); s != "" && s != "." && s != ".." {
		return s
	}
	return "_"
}
