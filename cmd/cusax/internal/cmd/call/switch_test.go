package call

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
)

// calls_over_xmpp = true (RFC 7081 §2) cannot be honoured: the call is
// refused with one line naming it, before anything is dialled.
func TestCallRefusesCallsOverXMPP(t *testing.T) {
	on := true
	e := newEnv(t, nil)
	cfg := e.LoadConfig()
	cfg.Accounts[0].Features.CallsOverXMPP = &on
	if err := config.Save(e.ConfigPath, cfg); err != nil {
		t.Fatal(err)
	}
	r := e.Run(newCmd, "bob")
	if r.Code != cmdutil.ExitUnsupported || !strings.Contains(r.Err.Error(), "calls_over_xmpp = true, but no installed backend can place calls over XMPP") {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	if h := cmdutil.Hints(r.Err); len(h) != 1 || !strings.Contains(h[0], "remove calls_over_xmpp") {
		t.Errorf("hints %q", h)
	}
	if d := e.Service.Dialled(); len(d) != 0 {
		t.Errorf("dialled %+v", d)
	}
}
