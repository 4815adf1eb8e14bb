package sip

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// dialAll places a call and collects its events up to the end of the
// stream.
func dialAll(t *testing.T, sess protocol.TelephonySession, ctx context.Context, req protocol.DialRequest) ([]protocol.CallEvent, error) {
	t.Helper()
	st, err := sess.Dial(ctx, req)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var evs []protocol.CallEvent
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func lastEvent(t *testing.T, evs []protocol.CallEvent) protocol.CallEvent {
	t.Helper()
	if len(evs) == 0 || !evs[len(evs)-1].Final {
		t.Fatalf("no final event in %+v", evs)
	}
	return evs[len(evs)-1]
}

// TestDialFinalResponses: the bed's Kamailio authenticates the INVITE
// (407, answered with the strongest digest) and then answers for callees
// that cannot take the call: 404 for an unknown user, 480 for a known one
// that is not registered, over each transport.
func TestDialFinalResponses(t *testing.T) {
	bed := testbed.Shared(t)
	// A user new to the bed: known to the registrar, never registered.
	idle := "idle" + randomToken(4)
	if _, err := bed.AddUsers(context.Background(), bed.Domain, idle); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []string{"udp", "tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, tr)))
			for _, c := range []struct {
				target string
				code   int
			}{
				{"sip:nobody@" + bed.Domain, 404},
				{"sip:" + idle + "@" + bed.Domain, 480},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: c.target})
				cancel()
				if err != nil {
					t.Fatalf("%s: %v", c.target, err)
				}
				if ev := lastEvent(t, evs); ev.StatusCode != c.code || ev.Answered {
					t.Errorf("%s: final %+v, want %d", c.target, ev, c.code)
				}
				if evs[0].CallID == "" || evs[0].StatusCode != 0 {
					t.Errorf("first event %+v should name the call", evs[0])
				}
			}
		})
	}
}

// TestDialRejectsInjection: CR, LF or NUL in anything the user gives is
// refused before a byte is sent.
func TestDialRejectsInjection(t *testing.T) {
	b := New(nil)
	sess, err := b.Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@example.test", Password: "x", Server: "sip:127.0.0.1:9;transport=udp", Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(context.Background())
	for _, req := range []protocol.DialRequest{
		{Target: "sip:bob@example.test\r\nX-Evil: 1"},
		{Target: "sip:bob@example.test", DisplayName: "Bob\nX: y"},
		{Target: "sip:bob@example.test", Headers: []protocol.Header{{Name: "Call-Info", Value: "<xmpp:a@b>\r\nVia: x"}}},
		{Target: "sip:bob@example.test", Headers: []protocol.Header{{Name: "X-A\r\nVia", Value: "1"}}},
		{Target: "sip:bob@example.test", Headers: []protocol.Header{{Name: "Via", Value: "SIP/2.0/UDP evil"}}},
		{Target: "sip:bob@example.test", Media: protocol.MediaOptions{DTMF: "12\x00"}},
		{Target: "sip:bob@example.test", Media: protocol.MediaOptions{DTMF: "1x"}},
		{Target: "sip:bob@example.test?Subject=x"},
		{Target: "tel:+1555\r\n"},
		{Target: "http://example.test"},
	} {
		if _, err := sess.Dial(context.Background(), req); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%+v: err %v, want ErrInvalid", req, err)
		}
	}
}

// TestDialRingTimeoutCancels: an unanswered call is CANCELled when the
// ring timeout passes (RFC 3261 §9.1); the callee sees the CANCEL and
// answers 487, which is the final event.
func TestDialRingTimeoutCancels(t *testing.T) {
	bed := testbed.Shared(t)
	callee := "ring" + randomToken(4)
	if _, err := bed.AddUsers(context.Background(), bed.Domain, callee); err != nil {
		t.Fatal(err)
	}
	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 0})
	sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, "udp")))
	evs, err := dialAll(t, sess, context.Background(), protocol.DialRequest{Target: uas.URI, Media: protocol.MediaOptions{RingTimeout: time.Second}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if ev := lastEvent(t, evs); ev.StatusCode != 487 || ev.Answered || ev.Note == "" {
		t.Errorf("final %+v", ev)
	}
	if _, err := uas.Wait(10 * time.Second); err != nil {
		t.Errorf("callee: %v", err)
	}
}

// TestDialAnsweredOverStreams: an answered call over TCP and TLS: the
// ACK and BYE follow the record-routed dialog over the same connection,
// RTP flows (the sipp callee echoes it back and counts it).
func TestDialAnsweredOverStreams(t *testing.T) {
	bed := testbed.Shared(t)
	for _, tr := range []string{"tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			callee := "stream" + tr + randomToken(3)
			if _, err := bed.AddUsers(context.Background(), bed.Domain, callee); err != nil {
				t.Fatal(err)
			}
			uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, Media: "echo",
				Headers: []testbed.HeaderCheck{{Name: "Call-Info", Exact: "<xmpp:alice@example.test>;purpose=impp"}}})
			sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, tr)))
			evs, err := dialAll(t, sess, context.Background(), protocol.DialRequest{
				Target:  uas.URI,
				Headers: []protocol.Header{{Name: "Call-Info", Value: "<xmpp:alice@example.test>;purpose=impp"}},
				// sipp answers plain RTP: over TLS the default would be
				// SRTP or no call (srtp_sipp_test.go).
				Media: protocol.MediaOptions{Duration: 500 * time.Millisecond, Encryption: protocol.MediaEncryptionNone},
			})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			res, err := uas.Wait(10 * time.Second)
			if err != nil {
				t.Fatalf("callee: %v", err)
			}
			ev := lastEvent(t, evs)
			if !ev.Answered || ev.StatusCode != 200 || ev.Codec != "PCMA" || ev.RTPSent < 10 || ev.RTPRecv == 0 || res.RTPReceived == 0 {
				t.Errorf("final %+v; callee counted %d", ev, res.RTPReceived)
			}
		})
	}
}
