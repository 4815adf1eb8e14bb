package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// leaseHolder is the test binary run as `__lease_holder AOR JID`: it takes
// a Telephony lease with an open IncomingCalls stream and an IMPP lease
// with an open Messages stream on the agent of $XDG_RUNTIME_DIR, says
// "ready" and waits to be killed.
func leaseHolder(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: __lease_holder AOR JID")
		return 2
	}
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cc, err := agentapi.Dial(cctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tl, err := cusaxv1.NewTelephonyHost(cc).Connect(cctx, protocol.ConnectRequest{Address: args[0]})
	if err == nil {
		_, err = tl.IncomingCalls(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	il, err := cusaxv1.NewIMPPHost(cc).Connect(cctx, protocol.ConnectRequest{Address: args[1]})
	if err == nil {
		_, err = il.Messages(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	select {}
}

// agentStatus asks the agent of h directly.
func agentStatus(t *testing.T, ctx context.Context) *agentapi.StatusResponse {
	t.Helper()
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	st, err := agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAgentLeaseKill9: a process holding leases with open streams (an
// IncomingCalls one: the agent leaves calls to it) is killed with
// kill -9, so it never closes them. The agent ends them when the
// connection closes: Status counts no lease, and the agent answers the
// next call 480 itself again.
func TestAgentLeaseKill9(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := bedAgentHome(t, ctx, bed, "agentleasek9")
	p := h.run(t)
	aor := "sip:agentleasek9@" + bed.Domain
	p.waitLog(t, "lab: telephony: registered "+aor, 30*time.Second)
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)
	t.Setenv("XDG_RUNTIME_DIR", h.rt)

	holder := exec.Command(os.Args[0], "__lease_holder", aor, bed.JID("agentleasek9"))
	holder.Env = h.env
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var holderErr lockedBuffer
	holder.Stderr = &holderErr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = holder.Wait(); close(exited) }()
	t.Cleanup(func() { _ = holder.Process.Kill(); <-exited })
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("lease holder failed: %s", holderErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lease holder not ready: %s", holderErr.String())
	}
	if n := agentStatus(t, ctx).GetOpenLeases(); n != 2 {
		t.Fatalf("open leases = %d, want 2", n)
	}
	if err := syscall.Kill(holder.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitFor(t, "the killed holder's leases ended", 15*time.Second, func() bool {
		return agentStatus(t, ctx).GetOpenLeases() == 0
	})
	if _, err := bed.SippInvite(ctx, testbed.SippInviteOptions{From: "bob", To: aor, ExpectStatus: 480}); err != nil {
		t.Fatalf("call after the holder was killed: %v\n%s", err, p.stderr.String())
	}
	p.waitLog(t, "lab: telephony: incoming call from sip:bob@"+bed.Domain+": nobody is answering (480)", 10*time.Second)
}

// TestAgentRosterLease: the built-in backends run in the agent's process
// (no plugin process below it); a lease's Roster is served from the
// agent's copy, and a contact the server admin adds (pushed to the agent's
// session, RFC 6121 §2.1.6) is in the roster a lease gets right after; one
// added without a push is there once the agent reconnected (Prosody
// restart).
func TestAgentRosterLease(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	h := bedAgentHome(t, ctx, bed, "agentroster")
	p := h.run(t)
	p.waitLog(t, "lab: chat: connected as", 30*time.Second)
	p.waitLog(t, "lab: telephony: registered", 30*time.Second)
	for _, pid := range descendants(p.cmd.Process.Pid) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if strings.Contains(string(b), "__plugin") {
			t.Errorf("a plugin process runs below the agent: %q", b)
		}
	}
	t.Setenv("XDG_RUNTIME_DIR", h.rt)
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	lease, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: bed.JID("agentroster")})
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close(ctx)
	has := func(jid string) bool {
		items, err := lease.Roster(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(items, func(i protocol.RosterItem) bool { return i.JID == jid })
	}
	friend := "newfriend@" + bed.Domain
	if has(friend) {
		t.Fatal("contact in the roster before it was added")
	}
	for i, who := range []string{friend, "otherfriend@" + bed.Domain} {
		if err := bed.AddRosterContact(ctx, "agentroster", who, "Friend "+strconv.Itoa(i), true); err != nil {
			t.Fatal(err)
		}
		waitFor(t, who+" in the lease's roster", 10*time.Second, func() bool { return has(who) })
	}
	// A change nobody was told of (as one made while the agent was
	// away) is in the roster fetched after the agent's reconnect.
	missed := "missedfriend@" + bed.Domain
	if err := bed.AddRosterContact(ctx, "agentroster", missed, "Missed", false); err != nil {
		t.Fatal(err)
	}
	if has(missed) {
		// Served from the copy: without a push it cannot be there yet,
		// else this test would not show the fetch after the reconnect.
		t.Fatal("a contact added without a push was served before the reconnect")
	}
	if err := bed.RestartProsody(); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "lab: chat: connected again after", 40*time.Second)
	waitFor(t, missed+" in the lease's roster after the reconnect", 10*time.Second, func() bool { return has(missed) })
}
