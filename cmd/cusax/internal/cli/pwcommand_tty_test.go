package cli

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/internal/testbed"
)

// A password_command runs in its own process group (so that a timeout
// kills all it started), yet on a terminal it may still prompt on /dev/tty
// as bw or op do: its group gets the terminal while it runs, and cusax gets
// it back after — else the interactive chat that follows could not read
// the typed line.
func TestPasswordCommandPromptsOnTTY(t *testing.T) {
	bed := testbed.Shared(t)
	sender := seededUser(t, bed, "pwcmdsender")
	receiver := seededUser(t, bed, "pwcmdreceiver")
	u, _ := bed.User("pwcmdsender")
	cfgPath := sender + "/cusax/config.toml"
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	prompt := `password_command = 'printf "pw for cusax: " > /dev/tty; read -r pw < /dev/tty; echo "$pw"'`
	cfg := strings.Replace(string(b), "[account.xmpp]\n", "[account.xmpp]\n"+prompt+"\n", 1)
	if cfg == string(b) {
		t.Fatalf("no [account.xmpp] in\n%s", b)
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// No stored secret: the command is the only way to the password.
	_ = os.RemoveAll(sender + "/cusax/secrets.toml")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	streams, _, out, errOut := iostreams.Test()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, streams, []string{"--config", receiver + "/cusax/config.toml", "chat", "--listen", "--count", "1", "--listen-for", "40s"})
	}()
	cmd, tty, typeText := onTerminal(t, ctx, cusaxBinary(t)+" --config "+cfgPath+" chat pwcmdreceiver@"+bed.Domain,
		"CUSAX_SECRETS=file", "XDG_CACHE_HOME="+sender+"/cache", "XDG_DATA_HOME="+sender+"/data")
	waitFor(t, "the password command's prompt", 20*time.Second, func() bool { return strings.Contains(tty.String(), "pw for cusax: ") })
	typeText(u.Password + "\r")
	waitFor(t, "the interactive prompt", 20*time.Second, func() bool { return strings.Contains(tty.String(), "type a line") })
	time.Sleep(500 * time.Millisecond) // the listener's presence
	typeText("typed after the prompt\r")
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("listener: exit %d %s", code, errOut.String())
		}
	case <-ctx.Done():
		t.Fatalf("listener got no message; terminal showed %q", tty.String())
	}
	typeText("\x04")
	if err := cmd.Wait(); err != nil {
		t.Errorf("interactive cusax: %v; terminal showed %q", err, tty.String())
	}
	if !strings.Contains(out.String(), "typed after the prompt") {
		t.Errorf("received %q", out.String())
	}
}
