package call

import (
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
)

// TestCallFillsCompletionCache: the roster a call resolved its contact in
// is what `cusax call <Tab>` offers next, without logging in.
func TestCallFillsCompletionCache(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.Run(newCmd, "bob", "--dry-run"); r.Err != nil {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}
	started := len(e.Source.Started())
	cmd := newCmd(e.Factory)
	got, _ := cmd.ValidArgsFunction(cmd, nil, "b")
	if len(got) != 1 || got[0] != "Bob\t"+cmdtest.BobJID {
		t.Fatalf("call completes %q", got)
	}
	if len(e.Source.Started()) != started {
		t.Error("completion started a backend")
	}
}
