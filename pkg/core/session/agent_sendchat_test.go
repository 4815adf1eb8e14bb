package session_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
)

// SendChat: a one-liner's message in one round trip to the real agent —
// the roster name resolved by the agent, sent on its live session, no
// plugin started; an agent that predates SendChat (the stub serves only
// Status and leases) and no agent at all leave it to the usual path,
// without a note and without sending anything.
func TestAgentSendChat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc := service()
	dir, sock := runAgent(t, svc)
	plugins := sessiontest.New(svc)
	ig := &ignored{}
	r, ok, err := agentSource(dir, sock, plugins, ig).SendChat(ctx, aliceJID, "Bob", "hi")
	if !ok || err != nil || r.To != bobJID || r.NotInRoster || r.ContactError != "" {
		t.Fatalf("SendChat = %+v, %v, %v", r, ok, err)
	}
	if sent := svc.Sent(); len(sent) != 1 || sent[0].To != bobJID || sent[0].Body != "hi" {
		t.Fatalf("sent %+v", sent)
	}
	if got := plugins.Started(); len(got) != 0 {
		t.Errorf("plugins started %v; want none", got)
	}

	old := service()
	odir, osock := runStubAgent(t, old)
	if _, ok, err := agentSource(odir, osock, plugins, ig).SendChat(ctx, aliceJID, "Bob", "hi"); ok || err != nil {
		t.Errorf("an agent without SendChat: ok %v, %v; want the usual path", ok, err)
	}
	none := filepath.Join(t.TempDir(), "agent")
	if _, ok, err := agentSource(none, filepath.Join(none, agentapi.SocketName), plugins, ig).SendChat(ctx, aliceJID, "Bob", "hi"); ok || err != nil {
		t.Errorf("no agent: ok %v, %v; want the usual path", ok, err)
	}
	if n := len(old.Sent()); n != 0 {
		t.Errorf("the old agent's service carried %d messages", n)
	}
	if errs := ig.all(); len(errs) != 0 {
		t.Errorf("notes %v; want none", errs)
	}
}
