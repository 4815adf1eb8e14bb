package whoiscaller

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdWhoisCaller(f, nil) }

// invite is a captured INVITE to alice as tools save it: LF line ends, no
// final blank line.
func invite(from string, extra ...string) string {
	lines := []string{
		"INVITE sip:alice@example.com SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
		"Max-Forwards: 70",
		"To: <sip:alice@example.com>",
		"From: " + from + ";tag=1928301774",
		"Call-ID: a84b4c76e66710@pc33.example.test",
		"CSeq: 314159 INVITE",
		"Contact: <sip:caller@192.0.2.1>",
	}
	lines = append(lines, extra...)
	return strings.Join(append(lines, "Content-Length: 0"), "\n")
}

func hint(jid string) string { return "Call-Info: <xmpp:" + jid + ">;purpose=impp" }

type verdict struct {
	Verdict      string   `json:"verdict"`
	Caller       string   `json:"caller"`
	CallerSource string   `json:"caller_source"`
	Unasserted   []string `json:"untrusted_asserted_identity"`
	Hint         string   `json:"hint"`
	JID          string   `json:"jid"`
	Name         string   `json:"name"`
	MatchedTel   string   `json:"matched_tel"`
	Source       string   `json:"source"`
	CallID       string   `json:"call_id"`
	Remote       string   `json:"remote"`
	Answered     string   `json:"answered_with"`
	Chatted      bool     `json:"chatted"`
}

// TestWhoisCallerJudge judges INVITEs from stdin against the fake roster
// and vCards (RFC 7081 §3.5, RFC 6993 §4): the Call-Info hint counts only
// when the hinted contact's vCard lists the caller.
func TestWhoisCallerJudge(t *testing.T) {
	for _, tc := range []struct {
		name, msg, verdict, jid, source, tel string
	}{
		{"hint confirmed", invite("<sip:bob@example.com>", hint(cmdtest.BobJID)), "verified", cmdtest.BobJID, "call-info", "sip:bob@example.com"},
		{"hint in another case", invite("<sip:bob@example.com>", hint("Bob@EXAMPLE.com")), "verified", cmdtest.BobJID, "call-info", "sip:bob@example.com"},
		{"no hint, found by scan", invite(`"Bob" <sip:bob@example.com>`), "verified-by-scan", cmdtest.BobJID, "roster-scan", "sip:bob@example.com"},
		{"tel: caller found by scan", invite("<tel:+15550100>"), "verified-by-scan", cmdtest.BobJID, "roster-scan", "tel:+15550100"},
		{"hint names someone else", invite("<sip:mallory@evil.example>", hint(cmdtest.BobJID)), "mismatch", cmdtest.BobJID, "call-info", ""},
		{"hint not in roster", invite("<sip:bob@example.com>", hint("stranger@example.com")), "not-in-roster", "", "call-info", ""},
		{"unknown caller", invite("<sip:stranger@example.com>"), "unknown", "", "", ""},
		{"anonymous", invite(`"Anonymous" <sip:anonymous@anonymous.invalid>`, "Privacy: id"), "anonymous", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
			e.In.WriteString(tc.msg)
			r := e.Run(newCmd, "--json")
			jsoncheck.Validate(t, r.Stdout)
			if r.Code != 0 {
				t.Fatalf("exit %d: %v", r.Code, r.Err)
			}
			var v verdict
			if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
				t.Fatalf("%v: %s", err, r.Stdout)
			}
			if v.Verdict != tc.verdict || v.JID != tc.jid || v.Source != tc.source || v.MatchedTel != tc.tel {
				t.Errorf("got %+v, want %s %s %s %s", v, tc.verdict, tc.jid, tc.source, tc.tel)
			}
			if spoof := strings.Contains(r.Stderr, "possible spoof (RFC 6993 §4)"); spoof != (tc.verdict == "mismatch") {
				t.Errorf("stderr %q", r.Stderr)
			}
		})
	}
}

