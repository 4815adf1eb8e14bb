package call

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/cusax/cusax/plugins/policy"
)

// mediaEnv is newEnv with the account's media_encryption set (""
// leaves it unset) and, when plain, its SIP flow not over TLS.
func mediaEnv(t *testing.T, setting string, plain bool) *cmdtest.Env {
	t.Helper()
	cfg := cmdtest.Standard()
	cfg.Accounts[0].SIP.MediaEncryption = setting
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceAOR, Password: cmdtest.AliceSIPPass, PlainSignalling: plain})
	e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), svc)
	e.Source.Policies["default"] = policy.New()
	e.Source.Telephony["sip"] = digestDial{e.Service.Telephony()}
	return e
}

// jsonOut decodes the outcome on stdout as a map (to see which fields are
// there at all).
func jsonOut(t *testing.T, r cmdtest.Result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatalf("stdout is not the outcome: %v\nstdout %q\nstderr %q", err, r.Stdout, r.Stderr)
	}
	return m
}

// errorObject is the JSON error object a failing --json command writes on
// stderr (cli.printError): the error, its exit code and its hints.
func errorObject(t *testing.T, r cmdtest.Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(map[string]any{"error": r.Err.Error(), "exit_code": r.Code, "hints": cmdutil.Hints(r.Err)})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// The flag wins over the account's media_encryption; with neither, ""
// reaches the backend (it then chooses by the signalling's transport).
func TestCallMediaEncryptionPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{name: "neither", want: ""},
		{name: "config", config: "optional", want: "optional"},
		{name: "flag", args: []string{"--media-encryption", "none"}, want: "none"},
		{name: "flag over config", config: "none", args: []string{"--media-encryption", "optional"}, want: "optional"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mediaEnv(t, tc.config, false)
			e.Service.Answer(cmdtest.BobAOR)
			r := e.Run(newCmd, append([]string{"bob", "--duration", "1ms"}, tc.args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stderr)
			}
			if d := e.Service.Dialled(); len(d) != 1 || d[0].Media.Encryption != tc.want {
				t.Errorf("dialled %+v, want Encryption %q", d, tc.want)
			}
		})
	}
}

// A value that is not one of the three is a usage error naming them;
// nothing is dialled.
func TestCallMediaEncryptionBadValue(t *testing.T) {
	for _, v := range []string{"SRTP", "zrtp", ""} {
		e := mediaEnv(t, "", false)
		e.Service.Answer(cmdtest.BobAOR)
		r := e.Run(newCmd, "bob", "--media-encryption", v)
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "srtp, optional, none") {
			t.Errorf("--media-encryption %q: exit %d, %v; want 2 naming srtp, optional, none", v, r.Code, r.Err)
		}
		if len(e.Service.Dialled()) != 0 {
			t.Errorf("--media-encryption %q: dialled anyway", v)
		}
	}
}

// Shell completion offers the three values.
func TestCallMediaEncryptionCompletion(t *testing.T) {
	cmd := NewCmdCall(&cmdutil.Factory{}, nil)
	complete, ok := cmd.GetFlagCompletionFunc("media-encryption")
	if !ok {
		t.Fatal("no completion for --media-encryption")
	}
	got, dir := complete(cmd, nil, "")
	if !slices.Equal(got, []string{"srtp", "optional", "none"}) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("completions %v (%v)", got, dir)
	}
}

// srtp and a callee that answers plain RTP: the backend hangs up at once,
// the call fails with exit 14, one line plus the exact fix, nothing on
// stdout; with --json the error object carries them.
func TestCallSRTPPlainCalleeRefused(t *testing.T) {
	e := mediaEnv(t, "srtp", false)
	e.Service.Answer(cmdtest.BobAOR)
	e.Service.CalleeMedia(cmdtest.BobAOR, fake.MediaPlain)
	r := e.Run(newCmd, "bob", "--duration", "1ms", "--json")
	if r.Code != cmdutil.ExitMediaInsecure || !errors.Is(r.Err, protocol.ErrMediaInsecure) {
		t.Fatalf("exit %d: %v; want 14", r.Code, r.Err)
	}
	if r.Stdout != "" {
		t.Errorf("stdout %q: want nothing for a refused call", r.Stdout)
	}
	want := `set media_encryption = "optional" in the [account.sip] table of account "home", or --media-encryption optional, to allow plain RTP with this peer`
	obj := errorObject(t, r)
	if obj["exit_code"] != float64(14) || !slices.Contains(cmdutil.Hints(r.Err), want) ||
		!strings.Contains(obj["error"].(string), "plain RTP") || strings.Contains(obj["error"].(string), "\n") {
		t.Errorf("error object %v: want exit_code 14, a one-line error naming plain RTP and the hint %q", obj, want)
	}
}

