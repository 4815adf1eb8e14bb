package roster

import (
	"errors"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdRoster(f) }

func TestRosterJSON(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	r := e.Run(newCmd, "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	var got []map[string]any
	if err := cmdtest.UnmarshalList(r.Stdout, "contacts", &got); err != nil {
		t.Fatalf("stdout is not a JSON array: %v\n%s", err, r.Stdout)
	}
	if len(got) != 1 || got[0]["jid"] != cmdtest.BobJID {
		t.Fatalf("roster %s", r.Stdout)
	}
	if got[0]["callable"] != true {
		t.Errorf("bob's vCard has a SIP URI, want callable: %s", r.Stdout)
	}
}

func TestRosterWrongPassword(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), map[string]string{"home/xmpp": "wrong"}, nil)
	r := e.Run(newCmd)
	if r.Code != cmdutil.ExitAuth || !errors.Is(r.Err, protocol.ErrAuth) {
		t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitAuth)
	}
	if strings.Contains(r.Stderr+r.Err.Error(), "wrong") {
		t.Errorf("the password is in the output: %q / %v", r.Stderr, r.Err)
	}
	if r.Stdout != "" {
		t.Errorf("stdout on failure: %q", r.Stdout)
	}
}
