package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// storesUnderTest are the file store and the keyring store, the latter on
// go-keyring's in-memory mock provider (the code of Keyring() runs as in
// production; only the D-Bus/Keychain below it is replaced).
func storesUnderTest(t *testing.T) map[string]Store {
	keyring.MockInit()
	return map[string]Store{
		"file":    File(filepath.Join(t.TempDir(), "cusax", FileName)),
		"keyring": Keyring(),
	}
}

func fill(t *testing.T, s Store, refs map[Ref]string) {
	t.Helper()
	for ref, pw := range refs {
		if err := s.Set(context.Background(), ref, pw); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeleteAccount(t *testing.T) {
	ctx := context.Background()
	for name, s := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			fill(t, s, map[Ref]string{
				{"work", "xmpp"}: "w-x", {"work", "sip"}: "w-s", {"work", "provisioning"}: "w-p",
				{"home", "xmpp"}: "h-x", {"workshop", "sip"}: "ws-s", {"work.old", "sip"}: "wo-s",
			})
			deleted, err := DeleteAccount(ctx, s, "work")
			if err != nil || len(deleted) != 3 {
				t.Fatalf("DeleteAccount = %v, %v", deleted, err)
			}
			for _, aspect := range Aspects {
				if ok, err := Has(ctx, s, Ref{"work", aspect}); ok || err != nil {
					t.Errorf("work/%s still there (%v)", aspect, err)
				}
			}
			// Nothing else: names that share a prefix are other accounts.
			for ref, want := range map[Ref]string{{"home", "xmpp"}: "h-x", {"workshop", "sip"}: "ws-s", {"work.old", "sip"}: "wo-s"} {
				if got, err := s.Get(ctx, ref); err != nil || got != want {
					t.Errorf("%s = %q, %v after deleting work", ref, got, err)
				}
			}
			// Again: nothing left, not an error.
			if deleted, err := DeleteAccount(ctx, s, "work"); err != nil || len(deleted) != 0 {
				t.Errorf("second DeleteAccount = %v, %v", deleted, err)
			}
		})
	}
}

// An account name that is not valid (a hand-edited config) cannot have
// secrets: nothing is deleted, whatever the name looks like.
func TestDeleteAccountOddNames(t *testing.T) {
	ctx := context.Background()
	for name, s := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			fill(t, s, map[Ref]string{{"a", "sip"}: "a-s", {"b", "xmpp"}: "b-x"})
			for _, odd := range []string{"", ".", "..", "a/sip", "../a", "a\n", "a b", "*", "a/", strings.Repeat("a", 65)} {
				deleted, err := DeleteAccount(ctx, s, odd)
				if !errors.Is(err, ErrInvalidRef) || len(deleted) != 0 {
					t.Errorf("DeleteAccount(%q) = %v, %v; want ErrInvalidRef", odd, deleted, err)
				}
			}
			for ref, want := range map[Ref]string{{"a", "sip"}: "a-s", {"b", "xmpp"}: "b-x"} {
				if got, err := s.Get(ctx, ref); err != nil || got != want {
					t.Errorf("%s = %q, %v", ref, got, err)
				}
			}
		})
	}
}

// A store that fails: every aspect is tried, and the failure is returned
// (so `account remove` keeps the config entry for a retry).
func TestDeleteAccountFailure(t *testing.T) {
	keyring.MockInitWithError(errors.New("dbus: connection refused"))
	t.Cleanup(keyring.MockInit)
	deleted, err := DeleteAccount(context.Background(), Keyring(), "work")
	if err == nil || errors.Is(err, ErrNotFound) || len(deleted) != 0 || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("DeleteAccount on a failing keyring = %v, %v", deleted, err)
	}
	if n := strings.Count(err.Error(), "connection refused"); n != len(Aspects) {
		t.Errorf("%d of %d aspects tried: %v", n, len(Aspects), err)
	}
}

func TestCopyAccount(t *testing.T) {
	ctx := context.Background()
	for name, s := range storesUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			// "new" has a stale SIP secret that "old" has not: it must go.
			fill(t, s, map[Ref]string{{"old", "xmpp"}: "o-x", {"old", "provisioning"}: "o-p", {"new", "sip"}: "stale", {"other", "sip"}: "x"})
			set, err := CopyAccount(ctx, s, "old", "new")
			if err != nil || len(set) != 2 {
				t.Fatalf("CopyAccount = %v, %v", set, err)
			}
			for ref, want := range map[Ref]string{{"new", "xmpp"}: "o-x", {"new", "provisioning"}: "o-p", {"old", "xmpp"}: "o-x", {"other", "sip"}: "x"} {
				if got, err := s.Get(ctx, ref); err != nil || got != want {
					t.Errorf("%s = %q, %v", ref, got, err)
				}
			}
			if ok, _ := Has(ctx, s, Ref{"new", "sip"}); ok {
				t.Error("the stale new/sip survived the copy")
			}
			if _, err := CopyAccount(ctx, s, "old", "../new"); !errors.Is(err, ErrInvalidRef) {
				t.Errorf("CopyAccount to ../new = %v", err)
			}
		})
	}
}

// Deleting from a secrets file that does not exist creates nothing: no
// directory, no lock file.
func TestFileDeleteMissingCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cusax")
	if _, err := DeleteAccount(context.Background(), File(filepath.Join(dir, FileName)), "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Delete on a missing file created %s (%v)", dir, err)
	}
}

// secrets.toml as a symbolic link to a file that is not a secrets file
// (the user's own, private): a delete does not write through the link; the
// file is untouched and the delete fails.
func TestFileDeleteThroughLinkToOtherFile(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "notes.txt")
	const content = "my notes\nwork/sip = keep me\n"
	if err := os.WriteFile(victim, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, FileName)
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	_, err := DeleteAccount(context.Background(), File(link), "work")
	if err == nil {
		t.Fatal("DeleteAccount through a link to a non-secrets file succeeded")
	}
	if b, _ := os.ReadFile(victim); string(b) != content {
		t.Errorf("the link's target changed: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
}

// secrets.toml as a link to a secrets file elsewhere (a dotfile
// repository): the account's lines go from the target, the others stay,
// and the link stays a link.
func TestFileDeleteThroughLinkToSecretsFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", FileName)
	fill(t, File(real), map[Ref]string{{"work", "sip"}: "w", {"home", "sip"}: "h"})
	link := filepath.Join(dir, "cusax", FileName)
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if deleted, err := DeleteAccount(context.Background(), File(link), "work"); err != nil || len(deleted) != 1 {
		t.Fatalf("DeleteAccount = %v, %v", deleted, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	b, _ := os.ReadFile(real)
	if strings.Contains(string(b), "work/") || !strings.Contains(string(b), "home/sip") {
		t.Errorf("target after delete:\n%s", b)
	}
}