// srtp over signalling that is not TLS: no key may be sent, so the
// backend refuses before any INVITE (exit 14) and the hint names the fix.
func TestCallSRTPWithoutTLS(t *testing.T) {
	e := mediaEnv(t, "", true)
	e.Service.Answer(cmdtest.BobAOR)
	r := e.Run(newCmd, "bob", "--media-encryption", "srtp")
	if r.Code != cmdutil.ExitMediaInsecure {
		t.Fatalf("exit %d: %v; want 14", r.Code, r.Err)
	}
	if len(e.Service.Dialled()) != 0 {
		t.Errorf("dialled %+v: want nothing", e.Service.Dialled())
	}
	if h := strings.Join(cmdutil.Hints(r.Err), "\n"); !strings.Contains(h, "transport=tls") || !strings.Contains(h, "optional") {
		t.Errorf("hints %q: want the TLS proxy fix and optional", h)
	}
}

// optional and a plain callee: the call goes on, stderr warns that media
// is in clear and why, and the JSON says "none" (no keying).
func TestCallOptionalPlainCalleeWarns(t *testing.T) {
	e := mediaEnv(t, "optional", false)
	e.Service.Answer(cmdtest.BobAOR)
	e.Service.CalleeMedia(cmdtest.BobAOR, fake.MediaPlain)
	r := e.Run(newCmd, "bob", "--duration", "1ms", "--json")
	if r.Code != 0 {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	m := jsonOut(t, r)
	if m["media_protection"] != "none" || m["media_keying"] != nil || m["srtp_auth_failures"] != nil {
		t.Errorf("outcome %v: want media_protection none, no keying, no srtp_auth_failures", m)
	}
	if !strings.Contains(r.Stderr, "cusax: warning: media in clear (plain RTP): the callee did not accept SRTP") {
		t.Errorf("stderr %q: want the warning with its reason", r.Stderr)
	}
}

// A protected call: the suite and keying in JSON and in the stderr media
// line; srtp_auth_failures appears only when some packets were dropped.
func TestCallProtectedMedia(t *testing.T) {
	e := mediaEnv(t, "", false)
	e.Service.Answer(cmdtest.BobAOR)
	r := e.Run(newCmd, "bob", "--duration", "1ms", "--json")
	if r.Code != 0 {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	m := jsonOut(t, r)
	if m["media_protection"] != fake.SRTPSuite || m["media_keying"] != "sdes" || m["srtp_auth_failures"] != nil {
		t.Errorf("outcome %v: want the suite, sdes, no srtp_auth_failures", m)
	}
	if !strings.Contains(r.Stderr, "cusax: media: SRTP AES_CM_128_HMAC_SHA1_80 (SDES)\n") || strings.Contains(r.Stderr, "warning") {
		t.Errorf("stderr %q: want the media line and no warning", r.Stderr)
	}

	e.Service.OnDial("sip:carol@example.com", ringing, protocol.CallEvent{StatusCode: 200, Reason: "OK", Answered: true, Final: true,
		MediaProtection: "AEAD_AES_128_GCM", MediaKeying: protocol.KeyingSDES, SRTPAuthFailures: 3})
	r = e.Run(newCmd, "sip:carol@example.com", "--duration", "1ms", "--json")
	if m := jsonOut(t, r); m["srtp_auth_failures"] != float64(3) || m["media_protection"] != "AEAD_AES_128_GCM" {
		t.Errorf("outcome %v: want srtp_auth_failures 3 and the suite", m)
	}
	r = e.Run(newCmd, "sip:carol@example.com", "--duration", "1ms")
	if !strings.Contains(r.Stdout, "media\tSRTP AEAD_AES_128_GCM (SDES)\nsrtp-auth-failures\t3\n") {
		t.Errorf("stdout %q: want the media and srtp-auth-failures lines", r.Stdout)
	}
}

// A telephony backend without the srtp capability: "srtp" is refused
// before anything is dialled (exit 14, naming the backend); the default
// proceeds and the outcome says the media went in clear, and why.
func TestCallBackendWithoutSRTP(t *testing.T) {
	noSRTP := slices.DeleteFunc(slices.Clone(fake.TelephonyCapabilities), func(c protocol.Capability) bool { return c == protocol.CapSRTP })
	e := mediaEnv(t, "srtp", false)
	e.Source.Telephony["sip"] = digestDial{e.Service.Telephony(noSRTP...)}
	e.Service.Answer(cmdtest.BobAOR)
	r := e.Run(newCmd, "bob", "--duration", "1ms")
	if r.Code != cmdutil.ExitMediaInsecure || !strings.Contains(r.Err.Error(), `telephony backend "sip" cannot encrypt media`) {
		t.Fatalf("exit %d: %v; want 14 naming the backend", r.Code, r.Err)
	}
	if len(e.Service.Dialled()) != 0 {
		t.Errorf("dialled %+v: want nothing", e.Service.Dialled())
	}
	if h := cmdutil.Hints(r.Err); len(h) != 2 || !strings.Contains(h[1], "--media-encryption optional") {
		t.Errorf("hints %q", h)
	}

	// The backend says nothing of the media: the host reports it in clear.
	e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
	r = e.Run(newCmd, "bob", "--duration", "1ms", "--media-encryption", "optional", "--json")
	if r.Code != 0 {
		t.Fatalf("optional: exit %d: %v", r.Code, r.Err)
	}
	if m := jsonOut(t, r); m["media_protection"] != "none" {
		t.Errorf("outcome %v: want media_protection none", m)
	}
	if !strings.Contains(r.Stderr, `cusax: warning: media in clear (plain RTP): the telephony backend "sip" cannot encrypt media`) {
		t.Errorf("stderr %q: want the warning naming the backend", r.Stderr)
	}
}

// The account's media_encryption is checked with the config: a bad value
// is a config error (exit 2) before any call.
func TestCallMediaEncryptionBadConfig(t *testing.T) {
	e := mediaEnv(t, "zrtp", false)
	e.Service.Answer(cmdtest.BobAOR)
	r := e.Run(newCmd, "bob")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "media_encryption") || len(e.Service.Dialled()) != 0 {
		t.Errorf("exit %d: %v; want 2 naming media_encryption, nothing dialled", r.Code, r.Err)
	}
}

// A plain offer to a callee that takes SRTP only is answered 488: the call
// fails (exit 1) and the hint says how to offer SRTP.
func TestCallPlainOfferToSRTPOnlyCallee(t *testing.T) {
	e := mediaEnv(t, "none", false)
	e.Service.Answer(cmdtest.BobAOR)
	e.Service.CalleeMedia(cmdtest.BobAOR, fake.MediaSRTPOnly)
	r := e.Run(newCmd, "bob", "--duration", "1ms")
	if r.Code != cmdutil.ExitFailure || !strings.Contains(r.Err.Error(), "488 Not Acceptable Here") {
		t.Fatalf("exit %d: %v; want 1 with the 488", r.Code, r.Err)
	}
	if h := strings.Join(cmdutil.Hints(r.Err), "\n"); !strings.Contains(h, "--media-encryption optional") || !strings.Contains(h, "transport=tls") {
		t.Errorf("hints %q", h)
	}
}

// A hostile backend: it declares srtp but answers with media in clear
// although media_encryption = srtp. The host does not trust it: it hangs
// up at once, says so, and exits 14 (the outcome says media-insecure).
func TestCallSRTPBackendReportsClear(t *testing.T) {
	e := mediaEnv(t, "srtp", false)
	clearAnswer := protocol.CallEvent{StatusCode: 200, Reason: "OK", Answered: true, MediaProtection: protocol.MediaInClear}
	e.Service.OnDial(cmdtest.BobAOR, ringing, clearAnswer)
	r := e.Run(newCmd, "bob", "--json") // no --duration: only our hang-up ends it
	if r.Code != cmdutil.ExitMediaInsecure || !strings.Contains(r.Err.Error(), "reported the media in clear") {
		t.Fatalf("exit %d: %v; want 14", r.Code, r.Err)
	}
	if m := jsonOut(t, r); m["result"] != "media-insecure" || m["exit_code"] != float64(14) || m["media_protection"] != "none" {
		t.Errorf("outcome %v", m)
	}
}