func TestWhoisCallerHuman(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	path := filepath.Join(t.TempDir(), "invite.sip")
	if err := os.WriteFile(path, []byte(invite("<sip:bob@example.com>", hint(cmdtest.BobJID))), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.Run(newCmd, "--message", path)
	want := "verified\tBob <bob@example.com> (caller sip:bob@example.com)\nhint\tbob@example.com\nmatched\tsip:bob@example.com (call-info)\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("exit %d: %v\nstdout %q, want %q", r.Code, r.Err, r.Stdout, want)
	}
	e.In.WriteString(invite("<sip:mallory@evil.example>", hint(cmdtest.BobJID)))
	r = e.Run(newCmd)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "mismatch\tBob <bob@example.com> (caller sip:mallory@evil.example)\n") ||
		!strings.HasPrefix(r.Stderr, "cusax: warning: the caller claims to be bob@example.com, but that contact's vCard does not list sip:mallory@evil.example") {
		t.Errorf("mismatch: exit %d\nstdout %q\nstderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

// TestWhoisCallerPAI: RFC 3325 §9.1. --via-proxy trusts P-Asserted-Identity
// only when the account sets trust_asserted_identity; otherwise it is
// shown, said so on stderr, and not judged.
func TestWhoisCallerPAI(t *testing.T) {
	msg := invite("<sip:stranger@example.com>", "P-Asserted-Identity: <sip:bob@example.com>")
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	e.In.WriteString(msg)
	r := e.Run(newCmd, "--via-proxy", "--json")
	var v verdict
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Code != 0 {
		t.Fatalf("exit %d: %v %v", r.Code, r.Err, err)
	}
	if v.Verdict != "unknown" || v.Caller != "sip:stranger@example.com" || !slices.Contains(v.Unasserted, "sip:bob@example.com") ||
		!strings.Contains(r.Stderr, "P-Asserted-Identity ignored: account home does not set trust_asserted_identity") {
		t.Errorf("untrusted: %+v, stderr %q", v, r.Stderr)
	}

	cfg := cmdtest.Standard()
	cfg.Accounts[0].SIP.TrustAssertedIdentity = true
	cfg.Accounts[0].SIP.Proxy = "sip:proxy.example.com;transport=tls"
	e = cmdtest.New(t, cfg, cmdtest.StandardPasswords(), nil)
	e.In.WriteString(msg)
	r = e.Run(newCmd, "--via-proxy", "--json")
	v = verdict{}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || r.Code != 0 {
		t.Fatalf("exit %d: %v %v", r.Code, r.Err, err)
	}
	if v.Verdict != "verified-by-scan" || v.Caller != "sip:bob@example.com" || v.JID != cmdtest.BobJID {
		t.Errorf("trusted: %+v", v)
	}
}

// TestWhoisCallerBadInput: what is not one SIP request, and every flag's
// bad value, is a one-line usage error (exit 2).
func TestWhoisCallerBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		stdin string
		tty   bool
		args  []string
	}{
		"not SIP":                     {stdin: "GET / HTTP/1.1\nHost: example.com\n\n"},
		"empty":                       {stdin: ""},
		"binary junk":                 {stdin: "\x00\x01\x02INVITE\xff\xfe"},
		"a response":                  {stdin: "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 INVITE\n\n"},
		"longer than 1 MiB":           {stdin: invite("<sip:bob@example.com>", "X-Big: "+strings.Repeat("a", 1<<20))},
		"stdin is a terminal":         {tty: true},
		"--message missing":           {args: []string{"--message", filepath.Join(dir, "missing.sip")}},
		"--on-call bad":               {args: []string{"--listen", "--on-call", "hangup"}},
		"--on-call without --listen":  {args: []string{"--on-call", "busy"}},
		"--chat without --listen":     {args: []string{"--chat", "hi"}},
		"--listen with --message":     {args: []string{"--listen", "--message", "x.sip"}},
		"--ttl negative":              {args: []string{"--ttl", "-1s"}},
		"--timeout zero":              {args: []string{"--timeout", "0"}},
		"--give-up-after negative":    {args: []string{"--listen", "--give-up-after", "-1s"}},
		"--region not a country code": {args: []string{"--region", "DEU"}},
		"--region not letters":        {args: []string{"--region", "D1"}},
		"--chat with NUL":             {args: []string{"--listen", "--chat", "a\x00b"}},
		"--account unknown":           {stdin: invite("<sip:bob@example.com>"), args: []string{"--account", "nosuch"}},
		"positional argument":         {args: []string{"invite.sip"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
			e.IO.SetTTY(tc.tty, false, false)
			e.In.WriteString(tc.stdin)
			r := e.Run(newCmd, tc.args...)
			if r.Code != cmdutil.ExitUsage {
				t.Fatalf("exit %d: %v\nstdout %q", r.Code, r.Err, r.Stdout)
			}
			if strings.Contains(r.Err.Error(), "\n") || r.Stdout != "" || strings.Contains(r.Err.Error(), "unknown command") {
				t.Errorf("error %q, stdout %q", r.Err, r.Stdout)
			}
		})
	}
}

