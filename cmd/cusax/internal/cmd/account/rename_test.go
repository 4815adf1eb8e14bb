package account

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/ownpresence"
	"github.com/cusax/cusax/pkg/core/secrets"
)

func TestRename(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	useKeyring(e)
	file := secrets.File(filepath.Join(e.Dir, secrets.FileName))
	ctx := context.Background()
	store(t, secrets.Keyring(), map[secrets.Ref]string{
		{Account: "work", Aspect: "xmpp"}: "w-xmpp-secret", {Account: "work", Aspect: "sip"}: "w-sip-secret",
		{Account: "workshop", Aspect: "sip"}: "ws-sip-secret",
	})
	// In the file: work's provisioning token, and a stale SIP password
	// under the new name that no account uses.
	store(t, file, map[secrets.Ref]string{{Account: "work", Aspect: "provisioning"}: "w-prov-secret", {Account: "office", Aspect: "sip"}: "stale"})
	localFiles(t, "work")

	r := e.Run(newCmd, "rename", "work", "office", "--json")
	if r.Err != nil {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}
	c := e.LoadConfig()
	if !slices.Equal(c.Names(), []string{"office", "home"}) || c.Default != "office" {
		t.Errorf("config: %v default %q", c.Names(), c.Default)
	}
	for s, want := range map[secrets.Store]map[secrets.Ref]string{
		secrets.Keyring(): {{Account: "office", Aspect: "xmpp"}: "w-xmpp-secret", {Account: "office", Aspect: "sip"}: "w-sip-secret", {Account: "workshop", Aspect: "sip"}: "ws-sip-secret"},
		file:              {{Account: "office", Aspect: "provisioning"}: "w-prov-secret"},
	} {
		for ref, pw := range want {
			if got, err := s.Get(ctx, ref); err != nil || got != pw {
				t.Errorf("%s in %s: %v", ref, s.Name(), err)
			}
		}
		for _, aspect := range secrets.Aspects {
			if ok, err := secrets.Has(ctx, s, secrets.Ref{Account: "work", Aspect: aspect}); ok || err != nil {
				t.Errorf("work/%s left in %s (%v)", aspect, s.Name(), err)
			}
		}
	}
	if ok, _ := secrets.Has(ctx, file, secrets.Ref{Account: "office", Aspect: "sip"}); ok {
		t.Error("the stale office/sip in the file survived: it would be the renamed account's")
	}
	for i, lf := range filesOf(t, "office") {
		if !exists(lf.Path) || exists(filesOf(t, "work")[i].Path) {
			t.Errorf("%s not moved", lf.What)
		}
	}
	if saved, ok, err := ownpresence.Load("office"); err != nil || !ok || saved.Account != "office" || saved.State != "away" {
		t.Errorf("presence state after rename: %+v %v %v", saved, ok, err)
	}
	if names := jsoncheck.Validate(t, r.Stdout); len(names) != 1 || names[0] != "cusax.account-rename/v1" {
		t.Errorf("rename --json: schema %v", names)
	}
	var got RenameJSON
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if got.From != "work" || got.To != "office" || len(got.SecretsMoved) != 3 || len(got.FilesMoved) != 2 || !got.Default || got.OldSecretsLeft {
		t.Errorf("rename --json: %s", r.Stdout)
	}
	for _, s := range got.SecretsMoved {
		if !strings.HasPrefix(s.Ref, "office/") || (s.Aspect == "provisioning") != (s.Store == "file") {
			t.Errorf("secret moved: %+v", s)
		}
	}
}

// NEW exists, is invalid, or OLD does not: exit 2 and nothing changes.
func TestRenameRefused(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), map[string]string{"work/xmpp": "w", "home/xmpp": "h"}, nil)
	localFiles(t, "work")
	localFiles(t, "home")
	before, _ := os.ReadFile(e.ConfigPath)
	secretsBefore, _ := os.ReadFile(filepath.Join(e.Dir, secrets.FileName))
	for _, args := range [][]string{{"work", "home"}, {"work", "a/b"}, {"work", ".."}, {"work", ""}, {"nosuch", "x"}, {"work"}} {
		r := e.Run(newCmd, append([]string{"rename"}, args...)...)
		if r.Code != cmdutil.ExitUsage {
			t.Errorf("rename %q: exit %d %v", args, r.Code, r.Err)
		}
	}
	if after, _ := os.ReadFile(e.ConfigPath); string(after) != string(before) {
		t.Errorf("config changed:\n%s", after)
	}
	if after, _ := os.ReadFile(filepath.Join(e.Dir, secrets.FileName)); string(after) != string(secretsBefore) {
		t.Error("secrets.toml changed")
	}
	for _, name := range []string{"work", "home"} {
		for _, lf := range filesOf(t, name) {
			if !exists(lf.Path) {
				t.Errorf("%s's %s gone", name, lf.What)
			}
		}
	}
	if r := e.Run(newCmd, "rename", "work", "home"); !strings.Contains(r.Err.Error(), `account exists: "home"`) {
		t.Errorf("message: %v", r.Err)
	}
}

