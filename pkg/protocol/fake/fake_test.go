package fake_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

func service() *fake.Service {
	return fake.NewService(
		fake.Account{Address: "alice@example.com", Password: "pa", VCard: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Alice\r\nEND:VCARD\r\n",
			Roster: []protocol.RosterItem{{JID: "bob@example.com", Name: "Bob", Subscription: "both"}}},
		fake.Account{Address: "bob@example.com", Password: "pb",
			VCard:  "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob Fake\r\nEND:VCARD\r\n",
			Reach:  []protocol.ReachAddress{{URI: "sip:bob@example.com"}},
			Roster: []protocol.RosterItem{{JID: "alice@example.com", Subscription: "both"}}},
		fake.Account{Address: "sip:alice@example.com", Password: "sa"},
		fake.Account{Address: "sip:bob@example.com", Password: "sb"},
	)
}

// The fakes keep the contract a real backend keeps (the conformance
// suite), so that command tests built on them learn nothing false.
func TestConformance(t *testing.T) {
	s := service()
	t.Run("impp", func(t *testing.T) {
		protocoltest.RunIMPP(t, s.IMPP(), protocoltest.Env{
			Good:          protocol.ConnectRequest{Address: "alice@example.com", Password: "pa"},
			WrongPassword: "nope", BadAddress: "@example.com",
			Peer:       protocol.ConnectRequest{Address: "bob@example.com", Password: "pb"},
			RosterJIDs: []string{"bob@example.com"}, VCardJID: "bob@example.com", VCardText: "Bob Fake",
			MUCService: "conference.example.com", ReachJID: "bob@example.com", ReachURI: "sip:bob@example.com",
		})
	})
	t.Run("impp-login-only", func(t *testing.T) {
		protocoltest.RunIMPP(t, s.IMPP(protocol.CapLogin), protocoltest.Env{
			Good:          protocol.ConnectRequest{Address: "alice@example.com", Password: "pa"},
			WrongPassword: "nope", BadAddress: "@example.com",
		})
	})
	t.Run("telephony", func(t *testing.T) {
		protocoltest.RunTelephony(t, s.Telephony(), fake.TelephonyEnv(s,
			protocol.ConnectRequest{Address: "sip:alice@example.com", Password: "sa"},
			protocol.ConnectRequest{Address: "sip:bob@example.com", Password: "sb"}))
	})
	t.Run("telephony-register-only", func(t *testing.T) {
		protocoltest.RunTelephony(t, s.Telephony(protocol.CapRegister), protocoltest.Env{
			Good:          protocol.ConnectRequest{Address: "sip:alice@example.com", Password: "sa"},
			WrongPassword: "nope", BadAddress: "mailto:alice@example.com",
		})
	})
	t.Run("policy", func(t *testing.T) { protocoltest.RunPolicy(t, &fake.Policy{}) })
	if n := s.Open(); n != 0 {
		t.Errorf("%d sessions left open after the suite", n)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestMessageRoundTrip(t *testing.T) {
	s := service()
	b := s.IMPP()
	alice, err := b.Connect(ctx(t), protocol.ConnectRequest{Address: "alice@example.com", Password: "pa"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := b.Connect(ctx(t), protocol.ConnectRequest{Address: "Bob@Example.com", Password: "pb"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := bob.Messages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Send(ctx(t), protocol.Message{To: "bob@example.com", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	m, err := in.Recv()
	if err != nil || m.Body != "hi" || m.From != "alice@example.com/fake" || m.Type != "chat" {
		t.Fatalf("bob got %+v, %v", m, err)
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].To != "bob@example.com" {
		t.Errorf("Sent = %+v", sent)
	}
	// Injection is refused, as a real backend refuses it.
	if err := alice.Send(ctx(t), protocol.Message{To: "bob@example.com\r\n<x/>", Body: "x"}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("CR/LF in To: %v", err)
	}
	bob.Close(ctx(t))
	if _, err := in.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after Close: %v, want io.EOF", err)
	}
	if n := s.Deliver(protocol.Message{To: "bob@example.com", Body: "late"}); n != 0 {
		t.Errorf("a closed session received %d messages", n)
	}
	alice.Close(ctx(t))
}

func TestDialScript(t *testing.T) {
	s := service()
	s.OnDial("sip:bob@example.com",
		protocol.CallEvent{StatusCode: 180, Reason: "Ringing"},
		protocol.CallEvent{StatusCode: 200, Reason: "OK", Answered: true, RTPSent: 50, RTPRecv: 50})
	sess, err := s.Telephony().Connect(ctx(t), protocol.ConnectRequest{Address: "sip:alice@example.com", Password: "sa"})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx(t))
	if _, err := sess.Register(ctx(t), protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	st, err := sess.Dial(ctx(t), protocol.DialRequest{Target: "sip:bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for {
		ev, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, ev.StatusCode)
		if ev.Answered && !ev.Final {
			if err := sess.Hangup(ctx(t), ev.CallID); err != nil {
				t.Fatal(err)
			}
		}
		if ev.Final {
			break
		}
	}
	if len(codes) != 3 || codes[2] != 200 {
		t.Errorf("events %v, want 180 200 and a final 200", codes)
	}
	// Unscripted targets are not found.
	st, _ = sess.Dial(ctx(t), protocol.DialRequest{Target: "sip:nobody@example.com"})
	if ev, _ := st.Recv(); ev.StatusCode != 404 || !ev.Final {
		t.Errorf("unscripted dial: %+v", ev)
	}
}

func TestIncomingCall(t *testing.T) {
	s := service()
	sess, _ := s.Telephony().Connect(ctx(t), protocol.ConnectRequest{Address: "sip:alice@example.com", Password: "sa"})
	defer sess.Close(ctx(t))
	if _, err := sess.Register(ctx(t), protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	calls, err := sess.IncomingCalls(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	id, n := s.Ring("sip:alice@example.com", protocol.IncomingCall{Raw: []byte("INVITE sip:alice@example.com SIP/2.0\r\n\r\n")})
	if n != 1 {
		t.Fatalf("rang %d sessions", n)
	}
	in, err := calls.Recv()
	if err != nil || in.CallID != id {
		t.Fatalf("got %+v, %v", in, err)
	}
	if err := sess.Respond(ctx(t), id, 486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if r := s.Responses(); len(r) != 1 || r[0].Status != 486 {
		t.Errorf("responses %+v", r)
	}
}

func TestWrongPasswordAndUnknownAccountLookAlike(t *testing.T) {
	s := service()
	_, e1 := s.IMPP().Connect(ctx(t), protocol.ConnectRequest{Address: "alice@example.com", Password: "x"})
	_, e2 := s.IMPP().Connect(ctx(t), protocol.ConnectRequest{Address: "zed@example.com", Password: "x"})
	if !errors.Is(e1, protocol.ErrAuth) || !errors.Is(e2, protocol.ErrAuth) {
		t.Errorf("wrong password %v, unknown account %v: want ErrAuth for both", e1, e2)
	}
	s.FailConnect("alice@example.com", protocol.ErrUnreachable)
	if _, err := s.IMPP().Connect(ctx(t), protocol.ConnectRequest{Address: "alice@example.com", Password: "pa"}); !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("FailConnect: %v", err)
	}
}

// callerWithMedia is the fake's Env.CallGoodWithMedia: a caller of aor
// scripted through the Service (CallerSends, CallerHangsUp, CallerEnd).