// TestWhoisCallerJudgeFailures: a hinted call needs the roster; its login
// failing is that failure's exit code, and no verdict is printed.
func TestWhoisCallerJudgeFailures(t *testing.T) {
	msg := invite("<sip:bob@example.com>", hint(cmdtest.BobJID))
	t.Run("wrong XMPP password", func(t *testing.T) {
		e := cmdtest.New(t, cmdtest.Standard(), map[string]string{"home/xmpp": "wrong-pw"}, nil)
		e.In.WriteString(msg)
		r := e.Run(newCmd)
		if r.Code != cmdutil.ExitAuth || r.Stdout != "" || strings.Contains(r.Err.Error(), "wrong-pw") {
			t.Errorf("exit %d: %v, stdout %q", r.Code, r.Err, r.Stdout)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
		e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrUnreachable)
		e.In.WriteString(msg)
		if r := e.Run(newCmd); r.Code != cmdutil.ExitNetwork {
			t.Errorf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("IMPP plugin fails", func(t *testing.T) {
		e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
		e.Source.StartErr = map[string]error{"impp/xmpp": fmt.Errorf("plugin xmpp exited: %w", pluginhost.ErrFailed)}
		e.In.WriteString(msg)
		if r := e.Run(newCmd); r.Code != cmdutil.ExitPlugin {
			t.Errorf("exit %d: %v", r.Code, r.Err)
		}
	})
	t.Run("anonymous needs no login", func(t *testing.T) {
		e := cmdtest.New(t, cmdtest.Standard(), map[string]string{"home/xmpp": "wrong-pw"}, nil)
		e.In.WriteString(invite(`"Anonymous" <sip:anonymous@anonymous.invalid>`, "Privacy: id"))
		if r := e.Run(newCmd); r.Code != 0 || !strings.HasPrefix(r.Stdout, "anonymous\t") || len(e.Source.Started()) != 0 {
			t.Errorf("exit %d: %v %q, started %v", r.Code, r.Err, r.Stdout, e.Source.Started())
		}
	})
}

// listening runs whois-caller --listen with args, calls during once the
// listener is registered, then presses Ctrl-C (cancels the Factory's
// context) unless the command ended by itself.
func listening(t *testing.T, e *cmdtest.Env, during func(ring func(protocol.IncomingCall) string), args ...string) cmdtest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e.Factory.Context = ctx
	done := make(chan cmdtest.Result, 1)
	go func() { done <- e.Run(newCmd, append([]string{"--listen"}, args...)...) }()
	// ring hands a call to the listener, once it has registered.
	ring := func(in protocol.IncomingCall) string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			id, n := e.Service.Ring(cmdtest.AliceAOR, in)
			if n == 1 {
				return id
			}
			select {
			case r := <-done:
				t.Fatalf("the listener ended: exit %d: %v", r.Code, r.Err)
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("the listener did not register")
			}
		}
	}
	if during != nil {
		during(ring)
	}
	cancel()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("whois-caller --listen still running 10 s after Ctrl-C")
		return cmdtest.Result{}
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func incoming(id, msg string) protocol.IncomingCall {
	return protocol.IncomingCall{CallID: id, Raw: []byte(msg), Source: "192.0.2.1:5060"}
}

// TestWhoisCallerListen: incoming calls (Service.Ring) are judged as they
// arrive, answered 486 (--on-call busy), and only a verified caller gets
// the --chat message (RFC 7081 §3.5 "revert to chatting"); Ctrl-C → 130.
func TestWhoisCallerListen(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	const text = "in a meeting, chat?"
	r := listening(t, e, func(ring func(protocol.IncomingCall) string) {
		ring(incoming("spoof-1", invite("<sip:mallory@evil.example>", hint(cmdtest.BobJID))))
		ring(incoming("unknown-2", invite("<sip:stranger@example.com>")))
		ring(incoming("bob-3", invite("<sip:bob@example.com>", hint(cmdtest.BobJID))))
		waitFor(t, "the three answers and the chat", func() bool {
			return len(e.Service.Responses()) == 3 && len(e.Service.Sent()) == 1
		})
	}, "--on-call", "busy", "--chat", text, "--json")
	if r.Code != cmdutil.ExitInterrupted {
		t.Errorf("exit %d after Ctrl-C, want 130: %v", r.Code, r.Err)
	}
	for i, resp := range e.Service.Responses() {
		want := fake.Response{Account: cmdtest.AliceAOR, CallID: []string{"spoof-1", "unknown-2", "bob-3"}[i], Status: 486, Reason: "Busy Here"}
		if resp != want {
			t.Errorf("response %d: %+v, want %+v", i, resp, want)
		}
	}
	if s := e.Service.Sent(); len(s) != 1 || s[0].To != cmdtest.BobJID || s[0].Body != text {
		t.Errorf("sent %+v", s)
	}
	jsoncheck.Validate(t, r.Stdout)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("stdout: %q", r.Stdout)
	}
	want := []verdict{
		{Verdict: "mismatch", CallID: "spoof-1", JID: cmdtest.BobJID, Chatted: false},
		{Verdict: "unknown", CallID: "unknown-2"},
		{Verdict: "verified", CallID: "bob-3", JID: cmdtest.BobJID, Chatted: true},
	}
	for i, line := range lines {
		var v verdict
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if v.Verdict != want[i].Verdict || v.CallID != want[i].CallID || v.JID != want[i].JID || v.Chatted != want[i].Chatted ||
			v.Answered != "486 Busy Here" || v.Remote != "192.0.2.1:5060" {
			t.Errorf("line %d: %+v", i, v)
		}
	}
	if !strings.Contains(r.Stderr, "cusax: listening for calls to sip:alice@example.com") || !strings.Contains(r.Stderr, "possible spoof") {
		t.Errorf("stderr %q", r.Stderr)
	}
}

