package call

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/cusax/cusax/plugins/policy"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdCall(f, nil) }

// digestDial is the fake telephony backend with one thing of a real proxy
// added: the INVITE is challenged (RFC 3261 §22.2), so a wrong password
// or an unreachable registrar fails the Dial, as the sip plugin does. The
// fake's own Dial checks no password; its Register does.
type digestDial struct{ *fake.TelephonyBackend }

func (b digestDial) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	s, err := b.TelephonyBackend.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return digestSession{s}, nil
}

type digestSession struct{ protocol.TelephonySession }

func (s digestSession) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	if _, err := s.Register(ctx, protocol.RegisterRequest{}); err != nil {
		return nil, err
	}
	return s.TelephonySession.Dial(ctx, req)
}

// newEnv is the standard fixture (alice's account "home", bob in her
// roster with a SIP address and a number) with the real default policy.
func newEnv(t *testing.T, passwords map[string]string) *cmdtest.Env {
	t.Helper()
	if passwords == nil {
		passwords = cmdtest.StandardPasswords()
	}
	e := cmdtest.New(t, cmdtest.Standard(), passwords, nil)
	e.Source.Policies["default"] = policy.New()
	e.Source.Telephony["sip"] = digestDial{e.Service.Telephony()}
	return e
}

var (
	ringing  = protocol.CallEvent{StatusCode: 180, Reason: "Ringing"}
	answered = protocol.CallEvent{StatusCode: 200, Reason: "OK", Answered: true, SetupTime: 120 * time.Millisecond}
	ended    = protocol.CallEvent{StatusCode: 200, Reason: "OK", Answered: true, Final: true, SetupTime: 120 * time.Millisecond,
		Duration: 2 * time.Second, RTPSent: 100, RTPRecv: 98, Codec: "PCMU", MediaPeer: "192.0.2.9:4000"}
)

func final(code int, reason string) protocol.CallEvent {
	return protocol.CallEvent{StatusCode: code, Reason: reason, Final: true}
}

type outcome struct {
	Target     string `json:"target"`
	Via        string `json:"via"`
	URI        string `json:"uri"`
	CallID     string `json:"call_id"`
	StatusCode int    `json:"status_code"`
	Reason     string `json:"reason"`
	Result     string `json:"result"`
	Answered   bool   `json:"answered"`
	SetupMS    int64  `json:"setup_ms"`
	DurationMS int64  `json:"duration_ms"`
	RTPSent    int64  `json:"rtp_sent"`
	RTPRecv    int64  `json:"rtp_received"`
	Codec      string `json:"codec"`
	ExitCode   int    `json:"exit_code"`
}

func decodeOutcome(t *testing.T, r cmdtest.Result) outcome {
	t.Helper()
	var o outcome
	if err := json.Unmarshal([]byte(r.Stdout), &o); err != nil {
		t.Fatalf("stdout is not the outcome: %v\nstdout %q\nstderr %q", err, r.Stdout, r.Stderr)
	}
	if o.ExitCode != r.Code {
		t.Errorf("exit_code %d in JSON, exit %d", o.ExitCode, r.Code)
	}
	return o
}

