package roster

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/config"
)

// A SIP-only account's IM goes over SIP MESSAGE, which has no roster: one
// line naming the IM backend, exit 17, a hint, and no plugin started.
func TestRosterOnSIPOnlyAccount(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{{Name: "sipper", SIP: &config.SIPAspect{AOR: cmdtest.AliceAOR}}}}
	e := cmdtest.New(t, cfg, map[string]string{"sipper/sip": cmdtest.AliceSIPPass}, nil)
	r := e.Run(newCmd, "--json")
	if r.Code != cmdutil.ExitUnsupported {
		t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, cmdutil.ExitUnsupported)
	}
	if msg := r.Err.Error(); msg != "not supported by this account's IM backend (sipmessage): the roster, vCards, presence and rooms need an XMPP aspect" {
		t.Errorf("error %q", msg)
	}
	if h := cmdutil.Hints(r.Err); len(h) != 1 || !strings.Contains(h[0], "cusax login --name sipper --jid") {
		t.Errorf("hints %q", h)
	}
	if got := e.Source.Started(); len(got) != 0 {
		t.Errorf("started %v", got)
	}
}