// TestWhoisCallerListenReports: calls the backend could not hand over
// (Missed) and registration changes are one stderr line each; a bad
// INVITE is reported and the listener goes on; --on-call decline → 603.
func TestWhoisCallerListenReports(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	r := listening(t, e, func(ring func(protocol.IncomingCall) string) {
		ring(protocol.IncomingCall{Missed: 3, MissedCallIDs: []string{"m1", "m2"}})
		ring(protocol.IncomingCall{Registration: &protocol.RegistrationEvent{State: protocol.RegistrationLost,
			Server: "192.0.2.5:5061", Transport: "tls", Reason: "connection closed"}})
		ring(protocol.IncomingCall{Registration: &protocol.RegistrationEvent{State: protocol.RegistrationRestored,
			Address: "alice@127.0.0.1:5061", Transport: "tls", Down: 1500 * time.Millisecond}})
		ring(incoming("junk-1", "this is not SIP"))
		ring(incoming("bob-2", invite("<sip:bob@example.com>")))
		waitFor(t, "the answer to bob", func() bool { return len(e.Service.Responses()) == 1 })
	}, "--on-call", "decline")
	if r.Code != cmdutil.ExitInterrupted {
		t.Errorf("exit %d: %v", r.Code, r.Err)
	}
	if resp := e.Service.Responses(); resp[0].CallID != "bob-2" || resp[0].Status != 603 || resp[0].Reason != "Decline" {
		t.Errorf("responses %+v", resp)
	}
	for _, want := range []string{
		"cusax: whois-caller: 3 incoming call(s) arrived while earlier ones were being judged and were not judged (Call-ID m1, m2, …)\n",
		"cusax: whois-caller: registration of sip:alice@example.com with 192.0.2.5:5061 over tls lost (connection closed); registering again\n",
		"cusax: whois-caller: registered sip:alice@example.com again (alice@127.0.0.1:5061 over tls) after 1.5 s\n",
		"cusax: call junk-1: ",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if r.Stdout != "verified-by-scan\tBob <bob@example.com> (caller sip:bob@example.com)\nmatched\tsip:bob@example.com (roster-scan)\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
}

// TestWhoisCallerListenGivesUp: a registration lost and not restored
// within --give-up-after ends the listener with exit 7.
func TestWhoisCallerListenGivesUp(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e.Factory.Context = ctx
	done := make(chan cmdtest.Result, 1)
	go func() { done <- e.Run(newCmd, "--listen", "--give-up-after", "50ms") }()
	waitFor(t, "the listener to register", func() bool {
		_, n := e.Service.Ring(cmdtest.AliceAOR, protocol.IncomingCall{Registration: &protocol.RegistrationEvent{
			State: protocol.RegistrationLost, Reason: "registrar restarted"}})
		return n == 1
	})
	select {
	case r := <-done:
		if r.Code != cmdutil.ExitNetwork || !strings.Contains(r.Err.Error(), "giving up (--give-up-after 50ms)") {
			t.Errorf("exit %d: %v", r.Code, r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not give up")
	}
}

// TestWhoisCallerListenFailures: the listener's start fails with the
// documented exit codes.
func TestWhoisCallerListenFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *cmdtest.Env)
		pw    map[string]string
		cfg   *config.Config
		code  int
	}{
		{name: "wrong SIP password", pw: map[string]string{"home/xmpp": cmdtest.AlicePassword, "home/sip": "wrong-sip-pw"}, code: cmdutil.ExitAuth},
		{name: "unreachable", setup: func(e *cmdtest.Env) {
			e.Service.FailConnect(cmdtest.AliceAOR, protocol.ErrUnreachable)
		}, code: cmdutil.ExitNetwork},
		{name: "telephony plugin fails", setup: func(e *cmdtest.Env) {
			e.Source.StartErr = map[string]error{"telephony/sip": fmt.Errorf("plugin sip exited: %w", pluginhost.ErrFailed)}
		}, code: cmdutil.ExitPlugin},
		{name: "telephony plugin missing", setup: func(e *cmdtest.Env) { delete(e.Source.Telephony, "sip") }, code: cmdutil.ExitPlugin},
		{name: "no incoming calls in the backend", setup: func(e *cmdtest.Env) {
			e.Source.Telephony["sip"] = e.Service.Telephony(protocol.CapRegister, protocol.CapDial)
		}, code: cmdutil.ExitFailure},
		{name: "account without SIP", cfg: &config.Config{Accounts: []config.Account{{Name: "chat", XMPP: &config.XMPPAspect{JID: cmdtest.AliceJID}}}},
			code: cmdutil.ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, pw := tc.cfg, tc.pw
			if cfg == nil {
				cfg = cmdtest.Standard()
			}
			if pw == nil {
				pw = cmdtest.StandardPasswords()
			}
			e := cmdtest.New(t, cfg, pw, nil)
			if tc.setup != nil {
				tc.setup(e)
			}
			r := e.Run(newCmd, "--listen")
			if r.Code != tc.code || r.Stdout != "" || strings.Contains(r.Err.Error(), "wrong-sip-pw") {
				t.Errorf("exit %d, want %d: %v", r.Code, tc.code, r.Err)
			}
		})
	}
}
