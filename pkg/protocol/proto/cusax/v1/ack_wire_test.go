package cusaxv1

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// ackIMPP hands out sessions with acknowledged message streams.
type ackIMPP struct {
	fakeIMPP
	sess *ackSession
}

func (f *ackIMPP) Connect(context.Context, protocol.ConnectRequest) (protocol.IMPPSession, error) {
	return f.sess, nil
}

type ackSession struct {
	fakeSession
	mu    sync.Mutex
	acked []uint64
}

func (s *ackSession) AckedMessages(context.Context) (protocol.Stream[protocol.Message], error) {
	return &sliceStream{msgs: []protocol.Message{
		{From: "a@b/c", Type: "chat", Body: "late", Time: time.Unix(100, 0).UTC(), Delay: time.Unix(40, 0).UTC(), Seq: 7, StableID: "sid-1"},
	}}, nil
}

func (s *ackSession) AckMessage(_ context.Context, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, seq)
	return nil
}

// Seq, the delay stamp and the XEP-0359 id cross the wire, and the host's acknowledgement
// reaches the plugin's session.
func TestAckedMessagesCrossTheWire(t *testing.T) {
	impl := &ackIMPP{sess: &ackSession{}}
	host := dispenseIMPP(t, impl)
	ctx := context.Background()
	sess, err := host.Connect(ctx, protocol.ConnectRequest{Address: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	am, ok := sess.(protocol.AckedMessages)
	if !ok {
		t.Fatal("the host session does not offer AckedMessages")
	}
	st, err := am.AckedMessages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != 7 || !m.Delay.Equal(time.Unix(40, 0)) || !m.Time.Equal(time.Unix(100, 0)) || m.Body != "late" || m.StableID != "sid-1" {
		t.Errorf("message changed on the wire: %+v", m)
	}
	if err := am.AckMessage(ctx, m.Seq); err != nil {
		t.Fatal(err)
	}
	impl.sess.mu.Lock()
	defer impl.sess.mu.Unlock()
	if len(impl.sess.acked) != 1 || impl.sess.acked[0] != 7 {
		t.Errorf("plugin saw acknowledgements %v, want [7]", impl.sess.acked)
	}
}

// A backend without acknowledgement (or an older plugin) answers
// ErrUnsupported at the call: the host then uses Messages.
func TestAckedMessagesUnsupported(t *testing.T) {
	host := dispenseIMPP(t, &fakeIMPP{})
	sess, err := host.Connect(context.Background(), protocol.ConnectRequest{Address: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.(protocol.AckedMessages).AckedMessages(context.Background()); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("AckedMessages: %v, want ErrUnsupported", err)
	}
	if err := sess.(protocol.AckedMessages).AckMessage(context.Background(), 1); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("AckMessage: %v, want ErrUnsupported", err)
	}
}

// joinIMPP records the RoomJoin its session was asked for.
type joinIMPP struct {
	fakeIMPP
	got chan protocol.RoomJoin
}

func (f *joinIMPP) Connect(context.Context, protocol.ConnectRequest) (protocol.IMPPSession, error) {
	return &joinSession{got: f.got}, nil
}

type joinSession struct {
	fakeSession
	got chan protocol.RoomJoin
}

func (s *joinSession) JoinRoom(_ context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	s.got <- j
	return protocol.Room{JID: j.Room + "/" + j.Nick}, nil
}

// HistorySince (XEP-0045 'since') crosses the wire; zero stays zero.
func TestJoinRoomHistorySinceCrossesTheWire(t *testing.T) {
	impl := &joinIMPP{got: make(chan protocol.RoomJoin, 2)}
	host := dispenseIMPP(t, impl)
	ctx := context.Background()
	sess, err := host.Connect(ctx, protocol.ConnectRequest{Address: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Unix(1700000000, 0)
	for _, want := range []protocol.RoomJoin{
		{Room: "r@muc.b", Nick: "a", History: 3},
		{Room: "r@muc.b", Nick: "a", HistorySince: since},
	} {
		if _, err := sess.JoinRoom(ctx, want); err != nil {
			t.Fatal(err)
		}
		got := <-impl.got
		if got.History != want.History || !got.HistorySince.Equal(want.HistorySince) || got.HistorySince.IsZero() != want.HistorySince.IsZero() {
			t.Errorf("plugin got %+v, want %+v", got, want)
		}
	}
}