func TestCallAnsweredJSON(t *testing.T) {
	e := newEnv(t, nil)
	e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
	r := e.Run(newCmd, "bob", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Code != cmdutil.ExitOK {
		t.Fatalf("exit %d: %v\nstderr %s", r.Code, r.Err, r.Stderr)
	}
	o := decodeOutcome(t, r)
	want := outcome{Target: "bob", Via: "home", URI: cmdtest.BobAOR, CallID: o.CallID, StatusCode: 200, Reason: "OK",
		Result: "answered", Answered: true, SetupMS: 120, DurationMS: 2000, RTPSent: 100, RTPRecv: 98, Codec: "PCMU"}
	if o != want || !strings.HasPrefix(o.CallID, "fake-dial-") {
		t.Errorf("outcome\n%+v, want\n%+v", o, want)
	}
	if !strings.Contains(r.Stderr, "cusax: 180 ringing\n") || !strings.Contains(r.Stderr, "cusax: answered (200 OK, set-up 120 ms)") {
		t.Errorf("progress on stderr: %q", r.Stderr)
	}
	d := e.Service.Dialled()
	if len(d) != 1 || d[0].Target != cmdtest.BobAOR || d[0].Anonymous ||
		len(d[0].Headers) != 1 || d[0].Headers[0] != (protocol.Header{Name: "Call-Info", Value: "<xmpp:" + cmdtest.AliceJID + ">;purpose=impp"}) {
		t.Errorf("dialled %+v", d)
	}
	// Nothing to send and no --duration: up until one side hangs up.
	if d[0].Media.Duration != -1 || d[0].Media.RingTimeout != 60*time.Second {
		t.Errorf("media %+v", d[0].Media)
	}
}

func TestCallAnsweredHuman(t *testing.T) {
	e := newEnv(t, nil)
	e.Service.OnDial(cmdtest.BobAOR, ringing, answered, ended)
	r := e.Run(newCmd, "bob", "--duration", "5s", "--dtmf", "12#a", "--ring-timeout", "3s")
	if r.Code != cmdutil.ExitFailure {
		// The fake sends no DTMF: "answered, DTMF not sent" is a failure.
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	wantOut := "answered, DTMF not sent\tbob via home (sip:bob@example.com): 200 OK\nsetup\t120 ms\nduration\t2000 ms\n" +
		"rtp\t100 sent, 98 received (PCMU from 192.0.2.9:4000)\nmedia\tSRTP AES_CM_128_HMAC_SHA1_80 (SDES)\n"
	if r.Stdout != wantOut {
		t.Errorf("stdout\n%q, want\n%q", r.Stdout, wantOut)
	}
	m := e.Service.Dialled()[0].Media
	if m.DTMF != "12#A" || m.Duration != 5*time.Second || m.RingTimeout != 3*time.Second {
		t.Errorf("media %+v", m)
	}
}

// TestCallResults: each final answer has its result and exit code
// (RFC 3261 §21; `cusax help exit-codes`).
func TestCallResults(t *testing.T) {
	tests := []struct {
		name   string
		events []protocol.CallEvent // nil: no script, the fake answers 404
		result string
		code   int
	}{
		{"busy here", []protocol.CallEvent{ringing, final(486, "Busy Here")}, "busy", cmdutil.ExitBusy},
		{"busy everywhere", []protocol.CallEvent{final(600, "Busy Everywhere")}, "busy", cmdutil.ExitBusy},
		{"declined", []protocol.CallEvent{ringing, final(603, "Decline")}, "declined", cmdutil.ExitDeclined},
		{"request timeout", []protocol.CallEvent{ringing, final(408, "Request Timeout")}, "no-answer", cmdutil.ExitNoAnswer},
		{"temporarily unavailable", []protocol.CallEvent{final(480, "Temporarily Unavailable")}, "no-answer", cmdutil.ExitNoAnswer},
		{"ring timeout (487 after CANCEL)", []protocol.CallEvent{ringing, final(487, "Request Terminated")}, "no-answer", cmdutil.ExitNoAnswer},
		{"ringing, then nothing", []protocol.CallEvent{ringing}, "no-answer", cmdutil.ExitNoAnswer},
		{"not found", nil, "not-found", cmdutil.ExitNotFound},
		{"does not exist anywhere", []protocol.CallEvent{final(604, "Does Not Exist Anywhere")}, "not-found", cmdutil.ExitNotFound},
		{"forbidden", []protocol.CallEvent{final(403, "Forbidden")}, "auth-failed", cmdutil.ExitAuth},
		{"service unavailable", []protocol.CallEvent{final(503, "Service Unavailable")}, "failed", cmdutil.ExitNetwork},
		{"server error", []protocol.CallEvent{final(500, "Server Internal Error")}, "failed", cmdutil.ExitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.events != nil {
				e.Service.OnDial("sip:carol@example.com", tt.events...)
			}
			r := e.Run(newCmd, "sip:carol@example.com", "--json")
			if r.Code != tt.code {
				t.Fatalf("exit %d, want %d: %v", r.Code, tt.code, r.Err)
			}
			o := decodeOutcome(t, r)
			if o.Result != tt.result || o.Answered {
				t.Errorf("outcome %+v", o)
			}
			// One line that says what happened.
			if msg := r.Err.Error(); !strings.HasPrefix(msg, "call sip:carol@example.com: "+tt.result+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q", msg)
			}
		})
	}
}

// TestCallTargets: a roster contact, a SIP URI, a tel: URI and a typed
// number become the Request-URI dialled through the account.
func TestCallTargets(t *testing.T) {
	for _, tt := range []struct {
		target string
		args   []string
		uri    string
	}{
		{"bob", nil, cmdtest.BobAOR},
		{"Bob", nil, cmdtest.BobAOR},
		{"xmpp:bob@example.com", nil, cmdtest.BobAOR},
		{"bob", []string{"--number", "2", "--yes"}, "sip:+15550100@example.com;user=phone"},
		{"sip:carol@example.com", nil, "sip:carol@example.com"},
		{"tel:+15550100", []string{"--yes"}, "sip:+15550100@example.com;user=phone"},
		{"+1 555 0100", []string{"--yes"}, "sip:+15550100@example.com;user=phone"},
	} {
		t.Run(tt.target+strings.Join(tt.args, ""), func(t *testing.T) {
			e := newEnv(t, nil)
			e.Service.OnDial(tt.uri, answered, ended)
			r := e.Run(newCmd, append([]string{tt.target, "--json"}, tt.args...)...)
			if r.Code != 0 {
				t.Fatalf("exit %d: %v", r.Code, r.Err)
			}
			if o := decodeOutcome(t, r); o.URI != tt.uri || o.Target != tt.target {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

// TestCallCost: RFC 7081 §5. A number may cost money: off a terminal it is
// refused (exit 5) with the hint to add --yes and nothing is dialled; on
// a terminal the user is asked.
func TestCallCost(t *testing.T) {
	uri := "sip:+15550199@example.com;user=phone"
	t.Run("refused", func(t *testing.T) {
		e := newEnv(t, nil)
		r := e.Run(newCmd, "tel:+15550199")
		if r.Code != cmdutil.ExitDenied || len(e.Service.Dialled()) != 0 || r.Stdout != "" {
			t.Fatalf("exit %d: %v; dialled %v", r.Code, r.Err, e.Service.Dialled())
		}
		if h := cmdutil.Hints(r.Err); len(h) != 1 || !strings.Contains(h[0], "--yes") {
			t.Errorf("hints %q", h)
		}
	})
	for ans, code := range map[string]int{"y\n": cmdutil.ExitOK, "n\n": cmdutil.ExitDenied} {
		t.Run("asked "+strings.TrimSpace(ans), func(t *testing.T) {
			e := newEnv(t, nil)
			e.IO.SetTTY(true, false, true)
			e.In.WriteString(ans)
			e.Service.OnDial(uri, answered, ended)
			r := e.Run(newCmd, "tel:+15550199")
			if r.Code != code {
				t.Fatalf("exit %d: %v", r.Code, r.Err)
			}
			if !strings.Contains(r.Stderr, "cusax: calling a phone number may cost money (RFC 7081 §5)\nCall "+uri+" through home? [y/N] ") {
				t.Errorf("prompt: %q", r.Stderr)
			}
			if n := len(e.Service.Dialled()); (n == 1) != (code == 0) {
				t.Errorf("dialled %d", n)
			}
		})
	}
	t.Run("a toll guard refuses despite --yes", func(t *testing.T) {
		e := newEnv(t, nil)
		e.Source.Policies["tollguard"] = &fake.Policy{Name: "tollguard", OnApproveCost: func(r protocol.CostRequest) protocol.Decision {
			if r.PSTN {
				return protocol.Decision{Verdict: protocol.Deny, Reason: "no calls to numbers"}
			}
			return protocol.Decision{Verdict: protocol.Abstain}
		}}
		cfg := e.LoadConfig()
		cfg.Accounts[0].Policy = []string{"tollguard"}
		if err := saveConfig(e, cfg); err != nil {
			t.Fatal(err)
		}
		r := e.Run(newCmd, "tel:+15550199", "--yes")
		if r.Code != cmdutil.ExitDenied || !strings.Contains(r.Err.Error(), "no calls to numbers (policy tollguard)") {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		if h := cmdutil.Hints(r.Err); len(h) != 1 || !strings.Contains(h[0], `policy "tollguard" refused it`) {
			t.Errorf("hints %q", h)
		}
	})
}

// TestCallPromptsNumber: several numbers and no SIP address (RFC 7081
// §3.3): off a terminal the error lists them (exit 2); on one the user
// picks.
func TestCallPromptsNumber(t *testing.T) {
	multi := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Multi\r\nTEL;TYPE=cell;VALUE=uri:tel:+15550102\r\nTEL;TYPE=work;VALUE=uri:tel:+15550103\r\nEND:VCARD\r\n"
	setup := func(t *testing.T) *cmdtest.Env {
		e := newEnv(t, nil)
		e.Service.Add(fake.Account{Address: cmdtest.AliceJID, Password: cmdtest.AlicePassword,
			Roster: []protocol.RosterItem{{JID: "multi@example.com", Name: "Multi"}}})
		e.Service.Add(fake.Account{Address: "multi@example.com", VCard: multi})
		return e
	}
	t.Run("no terminal", func(t *testing.T) {
		r := setup(t).Run(newCmd, "Multi", "--dry-run")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "1) tel:+15550102 (cell), 2) tel:+15550103 (work)") {
			t.Errorf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		e := setup(t)
		e.IO.SetTTY(true, false, true)
		e.In.WriteString("2\n")
		r := e.Run(newCmd, "Multi", "--dry-run", "--json")
		jsoncheck.Validate(t, r.Stdout)
		if r.Code != 0 || !strings.Contains(r.Stdout, `"uri": "sip:+15550103@example.com;user=phone"`) {
			t.Fatalf("exit %d: %v\n%s", r.Code, r.Err, r.Stdout)
		}
		if !strings.Contains(r.Stderr, "cusax: multi@example.com has several numbers:\n  1) tel:+15550102 cell\n  2) tel:+15550103 work\nCall which number? ") {
			t.Errorf("prompt %q", r.Stderr)
		}
	})
}

func TestCallDryRun(t *testing.T) {
	e := newEnv(t, nil)
	r := e.Run(newCmd, "bob", "--dry-run")
	want := "target\tbob (contact)\ncontact\tbob@example.com\n" +
		"via\thome (the contact's roster account has a CUSAX relationship with this SIP account (RFC 7081 §3.4), policy default)\n" +
		"uri\tsip:bob@example.com\nfrom\tsip:alice@example.com\nheader\tCall-Info: <xmpp:alice@example.com>;purpose=impp\n" +
		"cost\tallow (a SIP call within the service)\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("exit %d: %v\nstdout\n%q, want\n%q", r.Code, r.Err, r.Stdout, want)
	}
	r = e.Run(newCmd, "bob", "--dry-run", "--json", "--anonymous")
	var p struct {
		URI, From  string
		Headers    []protocol.Header
		Anonymous  bool
		NoCallInfo string `json:"no_call_info"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil || r.Code != 0 {
		t.Fatalf("exit %d: %v %v", r.Code, r.Err, err)
	}
	if p.From != "sip:anonymous@anonymous.invalid" || len(p.Headers) != 0 || !p.Anonymous || p.NoCallInfo == "" {
		t.Errorf("--anonymous plan %+v", p)
	}
	r = e.Run(newCmd, "bob", "--dry-run", "--no-impp")
	if r.Code != 0 || strings.Contains(r.Stdout, "header\t") || !strings.Contains(r.Stdout, "call-info\tnone (--no-impp)") {
		t.Errorf("--no-impp: %q", r.Stdout)
	}
	if d := e.Service.Dialled(); len(d) != 0 {
		t.Errorf("--dry-run dialled %v", d)
	}
	for _, s := range e.Source.Started() {
		if strings.HasPrefix(s, "telephony/") {
			t.Errorf("--dry-run started %s", s)
		}
	}
}

// TestCallAnonymous: RFC 3325 Privacy and no Call-Info reach the backend.
func TestCallAnonymous(t *testing.T) {
	e := newEnv(t, nil)
	e.Service.OnDial(cmdtest.BobAOR, answered, ended)
	if r := e.Run(newCmd, "bob", "--anonymous"); r.Code != 0 {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	if d := e.Service.Dialled(); len(d) != 1 || !d[0].Anonymous || len(d[0].Headers) != 0 {
		t.Errorf("dialled %+v", d)
	}
}

// TestCallFailures: the error paths and their exit codes.
func TestCallFailures(t *testing.T) {
	t.Run("wrong SIP password", func(t *testing.T) {
		e := newEnv(t, map[string]string{"home/xmpp": cmdtest.AlicePassword, "home/sip": "wrong-sip-pw"})
		r := e.Run(newCmd, "sip:carol@example.com")
		if r.Code != cmdutil.ExitAuth {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		if strings.Contains(r.Stdout+r.Stderr+r.Err.Error(), "wrong-sip-pw") {
			t.Errorf("the password is in the output")
		}
	})
	t.Run("wrong XMPP password resolving a contact", func(t *testing.T) {
		e := newEnv(t, map[string]string{"home/xmpp": "wrong-xmpp-pw", "home/sip": cmdtest.AliceSIPPass})
		r := e.Run(newCmd, "bob")
		if r.Code != cmdutil.ExitAuth || len(e.Service.Dialled()) != 0 || strings.Contains(r.Err.Error(), "wrong-xmpp-pw") {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("no SIP password stored", func(t *testing.T) {
		e := newEnv(t, map[string]string{"home/xmpp": cmdtest.AlicePassword})
		if r := e.Run(newCmd, "sip:carol@example.com"); r.Code == 0 || len(e.Service.Dialled()) != 0 {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		e := newEnv(t, nil)
		e.Service.FailConnect(cmdtest.AliceAOR, fmt.Errorf("dial 192.0.2.1:5061: %w", protocol.ErrUnreachable))
		if r := e.Run(newCmd, "sip:carol@example.com"); r.Code != cmdutil.ExitNetwork {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("certificate", func(t *testing.T) {
		e := newEnv(t, nil)
		e.Service.FailConnect(cmdtest.AliceAOR, fmt.Errorf("x509: unknown authority: %w", protocol.ErrCertificate))
		if r := e.Run(newCmd, "sip:carol@example.com"); r.Code != cmdutil.ExitTLS {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("telephony plugin fails to start", func(t *testing.T) {
		e := newEnv(t, nil)
		e.Source.StartErr = map[string]error{"telephony/sip": fmt.Errorf("plugin sip exited: %w", pluginhost.ErrFailed)}
		if r := e.Run(newCmd, "sip:carol@example.com"); r.Code != cmdutil.ExitPlugin {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("telephony plugin missing", func(t *testing.T) {
		e := newEnv(t, nil)
		delete(e.Source.Telephony, "sip")
		if r := e.Run(newCmd, "sip:carol@example.com"); r.Code != cmdutil.ExitPlugin {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("policy plugin fails to start", func(t *testing.T) {
		e := newEnv(t, nil)
		e.Source.StartErr = map[string]error{"policy/default": fmt.Errorf("plugin default exited: %w", pluginhost.ErrFailed)}
		if r := e.Run(newCmd, "sip:carol@example.com"); r.Code != cmdutil.ExitPlugin || len(e.Service.Dialled()) != 0 {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("no account", func(t *testing.T) {
		e := cmdtest.New(t, nil, nil, nil)
		r := e.Run(newCmd, "sip:carol@example.com")
		if r.Code != cmdutil.ExitUsage || len(cmdutil.Hints(r.Err)) == 0 || !strings.Contains(cmdutil.Hints(r.Err)[0], "cusax login") {
			t.Fatalf("exit %d: %v %q", r.Code, r.Err, cmdutil.Hints(r.Err))
		}
	})
	t.Run("contact not in the roster", func(t *testing.T) {
		if r := newEnv(t, nil).Run(newCmd, "zed@example.com"); r.Code != cmdutil.ExitFailure || !strings.Contains(r.Err.Error(), "not in the roster") {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
	})
}

// TestCallBadFlags: every flag's bad value is a one-line usage error
// (exit 2) and nothing is dialled.
func TestCallBadFlags(t *testing.T) {
	dir := t.TempDir()
	notWAV := filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(notWAV, []byte("RIFF\x00\x00\x00\x00WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "tone.wav")
	f, err := os.Create(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := media.WriteWAV(f, 8000, make([]int16, 800)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Symlink(filepath.Join(dir, "elsewhere.wav"), filepath.Join(dir, "link.wav")); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"no target":                  {},
		"two targets":                {"bob", "carol"},
		"bad target":                 {"sip:"},
		"negative --duration":        {"bob", "--duration", "-1s"},
		"zero --ring-timeout":        {"bob", "--ring-timeout", "0"},
		"zero --timeout":             {"bob", "--timeout", "0s"},
		"--dtmf not a digit":         {"bob", "--dtmf", "12x"},
		"--via with LF":              {"bob", "--via", "home\nx"},
		"--account with CR":          {"bob", "--account", "home\r"},
		"--number with NUL":          {"bob", "--number", "1\x00"},
		"--account unknown":          {"bob", "--account", "nosuch"},
		"--via unknown":              {"sip:carol@example.com", "--via", "nosuch"},
		"--number not among them":    {"bob", "--number", "7"},
		"--number, not a contact":    {"sip:carol@example.com", "--number", "1"},
		"--video, not a contact":     {"sip:carol@example.com", "--video"},
		"--video, no TYPE=video":     {"bob", "--video"},
		"--play missing":             {"bob", "--play", filepath.Join(dir, "missing.wav")},
		"--play not a WAV":           {"bob", "--play", notWAV},
		"--record in no directory":   {"bob", "--play", good, "--record", filepath.Join(dir, "no", "such", "out.wav")},
		"--record a symlink":         {"bob", "--record", filepath.Join(dir, "link.wav")},
		"--record a directory":       {"bob", "--record", dir},
		"--record a device":          {"bob", "--record", os.DevNull},
		"--play with CR in its name": {"bob", "--play", "a\rb.wav"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.Service.OnDial(cmdtest.BobAOR, answered, ended)
			r := e.Run(newCmd, args...)
			if r.Code != cmdutil.ExitUsage {
				t.Fatalf("exit %d: %v", r.Code, r.Err)
			}
			if strings.Contains(r.Err.Error(), "\n") || r.Stdout != "" || len(e.Service.Dialled()) != 0 {
				t.Errorf("error %q, stdout %q, dialled %d", r.Err, r.Stdout, len(e.Service.Dialled()))
			}
		})
	}
}

// TestCallParsesOptions: runF sees the parsed flags.
func TestCallParsesOptions(t *testing.T) {
	e := newEnv(t, nil)
	var got *Options
	r := e.Run(func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdCall(f, func(o *Options) error { got = o; return nil })
	}, "bob", "--via", "home", "--number", "2", "-y", "--no-impp", "--duration", "0", "--timeout", "3s", "--json")
	if r.Err != nil || got == nil {
		t.Fatalf("%v", r.Err)
	}
	if got.Target != "bob" || got.Via != "home" || got.Number != "2" || !got.Yes || !got.NoIMPP || !got.HasDuration || got.Timeout != 3*time.Second || !got.JSON {
		t.Errorf("options %+v", got)
	}
}

func saveConfig(e *cmdtest.Env, cfg *config.Config) error { return config.Save(e.ConfigPath, cfg) }

// TestCallAccounts: two telephony accounts and a bare URI (RFC 7081
// §3.4): --via chooses, a terminal asks, elsewhere exit 2 names --via.
func TestCallAccounts(t *testing.T) {
	setup := func(t *testing.T) *cmdtest.Env {
		cfg := cmdtest.Standard()
		cfg.Default = "home"
		cfg.Accounts = append(cfg.Accounts, config.Account{Name: "second", SIP: &config.SIPAspect{AOR: "sip:dan@example.com"}})
		pw := cmdtest.StandardPasswords()
		pw["second/sip"] = "dan-sip-secret"
		e := cmdtest.New(t, cfg, pw, nil)
		e.Source.Policies["default"] = policy.New()
		e.Source.Telephony["sip"] = digestDial{e.Service.Telephony()}
		e.Service.Add(fake.Account{Address: "sip:dan@example.com", Password: "dan-sip-secret"})
		e.Service.OnDial("sip:carol@example.com", answered, ended)
		return e
	}
	t.Run("no terminal", func(t *testing.T) {
		e := setup(t)
		r := e.Run(newCmd, "sip:carol@example.com")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "choose one with --via (home, second)") || len(e.Service.Dialled()) != 0 {
			t.Errorf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("--via", func(t *testing.T) {
		e := setup(t)
		r := e.Run(newCmd, "sip:carol@example.com", "--via", "second", "--json")
		if o := decodeOutcome(t, r); r.Code != 0 || o.Via != "second" {
			t.Errorf("exit %d: %v; %+v", r.Code, r.Err, o)
		}
		// second has no XMPP address: no Call-Info (RFC 6993).
		if d := e.Service.Dialled(); len(d) != 1 || len(d[0].Headers) != 0 {
			t.Errorf("dialled %+v", d)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		e := setup(t)
		e.IO.SetTTY(true, false, true)
		e.In.WriteString("2\n")
		r := e.Run(newCmd, "sip:carol@example.com", "--json")
		if o := decodeOutcome(t, r); r.Code != 0 || o.Via != "second" {
			t.Errorf("exit %d: %v; %+v", r.Code, r.Err, o)
		}
		if !strings.Contains(r.Stderr, "  1) home\n  2) second\nCall through which account? ") {
			t.Errorf("prompt %q", r.Stderr)
		}
	})
}
