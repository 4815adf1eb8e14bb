package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/internal/testbed"
)

// On a terminal with no message, cusax chat is an interactive line mode:
// each line typed is sent. The real binary runs under script(1), which
// gives it a pseudo-terminal; a cusax listener counts what arrives.
func TestChatInteractiveTTY(t *testing.T) {
	bed := testbed.Shared(t)
	sender := seededUser(t, bed, "ttysender")
	receiver := seededUser(t, bed, "ttyreceiver")
	bin := cusaxBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	streams, _, out, errOut := iostreams.Test()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, streams, []string{"--config", receiver + "/cusax/config.toml", "chat", "--listen", "--json", "--count", "2", "--listen-for", "30s"})
	}()
	time.Sleep(1500 * time.Millisecond)

	cmd, tty, typeText := onTerminal(t, ctx, bin+" --config "+sender+"/cusax/config.toml chat ttyreceiver@"+bed.Domain,
		"CUSAX_SECRETS=file", "XDG_CACHE_HOME="+sender+"/cache", "XDG_DATA_HOME="+sender+"/data")
	waitFor(t, "the interactive prompt", 20*time.Second, func() bool { return strings.Contains(tty.String(), "type a line") })
	typeText("typed one\r")
	typeText("typed two\r")
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("listener: exit %d %s", code, errOut.String())
		}
	case <-ctx.Done():
		t.Fatalf("listener got no messages; terminal showed %q", tty.String())
	}
	typeText("\x04") // Ctrl-D ends the session
	if err := cmd.Wait(); err != nil {
		t.Errorf("interactive cusax: %v; terminal showed %q", err, tty.String())
	}
	var bodies []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct{ Body string }
		_ = json.Unmarshal([]byte(line), &m)
		bodies = append(bodies, m.Body)
	}
	if strings.Join(bodies, ",") != "typed one,typed two" {
		t.Errorf("received %v", bodies)
	}
}
