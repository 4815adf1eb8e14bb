package agent

import (
	"context"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// A client connection that closes without closing its leases (its process
// was killed) loses them: Status counts none, the agent answers calls
// again and its priority is negative again. The real kill -9 is in
// cmd/cusax/internal/cli TestAgentLeaseKill9.
func TestLeasesEndWithConnection(t *testing.T) {
	f := start(t, privateDir(t))
	ctl := agentapi.NewAgentClient(dial(t, f))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc := dial(t, f)
	tl, err := cusaxv1.NewTelephonyHost(cc).Connect(ctx, protocol.ConnectRequest{Address: aorAlice})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tl.IncomingCalls(ctx); err != nil {
		t.Fatal(err)
	}
	il, err := cusaxv1.NewIMPPHost(cc).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := il.Messages(ctx); err != nil {
		t.Fatal(err)
	}
	open := func() int32 {
		st, err := ctl.Status(ctx, &agentapi.StatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return st.GetOpenLeases()
	}
	if n := open(); n != 2 {
		t.Fatalf("open leases = %d, want 2", n)
	}
	tel, chat := f.a.accounts[0].tel, f.a.accounts[0].chat
	waitFor(t, "the streams counted", func() bool {
		chat.mu.Lock()
		defer chat.mu.Unlock()
		return tel.listening() && chat.listeners == 1
	})
	cc.Close() // no lease Close: as a killed client
	waitFor(t, "the leases ended", func() bool {
		chat.mu.Lock()
		defer chat.mu.Unlock()
		return open() == 0 && !tel.listening() && chat.listeners == 0
	})
	// A lease closed by its client is counted out once, not twice.
	cc2 := dial(t, f)
	l2, err := cusaxv1.NewIMPPHost(cc2).Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 1 {
		t.Fatalf("open leases = %d, want 1", n)
	}
	if err := l2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 0 {
		t.Fatalf("open leases after Close = %d, want 0", n)
	}
}
