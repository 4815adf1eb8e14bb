package cli

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// A long-running sender survives a dropped connection (issue 13: long-running
// modes notice a drop, recover and say so; nothing is lost silently):
// `cusax chat JID --lines` is connected to Prosody through a relay; the
// relay cuts the connection and refuses new ones for a while (a server
// restart as a client sees it); the next line is sent once the relay lets
// connections through again. Every line reaches the listener once, in
// order, and the sender says on stderr that it logged in again.
// (Before: exit 7 at the line after the cut, and the rest never sent.)
func TestChatLinesSurvivesDrop(t *testing.T) {
	bed := testbed.Shared(t)
	relay := newTCPCutter(t, bed.XMPPAddr)
	recv, jid := deliveryUser(t, bed, "rcvrecv", "")
	sender, _ := deliveryUser(t, bed, "rcvsend", relay.addr())

	listener := startCusax(t, recv, false, "chat", "--listen", "--json", "--count", "3", "--listen-for", "60s")
	waitPresence(t, bed, jid)
	s := startSender(t, sender, jid, "--lines")

	s.line(t, "l1")
	waitLines(t, listener, 1)
	relay.pause()
	relay.cut()
	s.line(t, "l2") // its Send finds the session gone: logging in again, refused while paused
	time.Sleep(1500 * time.Millisecond)
	relay.resume()
	s.line(t, "l3")
	s.close()
	if code := s.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("sender: exit %d, want 0\n%s", code, s.stderr.String())
	}
	if code := listener.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("listener: exit %d", code)
	}
	if got := listener.bodies(t); strings.Join(got, ",") != "l1,l2,l3" {
		t.Errorf("listener got %q, want l1,l2,l3", got)
	}
	stderr := s.stderr.String()
	for _, want := range []string{"cusax: chat: connection of ", "lost", "logged in again after"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("sender stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// When the connection does not come back within --give-up-after, the
// sender exits 7 and names the line that was not sent.
func TestChatLinesGivesUp(t *testing.T) {
	bed := testbed.Shared(t)
	relay := newTCPCutter(t, bed.XMPPAddr)
	_, jid := deliveryUser(t, bed, "gurecv", "")
	sender, _ := deliveryUser(t, bed, "gusend", relay.addr())

	s := startSender(t, sender, jid, "--lines", "--give-up-after", "2s")
	s.line(t, "g1")
	time.Sleep(500 * time.Millisecond)
	relay.pause()
	relay.cut()
	s.line(t, "g2")
	start := time.Now()
	code := s.wait(t, 30*time.Second)
	stderr := s.stderr.String()
	if code != 7 {
		t.Fatalf("exit %d, want 7 (network)\n%s", code, stderr)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("gave up after %s with --give-up-after 2s", el)
	}
	if !strings.Contains(stderr, "line 2 was not sent (1 message before it was sent)") || !strings.Contains(stderr, "giving up (--give-up-after 2s)") {
		t.Errorf("stderr does not name the line and the bound:\n%s", stderr)
	}
}

// waitPresence waits until jid has an available session (the listener
// announced itself), so that messages go to it and not to offline storage.
func waitPresence(t *testing.T, bed *testbed.Bed, jid string) {
	t.Helper()
	user, domain, _ := strings.Cut(jid, "@")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if n, err := bed.XMPPSessions(ctx, user, domain); err == nil && n > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never came online", jid)
}

// senderProc is the real cusax binary with a stdin the test writes to.
type senderProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr lockedBuffer
	done   chan struct{}
	code   int
}

func startSender(t *testing.T, home, jid string, args ...string) *senderProc {
	t.Helper()
	p := &senderProc{done: make(chan struct{})}
	p.cmd = exec.Command(cusaxBinary(t), append([]string{"--config", home + "/cusax/config.toml", "chat", jid}, args...)...)
	p.cmd.Env = cusaxEnv(home)
	p.cmd.Stderr = &p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("sender stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

func (p *senderProc) line(t *testing.T, s string) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("the sender exited %d before %q was written:\n%s", p.code, s, p.stderr.String())
	default:
	}
	if _, err := io.WriteString(p.in, s+"\n"); err != nil {
		t.Fatalf("write %q to the sender: %v", s, err)
	}
}

func (p *senderProc) close() { _ = p.in.Close() }

func (p *senderProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("sender still running after %s\n%s", d, p.stderr.String())
		return -1
	}
}
