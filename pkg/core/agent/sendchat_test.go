package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
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

// A lease that joined a room is not carried over to the next session
// silently (the room is gone with the session, XEP-0045 §7.2): its stream
// ends with ErrNotConnected, so that its client joins again. A lease in no
// room carries on across the reconnect.
func TestLeaseInRoomEndsWithTheSession(t *testing.T) {
	f := start(t, privateDir(t))
	cc := dial(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	impp := cusaxv1.NewIMPPHost(cc)
	inRoom, err := impp.Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := impp.Connect(ctx, protocol.ConnectRequest{Address: jidAlice})
	if err != nil {
		t.Fatal(err)
	}
	roomMsgs, err := inRoom.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inRoom.JoinRoom(ctx, protocol.RoomJoin{Room: "ops@conference.example.test", Nick: "alice"}); err != nil {
		t.Fatal(err)
	}
	plainMsgs, err := plain.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.impp.drop()
	waitFor(t, "connected again", func() bool { return strings.Contains(f.log.String(), "chat: connected again after") })
	if _, err := roomMsgs.Recv(); !errors.Is(err, protocol.ErrNotConnected) {
		t.Fatalf("the room lease's stream: %v; want ErrNotConnected", err)
	}
	waitFor(t, "the plain lease's stream on the new session", func() bool {
		return f.svc.Deliver(protocol.Message{From: "bob@example.test/phone", To: jidAlice, Body: "after"}) > 0
	})
	if m, err := plainMsgs.Recv(); err != nil || m.Body != "after" {
		t.Fatalf("the plain lease's stream: %+v, %v; want the message after the reconnect", m, err)
	}
}
