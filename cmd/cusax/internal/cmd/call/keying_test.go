package call

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/cusax/cusax/plugins/policy"
)

// keyingEnv is mediaEnv with the account's media_keying set ("" leaves
// it unset).
func keyingEnv(t *testing.T, keying string) *cmdtest.Env {
	t.Helper()
	cfg := cmdtest.Standard()
	cfg.Accounts[0].SIP.MediaKeying = keying
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceAOR, Password: cmdtest.AliceSIPPass})
	e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), svc)
	e.Source.Policies["default"] = policy.New()
	e.Source.Telephony["sip"] = digestDial{e.Service.Telephony()}
	return e
}

// --media-keying wins over the account's media_keying; with neither, ""
// (SDES) reaches the backend.
func TestCallMediaKeyingPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{name: "neither", want: ""},
		{name: "config", config: "dtls", want: "dtls"},
		{name: "flag", args: []string{"--media-keying", "dtls"}, want: "dtls"},
		{name: "flag over config", config: "dtls", args: []string{"--media-keying", "sdes"}, want: "sdes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := keyingEnv(t, tc.config)
			e.Service.Answer(cmdtest.BobAOR)
			r := e.Run(newCmd, append([]string{"bob", "--duration", "1ms"}, tc.args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
			}
			if d := e.Service.Dialled(); len(d) != 1 || d[0].Media.Keying != tc.want {
				t.Errorf("dialled %+v, want Keying %q", d, tc.want)
			}
		})
	}
}

// A value that is not sdes or dtls is a usage error (exit 2) naming
// them; nothing is dialled.
func TestCallMediaKeyingBadValue(t *testing.T) {
	for _, v := range []string{"DTLS", "zrtp", ""} {
		e := mediaEnv(t, "", false)
		e.Service.Answer(cmdtest.BobAOR)
		r := e.Run(newCmd, "bob", "--media-keying", v)
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "sdes, dtls") {
			t.Errorf("--media-keying %q: exit %d, %v; want 2 naming sdes, dtls", v, r.Code, r.Err)
		}
		if len(e.Service.Dialled()) != 0 {
			t.Errorf("--media-keying %q: dialled anyway", v)
		}
	}
}

// Shell completion offers the two values.
func TestCallMediaKeyingCompletion(t *testing.T) {
	cmd := NewCmdCall(&cmdutil.Factory{}, nil)
	complete, ok := cmd.GetFlagCompletionFunc("media-keying")
	if !ok {
		t.Fatal("no completion for --media-keying")
	}
	got, dir := complete(cmd, nil, "")
	if !slices.Equal(got, []string{"sdes", "dtls"}) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("completions %v (%v)", got, dir)
	}
}
