package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/internal/testbed"
)

// invite is a captured INVITE as tools save it: LF line ends, no final
// blank line.
func invite(from string, extra ...string) string {
	lines := []string{
		"INVITE sip:me@example.test SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
		"Max-Forwards: 70",
		"To: <sip:me@example.test>",
		"From: " + from + ";tag=1928301774",
		"Call-ID: a84b4c76e66710@pc33.example.test",
		"CSeq: 314159 INVITE",
		"Contact: <sip:caller@192.0.2.1>",
	}
	lines = append(lines, extra...)
	return strings.Join(append(lines, "Content-Length: 0"), "\n")
}

type verdictJSON struct {
	Verdict    string  `json:"verdict"`
	Caller     string  `json:"caller"`
	Hint       string  `json:"hint"`
	JID        string  `json:"jid"`
	Name       string  `json:"name"`
	MatchedTel string  `json:"matched_tel"`
	Source     string  `json:"source"`
	ElapsedMS  float64 `json:"elapsed_ms"`
}

// TestWhoisCallerMessages judges captured INVITEs against a real roster
// and vCards (RFC 7081 §3.5): the Call-Info hint counts only when the
// hinted contact's vCard lists the caller.
func TestWhoisCallerMessages(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "judge", "")
	dir := t.TempDir()
	for _, tc := range []struct {
		name, msg            string
		verdict, jid, source string
	}{
		{"hint confirmed", invite("<sip:bob@example.test>", "Call-Info: <xmpp:bob@example.test>;purpose=impp"), "verified", "bob@example.test", "call-info"},
		{"no hint, found by scan", invite(`"Bob" <sip:bob@example.test>`), "verified-by-scan", "bob@example.test", "roster-scan"},
		{"hint names someone else", invite("<sip:mallory@example.test>", "Call-Info: <xmpp:bob@example.test>;purpose=impp"), "mismatch", "bob@example.test", "call-info"},
		{"hint not in roster", invite("<sip:bob@example.test>", "Call-Info: <xmpp:stranger@example.test>;purpose=impp"), "not-in-roster", "", "call-info"},
		{"number-only caller matched through a TEL with spaces", invite("<sip:+15550100@example.test;user=phone>"), "verified-by-scan", "carol@example.test", "roster-scan"},
		{"tel: caller matched through a TEL with dashes", invite("<tel:+15550101>"), "verified-by-scan", "bob@example.test", "roster-scan"},
		{"suffix of a roster number is not a match", invite("<sip:+5550100@example.test;user=phone>"), "unknown", "", ""},
		{"several Call-Info values", invite("<sip:bob@example.test>", "Call-Info: <https://example.test/bob.png>;purpose=icon, <xmpp:bob@example.test>;purpose=impp"), "verified", "bob@example.test", "call-info"},
		{"anonymous", invite(`"Anonymous" <sip:anonymous@anonymous.invalid>`, "Privacy: id"), "anonymous", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".sip")
			if err := os.WriteFile(path, []byte(tc.msg), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, c.home, "", "whois-caller", "--message", path, "--json")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			jsoncheck.Validate(t, r.stdout)
			var v verdictJSON
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Fatalf("%v: %s", err, r.stdout)
			}
			if v.Verdict != tc.verdict || v.JID != tc.jid || v.Source != tc.source {
				t.Errorf("got %+v, want %s %s %s", v, tc.verdict, tc.jid, tc.source)
			}
			if tc.verdict == "mismatch" && !strings.Contains(r.stderr, "possible spoof") {
				t.Errorf("mismatch not flagged on stderr: %q", r.stderr)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		r := runCLI(t, c.home, invite("<sip:bob@example.test>", "Call-Info: <xmpp:bob@example.test>;purpose=impp"), "whois-caller")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "verified\t") {
			t.Errorf("exit %d: %q", r.code, r.stdout)
		}
	})
	t.Run("hostile input", func(t *testing.T) {
		for name, msg := range map[string]string{
			"binary junk": "\x00\x01\x02INVITE\xff\xfe",
			"huge header": invite("<sip:bob@example.test>", "X-Big: "+strings.Repeat("a", 100<<10)),
			"broken From": invite("<sip:@@@>"),
			"not SIP":     "GET / HTTP/1.1\nHost: example.test\n\n",
			"empty":       "",
			"a response":  "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 INVITE\n\n",
		} {
			r := runCLI(t, c.home, msg, "whois-caller")
			if r.code == 0 && !strings.Contains(r.stdout, "unknown") {
				t.Errorf("%s: exit 0 with %q", name, r.stdout)
			}
			if r.code != 0 && (r.code != cmdutil.ExitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1) {
				t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
			}
		}
	})
}