// A stale presence state under NEW that is a link to another file: it is
// removed as a link before the state is written, never written through.
func TestRenameStaleLinkAtNew(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	localFiles(t, "work")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, lf := range filesOf(t, "office") {
		if lf.What == "presence_state" {
			if err := os.Symlink(victim, lf.Path); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := e.Run(newCmd, "rename", "work", "office"); r.Err != nil {
		t.Fatal(r.Err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("written through the stale link: %q", b)
	}
	if saved, ok, err := ownpresence.Load("office"); err != nil || !ok || saved.Account != "office" {
		t.Errorf("presence state: %+v %v %v", saved, ok, err)
	}
}

// A name a hand edit made invalid is repaired by a rename: no secret or
// file can exist under it, and none of another account's is touched.
func TestRenameInvalidName(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{
		{Name: "a b", XMPP: &config.XMPPAspect{JID: "ab@example.com"}},
		{Name: "a_b", XMPP: &config.XMPPAspect{JID: "a_b@example.com"}},
	}}
	e := cmdtest.New(t, cfg, map[string]string{"a_b/xmpp": "ab-secret", "good/sip": "stale"}, nil)
	localFiles(t, "a_b")
	if r := e.Run(newCmd, "rename", "a b", "good"); r.Err != nil {
		t.Fatal(r.Err)
	}
	if names := e.LoadConfig().Names(); !slices.Equal(names, []string{"good", "a_b"}) {
		t.Errorf("names %q", names)
	}
	if got, err := e.Store.Get(context.Background(), secrets.Ref{Account: "a_b", Aspect: "xmpp"}); err != nil || got != "ab-secret" {
		t.Errorf("a_b's secret: %v", err)
	}
	if _, err := e.Store.Get(context.Background(), secrets.Ref{Account: "good", Aspect: "sip"}); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("stale good/sip: %v", err)
	}
	for _, lf := range filesOf(t, "a_b") {
		if !exists(lf.Path) {
			t.Errorf("a_b's %s moved", lf.What)
		}
	}
}

func TestRenameAgentNote(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	agent := func(context.Context) (*agentapi.StatusResponse, error) {
		return &agentapi.StatusResponse{Accounts: []*agentapi.AccountStatus{{Name: "work"}}}, nil
	}
	r := e.Run(withAgent(agent), "rename", "work", "office")
	if r.Err != nil || !strings.Contains(r.Stderr, "the running agent still knows the account as work") {
		t.Errorf("%v %s", r.Err, r.Stderr)
	}
}

// A step that fails before the config is written leaves the account
// under its old name with its passwords: here the presence state is a
// link to a file that is not one (refused to load).
func TestRenameFailureKeepsOld(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), map[string]string{"work/xmpp": "w-xmpp-secret"}, nil)
	notes := filepath.Join(t.TempDir(), "notes")
	if err := os.WriteFile(notes, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, lf := range filesOf(t, "work") {
		if lf.What == "presence_state" {
			if err := os.MkdirAll(filepath.Dir(lf.Path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(notes, lf.Path); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := e.Run(newCmd, "rename", "work", "office")
	if r.Err == nil || !slices.ContainsFunc(cmdutil.Hints(r.Err), func(h string) bool { return strings.Contains(h, "still called work") }) {
		t.Fatalf("rename over a bad presence state: %v %v", r.Err, cmdutil.Hints(r.Err))
	}
	c := e.LoadConfig()
	if !slices.Equal(c.Names(), []string{"work", "home"}) || c.Default != "work" {
		t.Errorf("config: %v %q", c.Names(), c.Default)
	}
	if got, err := e.Store.Get(context.Background(), secrets.Ref{Account: "work", Aspect: "xmpp"}); err != nil || got != "w-xmpp-secret" {
		t.Errorf("work/xmpp after the failed rename: %v", err)
	}
	if b, _ := os.ReadFile(notes); string(b) != "not json" {
		t.Errorf("the linked file changed: %q", b)
	}
}

// A stale vCard cache under the new name (no account's) is replaced by
// the renamed account's, not merged into it.
func TestRenameReplacesStaleCache(t *testing.T) {
	e := cmdtest.New(t, twoAccounts(), nil, nil)
	localFiles(t, "work")
	var cache string
	for _, lf := range filesOf(t, "office") {
		if lf.What == "vcard_cache" {
			cache = lf.Path
		}
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cache, "stale.json")
	if err := os.WriteFile(stale, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.Run(newCmd, "rename", "work", "office"); r.Err != nil {
		t.Fatal(r.Err)
	}
	if exists(stale) {
		t.Error("the stale cache entry was adopted")
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 1 {
		t.Errorf("cache after rename: %v", entries)
	}
}
