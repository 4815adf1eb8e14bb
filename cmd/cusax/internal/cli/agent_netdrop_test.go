package cli

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/xmpp"
	"github.com/hashicorp/go-hclog"
)

// TestAgentSurvivesSilentNetworkDrop: the network under the agent's XMPP
// connection goes silent both ways without a FIN or RST (a link that died,
// a NAT that forgot the flow: netCut.blackhole). The agent notices by its
// liveness probe, says so on stderr, logs in again on a new connection and
// says that too; a `cusax chat` one-liner started while the connection was
// dead waits for the new session and its message arrives once, stamped
// with the time it was handed over (XEP-0203), not lost in the dead
// connection.
func TestAgentSurvivesSilentNetworkDrop(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, "agentdropper", "agentdropreader")
	if err != nil {
		t.Fatal(err)
	}
	to := "agentdropreader@" + bed.Domain
	link := newNetCut(t, bed.XMPPAddr)
	h := newAgentHome(t, bed, "agentdropper", users["agentdropper"].Password, "--xmpp-server", link.addr())
	p := h.run(t, "--probe-every", "1s")
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)

	link.blackhole()
	handed := time.Now()
	done := make(chan cliResult, 1)
	go func() { done <- h.cusax(t, "chat", to, "sent into a dead link") }()
	p.waitLog(t, "lab: chat: connection lost", 15*time.Second)
	p.waitLog(t, "lab: chat: connected again after", 20*time.Second)
	r := <-done
	if r.code != 0 {
		t.Fatalf("chat during the drop: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("the one-liner returned %.1f s after it started", time.Since(handed).Seconds())

	got := offlineMessages(t, ctx, bed, to, users["agentdropreader"].Password, func(m protocol.Message) bool {
		return strings.Contains(m.Body, "dead link")
	})
	if len(got) != 1 {
		t.Fatalf("received %d copies, want exactly 1: %+v", len(got), got)
	}
	if d := got[0].Delay.Sub(handed).Abs(); got[0].Delay.IsZero() || d > 2*time.Second {
		t.Errorf("delay stamp %v, want about the hand-over time %v (XEP-0203)", got[0].Delay, handed)
	}
}

// offlineMessages logs in as jid with a fresh XMPP session (the built-in
// backend, in process), announces presence so that the server hands over
// what it stored (RFC 6121 §4.2, §8.5.2.1.1) and returns the messages
// that match, gathered for 5 s.
func offlineMessages(t *testing.T, ctx context.Context, bed *testbed.Bed, jid, password string, match func(protocol.Message) bool) []protocol.Message {
	t.Helper()
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := xmpp.New(hclog.NewNullLogger()).Connect(ctx, protocol.ConnectRequest{
		Address: jid, Password: password, Server: bed.XMPPAddr, CAPEM: ca, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(context.Background())
	msgs, err := reader.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	recv := make(chan protocol.Message, 8)
	go func() {
		for {
			m, err := msgs.Recv()
			if err != nil {
				return
			}
			recv <- m
		}
	}()
	var got []protocol.Message
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-recv:
			if match(m) {
				got = append(got, m)
			}
		case <-deadline:
			return got
		}
	}
}