// TestWhoisCallerListen: real INVITEs sent through Kamailio by sipp reach
// `whois-caller --listen`, which judges each against the roster's vCards,
// answers 486 (--on-call busy) and, to verified callers only, sends a chat
// message (--chat, RFC 7081 §3.5 "revert to chatting"), which go-sendxmpp
// receives as bob.
func TestWhoisCallerListen(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "listener", "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A caller whose SIP user is a phone number, as a PSTN gateway's would be.
	if _, err := bed.AddUsers(ctx, bed.Domain, "+15550100"); err != nil {
		t.Fatal(err)
	}
	var chats lockedBuffer
	bob := sendxmpp(t, ctx, bed, "bob", "--listen")
	bob.Stdout, bob.Stderr = &chats, &chats
	if err := bob.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bob.Process.Kill(); _ = bob.Wait() }()
	const chatText = "in a meeting, chat?"
	cmd := exec.CommandContext(ctx, cusaxBinary(t), "--config", c.home+"/cusax/config.toml", "whois-caller", "--listen", "--json", "--on-call", "busy", "--chat", chatText)
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+c.home, "XDG_DATA_HOME="+c.home+"/data", "XDG_CACHE_HOME="+c.home+"/cache", "CUSAX_PLUGIN_PATH=")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	waitFor(t, "listening", 15*time.Second, func() bool { return strings.Contains(stderr.String(), "listening for calls") })

	me := "sip:listener@" + bed.Domain
	hint := func(jid string) string { return "Call-Info: <xmpp:" + jid + ">;purpose=impp" }
	cases := []struct {
		name    string
		opts    testbed.SippInviteOptions
		verdict string
		jid     string
	}{
		{"genuine with hint", testbed.SippInviteOptions{From: "bob", Headers: []string{hint("bob@" + bed.Domain)}}, "verified", "bob@" + bed.Domain},
		{"genuine without hint", testbed.SippInviteOptions{From: "bob"}, "verified-by-scan", "bob@" + bed.Domain},
		{"hint names someone else", testbed.SippInviteOptions{From: "alice", Headers: []string{hint("bob@" + bed.Domain)}}, "mismatch", "bob@" + bed.Domain},
		{"hint not in roster", testbed.SippInviteOptions{From: "alice", Headers: []string{hint("nobody@" + bed.Domain)}}, "not-in-roster", ""},
		{"number-only caller", testbed.SippInviteOptions{From: "+15550100", FromHeader: "<sip:+15550100@" + bed.Domain + ";user=phone>"}, "verified-by-scan", "carol@" + bed.Domain},
		{"anonymous", testbed.SippInviteOptions{From: "bob", FromHeader: `"Anonymous" <sip:anonymous@anonymous.invalid>`, Headers: []string{"Privacy: id"}}, "anonymous", ""},
	}
	for i, tc := range cases {
		tc.opts.To, tc.opts.ExpectStatus = me, 486
		res, err := bed.SippInvite(ctx, tc.opts)
		if err != nil {
			t.Fatalf("%s: sipp: %v\nstderr: %s", tc.name, err, stderr.String())
		}
		waitFor(t, tc.name+" judged", 10*time.Second, func() bool { return strings.Count(stdout.String(), "\n") > i })
		line := strings.Split(strings.TrimSpace(stdout.String()), "\n")[i]
		var v struct {
			verdictJSON
			CallID   string `json:"call_id"`
			Answered string `json:"answered_with"`
			Chatted  bool   `json:"chatted"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, line)
		}
		wantChat := strings.HasPrefix(tc.verdict, "verified")
		if v.Verdict != tc.verdict || v.JID != tc.jid || v.CallID != res.CallID || v.Answered != "486 Busy Here" || v.Chatted != wantChat {
			t.Errorf("%s: got %+v", tc.name, v)
		}
		t.Logf("%s: %s in %.1f ms", tc.name, v.Verdict, v.ElapsedMS)
	}
	if !strings.Contains(stderr.String(), "possible spoof") {
		t.Errorf("mismatch not flagged: %s", stderr.String())
	}
	// bob was verified twice (with and without a hint); the spoofed call
	// naming him must not have reached him.
	waitFor(t, "bob to get the chat messages", 10*time.Second, func() bool { return strings.Count(chats.String(), chatText) >= 2 })
	time.Sleep(300 * time.Millisecond)
	if n := strings.Count(chats.String(), chatText); n != 2 {
		t.Errorf("bob got %d chat messages, want 2:\n%s", n, chats.String())
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130 (interrupted); stderr %s", code, stderr.String())
	}
}

// TestWhoisCallerNationalNumbers: with a region, a contact's national
// number (030 1234567, DE) matches the caller's E.164 number, converted by
// the separate cusax-numbers program (libphonenumber metadata); without it
// installed the numbers are compared as written, with a warning and
// numbers_unresolved in --json (issue 13 item 6: a release build left it
// out and answered a silent "unknown").
func TestWhoisCallerNationalNumbers(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "national", "")
	dir := t.TempDir()
	msg := filepath.Join(dir, "invite.sip")
	if err := os.WriteFile(msg, []byte(invite("<sip:+49301234567@example.test;user=phone>")), 0o644); err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":/usr/bin:/bin")
	// Without it (as in a release archive that left it out) the verdict
	// is not a silent "unknown": stderr says why, once, and --json marks it.
	r := runCLI(t, c.home, "", "whois-caller", "--message", msg, "--region", "DE", "--json")
	const missing = "cusax: warning: national numbers are not resolved: cusax-numbers not found beside cusax or on PATH\n"
	if r.code != 0 || !strings.Contains(r.stdout, `"verdict": "unknown"`) || !strings.Contains(r.stdout, `"numbers_unresolved": true`) ||
		strings.Count(r.stderr, missing) != 1 {
		t.Errorf("without cusax-numbers: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	build := exec.Command(goBin, "build", "-o", filepath.Join(dir, "cusax-numbers"), "github.com/cusax/cusax/cmd/cusax-numbers")
	build.Env = os.Environ()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cusax-numbers: %v\n%s", err, out)
	}
	r = runCLI(t, c.home, "", "whois-caller", "--message", msg, "--region", "DE", "--json")
	var v verdictJSON
	_ = json.Unmarshal([]byte(r.stdout), &v)
	if r.code != 0 || v.Verdict != "verified-by-scan" || v.JID != "nationalberlin@"+bed.Domain ||
		strings.Contains(r.stdout, "numbers_unresolved") || r.stderr != "" {
		t.Errorf("with cusax-numbers: exit %d %+v %s %s", r.code, v, r.stdout, r.stderr)
	}
	r = runCLI(t, c.home, "", "whois-caller", "--message", msg, "--json")
	if !strings.Contains(r.stdout, `"verdict": "unknown"`) {
		t.Errorf("without a region: %s", r.stdout)
	}
}
