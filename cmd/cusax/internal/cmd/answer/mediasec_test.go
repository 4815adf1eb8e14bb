package answer

import (
	"encoding/json"
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

// srtpEnv is the standard world with the account's media_encryption set
// ("" leaves it unset) and the fake's own telephony backend, which
// declares srtp and honours AnswerRequest.Encryption.
func srtpEnv(t *testing.T, setting string) *cmdtest.Env {
	t.Helper()
	cfg := cmdtest.Standard()
	cfg.Accounts[0].SIP.MediaEncryption = setting
	e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), nil)
	e.Source.Policies["default"] = policy.New()
	return e
}

// mediaReport is the media part of a JSON line.
type mediaReport struct {
	CallID           string `json:"call_id"`
	Action           string `json:"action"`
	Status           int    `json:"status_code"`
	Note             string `json:"note"`
	MediaProtection  string `json:"media_protection"`
	MediaKeying      string `json:"media_keying"`
	SRTPAuthFailures *int64 `json:"srtp_auth_failures"`
}

func mediaOf(t *testing.T, stdout string) mediaReport {
	t.Helper()
	var m mediaReport
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &m); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	return m
}

// The flag wins over the account's media_encryption, and reaches the
// backend as AnswerRequest.Encryption ("" when neither is set).
func TestAnswerMediaEncryptionPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{name: "neither", want: ""},
		{name: "config", config: "none", want: "none"},
		{name: "flag over config", config: "none", args: []string{"--media-encryption", "optional"}, want: "optional"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cmdtest.Standard()
			cfg.Accounts[0].SIP.MediaEncryption = tc.config
			e := cmdtest.New(t, cfg, cmdtest.StandardPasswords(), nil)
			b := newAnsweringBackend(e.Service)
			e.Source.Telephony["sip"] = b
			e.Source.Policies["default"] = policy.New()
			s := start(t, e, append([]string{"--max-calls", "1", "--json"}, tc.args...)...)
			s.ring(bob("bob-1"))
			if r := s.wait(); r.Code != 0 {
				t.Fatalf("exit %d: %v", r.Code, r.Err)
			}
			if req := b.Requests(); len(req) != 1 || req[0].Encryption != tc.want {
				t.Errorf("requests %+v, want Encryption %q", req, tc.want)
			}
		})
	}
}

// A bad value is a usage error naming the three; completion offers them.
func TestAnswerMediaEncryptionFlag(t *testing.T) {
	e := srtpEnv(t, "")
	r := e.Run(newCmd, "--media-encryption", "always")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "srtp, optional, none") {
		t.Errorf("exit %d: %v; want 2 naming srtp, optional, none", r.Code, r.Err)
	}
	cmd := NewCmdAnswer(&cmdutil.Factory{}, nil)
	complete, ok := cmd.GetFlagCompletionFunc("media-encryption")
	if !ok {
		t.Fatal("no completion for --media-encryption")
	}
	if got, dir := complete(cmd, nil, ""); !slices.Equal(got, protocol.MediaEncryptions) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("completions %v (%v)", got, dir)
	}
}

// By default over TLS a caller offering SRTP is taken with SRTP: the JSON
// and the line say the suite, stderr has no warning.
func TestAnswerProtectedMedia(t *testing.T) {
	e := srtpEnv(t, "")
	s := start(t, e, "--max-calls", "1", "--json", "--duration", "1ms")
	s.ring(bob("bob-1"))
	r := s.wait()
	m := mediaOf(t, r.Stdout)
	if r.Code != 0 || m.Action != "answered" || m.MediaProtection != fake.SRTPSuite || m.MediaKeying != "sdes" || m.SRTPAuthFailures != nil {
		t.Errorf("exit %d, report %+v", r.Code, m)
	}
	if strings.Contains(r.Stderr, "warning") {
		t.Errorf("stderr %q: no warning for protected media", r.Stderr)
	}

	s = start(t, e, "--max-calls", "1", "--duration", "1ms")
	s.ring(bob("bob-2"))
	if r := s.wait(); !strings.Contains(r.Stdout, "\tmedia SRTP AES_CM_128_HMAC_SHA1_80 (SDES)") {
		t.Errorf("stdout %q: want the media field", r.Stdout)
	}
}

