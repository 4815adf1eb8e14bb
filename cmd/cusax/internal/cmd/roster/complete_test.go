package roster

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/vcardcache"
)

// TestRosterFillsCompletionCache: the roster a command fetched is what
// completion offers next, without logging in again.
func TestRosterFillsCompletionCache(t *testing.T) {
	for _, args := range [][]string{{}, {"show", "bob"}} {
		t.Run(strings.Join(append([]string{"roster"}, args...), " "), func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
			if r := e.Run(newCmd, args...); r.Err != nil {
				t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
			}
			root, err := vcardcache.Dir()
			if err != nil {
				t.Fatal(err)
			}
			items, err := vcardcache.LoadRoster(root, "home")
			if err != nil || len(items) != 1 || items[0].JID != cmdtest.BobJID || items[0].Name != "Bob" {
				t.Fatalf("roster cache %+v, %v", items, err)
			}
			started := len(e.Source.Started())
			show, _, err := newCmd(e.Factory).Find([]string{"show"})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := show.ValidArgsFunction(show, nil, "")
			if len(got) != 1 || got[0] != "Bob\t"+cmdtest.BobJID {
				t.Fatalf("roster show completes %q", got)
			}
			if len(e.Source.Started()) != started {
				t.Error("completion started a backend")
			}
		})
	}
}
