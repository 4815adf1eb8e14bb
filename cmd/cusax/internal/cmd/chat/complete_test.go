package chat

import (
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
)

// TestChatFillsCompletionCache: the roster chat resolved its contact in is
// what `cusax chat <Tab>` offers next; with --room nothing is offered.
func TestChatFillsCompletionCache(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	if r := e.Run(newCmd, "bob", "hi"); r.Err != nil {
		t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
	}
	cmd := newCmd(e.Factory)
	if got, _ := cmd.ValidArgsFunction(cmd, nil, ""); len(got) != 1 || got[0] != "Bob\t"+cmdtest.BobJID {
		t.Fatalf("chat completes %q", got)
	}
	if got, _ := cmd.ValidArgsFunction(cmd, []string{"bob"}, ""); len(got) != 0 {
		t.Errorf("chat's message completes %q", got)
	}
	if err := cmd.Flags().Set("room", "room@muc.example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := cmd.ValidArgsFunction(cmd, nil, ""); len(got) != 0 {
		t.Errorf("chat --room completes %q", got)
	}
}