// srtp and a caller offering plain RTP only: 488, reported as missed with
// why; the listener goes on (exit 0 after --max-calls).
func TestAnswerSRTPPlainCallerRefused(t *testing.T) {
	e := srtpEnv(t, "srtp")
	e.Service.CallerMedia("bob-1", fake.MediaPlain)
	s := start(t, e, "--max-calls", "1", "--json")
	s.ring(bob("bob-1"))
	r := s.wait()
	m := mediaOf(t, r.Stdout)
	if r.Code != 0 || m.Action != "missed" || m.Status != 488 || !strings.Contains(m.Note, "plain RTP") || m.MediaProtection != "" {
		t.Errorf("exit %d, report %+v: want missed, 488, a note, no media_protection", r.Code, m)
	}
	if resp := e.Service.Responses(); !slices.ContainsFunc(resp, func(x fake.Response) bool { return x.Status == 488 }) || slices.ContainsFunc(resp, func(x fake.Response) bool { return x.Status == 200 }) {
		t.Errorf("responses %+v: want 488 and never 200", resp)
	}

	e.Service.CallerMedia("bob-2", fake.MediaPlain)
	s = start(t, e, "--max-calls", "1")
	s.ring(bob("bob-2"))
	if r := s.wait(); !strings.Contains(r.Stdout, "missed\tbob-2\t") || !strings.Contains(r.Stdout, "\t488\t") || !strings.Contains(r.Stdout, "media_encryption = srtp") {
		t.Errorf("stdout %q: want the missed line with 488 and why", r.Stdout)
	}
}

// optional and a plain caller: answered in clear, "none" in JSON and a
// warning with why on stderr (even with --json).
func TestAnswerOptionalPlainCallerWarns(t *testing.T) {
	e := srtpEnv(t, "")
	e.Service.CallerMedia("bob-1", fake.MediaPlain)
	s := start(t, e, "--max-calls", "1", "--json", "--duration", "1ms", "--media-encryption", "optional")
	s.ring(bob("bob-1"))
	r := s.wait()
	m := mediaOf(t, r.Stdout)
	if r.Code != 0 || m.Action != "answered" || m.MediaProtection != "none" || m.MediaKeying != "" {
		t.Errorf("exit %d, report %+v: want answered, none", r.Code, m)
	}
	if !strings.Contains(r.Stderr, "cusax: answer: call bob-1: warning: media in clear (plain RTP): ") || !strings.Contains(r.Stderr, "the caller did not offer SRTP") {
		t.Errorf("stderr %q: want the warning with why", r.Stderr)
	}
}

// srtp with a backend that cannot encrypt media: exit 14 before
// registering, naming the backend, with the fix.
func TestAnswerBackendWithoutSRTP(t *testing.T) {
	e, _ := env(t) // its backend declares no srtp
	r := e.Run(newCmd, "--media-encryption", "srtp", "--json")
	if r.Code != cmdutil.ExitMediaInsecure || !strings.Contains(r.Err.Error(), `telephony backend "sip" cannot encrypt media`) {
		t.Fatalf("exit %d: %v; want 14 naming the backend", r.Code, r.Err)
	}
	if e.Service.Open() != 0 || strings.Contains(r.Stderr, "answering calls") {
		t.Errorf("registered anyway (open %d, stderr %q)", e.Service.Open(), r.Stderr)
	}
	if h := strings.Join(cmdutil.Hints(r.Err), "\n"); !strings.Contains(h, `media_encryption = "optional" in the [account.sip] table of account "home"`) {
		t.Errorf("hints %q", h)
	}
}
