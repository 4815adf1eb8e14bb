package cli

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// On a terminal, `cusax login` asks for what is missing — the addresses
// and the password (not echoed) — and saves a working account.
func TestLoginPromptsOnTTY(t *testing.T) {
	bed := testbed.Shared(t)
	bin := cusaxBinary(t)
	home := t.TempDir()
	carol, _ := bed.User("carol")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	line := bin + " login --name tty --xmpp-server " + bed.XMPPAddr + " --sip-proxy 'sip:" + bed.SIPTLSAddr + ";transport=tls' --ca-file " + bed.CAFile
	cmd, tty, typeText := onTerminal(t, ctx, line, "CUSAX_CONFIG="+home+"/config.toml", "CUSAX_SECRETS=file")
	answer := func(prompt, text string) {
		t.Helper()
		waitFor(t, "prompt "+prompt, 20*time.Second, func() bool { return strings.Contains(tty.String(), prompt) })
		typeText(text + "\r")
	}
	answer("XMPP address", "carol@"+bed.Domain)
	answer("SIP address", "sip:carol@"+bed.Domain)
	answer("Password for tty", carol.Password)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login on a terminal: %v\n%s", err, tty.String())
	}
	shown := tty.String()
	if strings.Contains(shown, carol.Password) {
		t.Error("the password was echoed")
	}
	if !strings.Contains(shown, "Telephony  registered") || !strings.Contains(shown, "Chat       connected") {
		t.Errorf("terminal output:\n%s", shown)
	}
	if _, err := os.Stat(home + "/config.toml"); err != nil {
		t.Errorf("account not saved: %v", err)
	}
}
