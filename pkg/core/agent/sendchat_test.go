package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
)

// SendChat does in one call what `chat CONTACT MESSAGE` does over a
// lease: the contact resolved as chat resolves it, the message sent on the
// live session, the lease closed; an account the agent does not keep is a
// fallback (the client logs in itself), an unknown name a contact error
// with nothing sent.
func TestSendChat(t *testing.T) {
	f := start(t, privateDir(t))
	ac := agentapi.NewAgentClient(dial(t, f))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r, err := ac.SendChat(ctx, &agentapi.SendChatRequest{Address: jidAlice, Contact: "bob@example.test", Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if r.To != "bob@example.test" || !r.NotInRoster || r.Fallback != "" || r.Error != "" || r.ContactError != "" {
		t.Fatalf("SendChat = %+v", r)
	}
	if sent := f.svc.Sent(); len(sent) != 1 || sent[0].Body != "hi" || sent[0].To != "bob@example.test" || sent[0].Type != "chat" || !sent[0].Delay.IsZero() {
		t.Fatalf("sent = %+v", sent)
	}

	r, err = ac.SendChat(ctx, &agentapi.SendChatRequest{Address: jidAlice, Contact: "nosuchname", Body: "hi"})
	if err != nil || !strings.Contains(r.ContactError, "nosuchname") || r.To != "" {
		t.Fatalf("unknown name: %+v, %v; want a contact error", r, err)
	}
	r, err = ac.SendChat(ctx, &agentapi.SendChatRequest{Address: "mallory@example.test", Contact: "bob@example.test", Body: "hi"})
	if err != nil || r.Fallback == "" {
		t.Fatalf("another account: %+v, %v; want a fallback", r, err)
	}
	if n := len(f.svc.Sent()); n != 1 {
		t.Fatalf("%d messages sent; want only the first", n)
	}
	waitFor(t, "no lease left open", func() bool { return f.a.conns.open.Load() == 0 })
}
