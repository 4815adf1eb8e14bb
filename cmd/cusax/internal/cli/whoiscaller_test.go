package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
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
