package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/config"
)

// saslPlain matches a SASL PLAIN <auth/> (RFC 6120 §6.4.2, RFC 4616),
// which carries the password itself.
var saslPlain = regexp.MustCompile(`mechanism=['"]PLAIN['"]`)

// Issue 13 item 9: logging in without TLS is decided on each invocation
// and never silently. Against the test bed's Prosody host without TLS,
// through a recording proxy: login --allow-plaintext works and warns but
// saves nothing; a stored allow_plaintext (as an older cusax wrote it) is
// ignored with a warning, so a later chat without the flag fails with exit
// 8 and the server sees no authentication at all; with the flag on that
// chat it works, warns, and still prefers SCRAM to PLAIN.
func TestPlaintextIsPerInvocation(t *testing.T) {
	bed := testbed.Shared(t)
	home := t.TempDir()
	eve := bed.Users["eve"]
	jid := "eve@" + bed.NoTLSDomain
	p := testbed.NewProxy(t, bed.XMPPAddr, testbed.ProxyOptions{})
	cfgPath := filepath.Join(home, "cusax", "config.toml")

	r := runCLI(t, home, eve.Password+"\n", "login", "--name", "e", "--jid", jid, "--xmpp-server", p.Addr, "--password-stdin", "--allow-plaintext")
	if r.code != 0 {
		t.Fatalf("login --allow-plaintext: exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "cusax: warning: chat: logged in to "+p.Addr+" without TLS (--allow-plaintext)") {
		t.Errorf("login without TLS did not warn: %q", r.stderr)
	}
	if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), "allow_plaintext") {
		t.Errorf("login saved allow_plaintext:\n%s", b)
	}

	// What an older cusax saved after login --allow-plaintext.
	if err := config.Update(cfgPath, func(c *config.Config) error {
		c.Accounts[0].XMPP.AllowPlaintext = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	before := len(p.ClientBytes())
	r = runCLI(t, home, "", "chat", jid, "without the flag")
	if r.code != cmdutil.ExitTLS {
		t.Errorf("chat without --allow-plaintext: exit %d, want %d", r.code, cmdutil.ExitTLS)
	}
	if !strings.Contains(r.stderr, "cusax: warning: allow_plaintext in "+cfgPath+" (e.xmpp) is ignored") {
		t.Errorf("the stored setting was ignored silently: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, "cusax: hint: ") || !strings.Contains(r.stderr, "--allow-plaintext") {
		t.Errorf("no hint naming --allow-plaintext: %q", r.stderr)
	}
	sent := string(p.ClientBytes()[before:])
	if !strings.Contains(sent, "<starttls") {
		t.Errorf("chat did not even try STARTTLS: %q", sent)
	}
	if strings.Contains(sent, "<auth") || strings.Contains(sent, eve.Password) {
		t.Errorf("chat without the flag authenticated in the clear: %q", sent)
	}

	before = len(p.ClientBytes())
	r = runCLI(t, home, "", "--allow-plaintext", "chat", jid, "with the flag")
	if r.code != 0 {
		t.Fatalf("chat --allow-plaintext: exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "cusax: warning: chat: logged in to "+p.Addr+" without TLS (--allow-plaintext)") {
		t.Errorf("chat without TLS did not warn: %q", r.stderr)
	}
	sent = string(p.ClientBytes()[before:])
	if !strings.Contains(sent, "<auth") {
		t.Errorf("no authentication seen: %q", sent)
	}
	if saslPlain.MatchString(sent) || strings.Contains(sent, eve.Password) {
		t.Errorf("SASL PLAIN (the password itself) sent in the clear although SCRAM was offered: %q", sent)
	}
}
