package cusaxv1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// fakeTelephony hands out one session: sess when set, else a session that
// is no Answerer.
type fakeTelephony struct{ sess protocol.TelephonySession }

func (f *fakeTelephony) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindTelephony, Name: "fake", Version: "1", APIVersion: protocol.APIVersion}, nil
}

func (f *fakeTelephony) Connect(context.Context, protocol.ConnectRequest) (protocol.TelephonySession, error) {
	if f.sess != nil {
		return f.sess, nil
	}
	return &plainTelSession{}, nil
}

type plainTelSession struct {
	protocol.UnsupportedTelephonySession
}

func (*plainTelSession) Register(context.Context, protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	return protocol.ConnectionReport{}, nil
}
func (*plainTelSession) Unregister(context.Context) error { return nil }
func (*plainTelSession) Close(context.Context) error      { return nil }

// answerSession is an Answerer whose Answer does what its fields say.
type answerSession struct {
	plainTelSession
	mu     sync.Mutex
	got    []protocol.AnswerRequest
	events []protocol.AnswerEvent // sent in order, then EOF
	fail   error                  // returned before the stream
	block  bool                   // hold the stream until ctx ends
	ended  chan error             // gets ctx.Err() when a blocked call ends
}

func (s *answerSession) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	s.mu.Lock()
	s.got = append(s.got, req)
	s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	ch := make(chan protocol.AnswerEvent)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		for _, e := range s.events {
			select {
			case ch <- e:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
		if s.block {
			<-ctx.Done()
			s.ended <- ctx.Err()
			errc <- ctx.Err()
		}
	}()
	return &chanStream{ch: ch, errc: errc}, nil
}

type chanStream struct {
	ch   chan protocol.AnswerEvent
	errc chan error
}

func (c *chanStream) Recv() (protocol.AnswerEvent, error) {
	e, ok := <-c.ch
	if !ok {
		select {
		case err := <-c.errc:
			return protocol.AnswerEvent{}, err
		default:
			return protocol.AnswerEvent{}, io.EOF
		}
	}
	return e, nil
}
func (c *chanStream) Close() error { return nil }

func dispenseTelephony(t *testing.T, p plugin.Plugin) protocol.TelephonySession {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"telephony": p})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense("telephony")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := raw.(protocol.Telephony).Connect(context.Background(), protocol.ConnectRequest{Address: "sip:a@b"})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func answerer(t *testing.T, sess protocol.TelephonySession) protocol.Answerer {
	t.Helper()
	a, ok := sess.(protocol.Answerer)
	if !ok {
		t.Fatal("the host session is no protocol.Answerer")
	}
	return a
}

func drain(t *testing.T, st protocol.Stream[protocol.AnswerEvent]) []protocol.AnswerEvent {
	t.Helper()
	var out []protocol.AnswerEvent
	for {
		e, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		out = append(out, e)
	}
}

// Every field of the request reaches the backend and every field of an
// event comes back, unchanged.
func TestAnswerFieldsCrossTheWire(t *testing.T) {
	req := protocol.AnswerRequest{CallID: "c1@host", Ring: 1500 * time.Millisecond, PlayFile: "/tmp/greeting.wav",
		RecordFile: "/tmp/rec.wav", SendDTMF: "12#", Digits: 4, Until: "#*", DigitTimeout: 3 * time.Second,
		Duration: 20 * time.Second, SilenceHangup: 5 * time.Second, Encryption: protocol.MediaEncryptionSRTP}
	final := protocol.AnswerEvent{CallID: "c1@host", Kind: protocol.AnswerEnded, Digit: "5", Via: "sip-info", Final: true,
		StatusCode: 200, Reason: "OK", Answered: true, HungUpBy: protocol.HungUpByCaller, Duration: 12345 * time.Millisecond,
		Digits: "1234", RTPSent: 600, RTPRecv: 598, Codec: "PCMU/8000", MediaPeer: "127.0.0.1:40000",
		RecordedSamples: 95680, Note: "BYE from the caller", MediaProtection: "AES_CM_128_HMAC_SHA1_80",
		MediaKeying: protocol.KeyingSDES, SRTPAuthFailures: 3}
	zero := reflect.ValueOf(req)
	for i := 0; i < zero.NumField(); i++ {
		if zero.Field(i).IsZero() {
			t.Fatalf("test request leaves %s unset", zero.Type().Field(i).Name)
		}
	}
	ev := reflect.ValueOf(final)
	for i := 0; i < ev.NumField(); i++ {
		if ev.Field(i).IsZero() {
			t.Fatalf("test event leaves %s unset", ev.Type().Field(i).Name)
		}
	}
	impl := &answerSession{events: []protocol.AnswerEvent{{CallID: "c1@host", Kind: protocol.AnswerRinging}, final}}
	sess := dispenseTelephony(t, &TelephonyPlugin{Impl: &fakeTelephony{sess: impl}})
	st, err := answerer(t, sess).Answer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, st)
	if len(got) != 2 || !reflect.DeepEqual(got[1], final) || got[0].Kind != protocol.AnswerRinging {
		t.Errorf("events changed on the wire:\n got %+v\nwant [ringing %+v]", got, final)
	}
	impl.mu.Lock()
	defer impl.mu.Unlock()
	if len(impl.got) != 1 || !reflect.DeepEqual(impl.got[0], req) {
		t.Errorf("backend got %+v, want %+v", impl.got, req)
	}
}

// The backend's errors before the stream come back as the same sentinels,
// at the call (as Dial's do).
func TestAnswerErrorsCrossTheWire(t *testing.T) {
	for _, sentinel := range []error{protocol.ErrNotFound, protocol.ErrInvalid, protocol.ErrNotConnected} {
		impl := &answerSession{fail: fmt.Errorf("call x: %w", sentinel)}
		sess := dispenseTelephony(t, &TelephonyPlugin{Impl: &fakeTelephony{sess: impl}})
		_, err := answerer(t, sess).Answer(context.Background(), protocol.AnswerRequest{CallID: "x"})
		if !errors.Is(err, sentinel) || err.Error() != "call x: "+sentinel.Error() {
			t.Errorf("got %v, want %q wrapping %v", err, "call x: "+sentinel.Error(), sentinel)
		}
	}
}

// A backend whose session is no Answerer, and a plugin built before the
// RPC existed, both answer ErrUnsupported at the call.
func TestAnswerUnsupported(t *testing.T) {
	for name, p := range map[string]plugin.Plugin{
		"no Answerer":  &TelephonyPlugin{Impl: &fakeTelephony{}},
		"older plugin": &oldTelephonyPlugin{},
	} {
		sess := dispenseTelephony(t, p)
		_, err := answerer(t, sess).Answer(context.Background(), protocol.AnswerRequest{CallID: "x"})
		if !errors.Is(err, protocol.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
}

// oldTelephonyPlugin serves the Telephony service as a plugin compiled
// before Answer was added: the generated stub answers Unimplemented.
type oldTelephonyPlugin struct{ plugin.NetRPCUnsupportedPlugin }

type oldTelephonyServer struct{ UnimplementedTelephonyServer }

func (oldTelephonyServer) Connect(context.Context, *ConnectRequest) (*ConnectResponse, error) {
	return &ConnectResponse{SessionId: "old"}, nil
}

func (*oldTelephonyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterTelephonyServer(s, oldTelephonyServer{})
	return nil
}

func (*oldTelephonyPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (interface{}, error) {
	return NewTelephonyHost(cc), nil
}

// Cancelling the host's ctx, or closing the stream, cancels the backend's
// ctx: the call ends (the backend sends BYE); and the host's Recv does
// not hang.
func TestAnswerCancelReachesBackend(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) { testAnswerCancel(t, how) })
	}
}

func testAnswerCancel(t *testing.T, how string) {
	impl := &answerSession{block: true, ended: make(chan error, 1),
		events: []protocol.AnswerEvent{{CallID: "c", Kind: protocol.AnswerAnswered}}}
	sess := dispenseTelephony(t, &TelephonyPlugin{Impl: &fakeTelephony{sess: impl}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := answerer(t, sess).Answer(ctx, protocol.AnswerRequest{CallID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := st.Recv(); err != nil || e.Kind != protocol.AnswerAnswered {
		t.Fatalf("first event %+v, %v", e, err)
	}
	if how == "close" {
		_ = st.Close()
	} else {
		cancel()
	}
	select {
	case err := <-impl.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("backend ctx ended with %v, want Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's ctx was not cancelled within 10 s of the host's")
	}
	recvd := make(chan error, 1)
	go func() { _, err := st.Recv(); recvd <- err }()
	select {
	case err := <-recvd:
		if err == nil {
			t.Error("Recv after cancel returned an event, want an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recv hung after cancel")
	}
}

// A long stream (many digits) arrives whole and in order.
func TestAnswerManyEventsInOrder(t *testing.T) {
	const n = 2000
	var events []protocol.AnswerEvent
	for i := 0; i < n; i++ {
		events = append(events, protocol.AnswerEvent{CallID: "c", Kind: protocol.AnswerDigit, Digit: strconv.Itoa(i % 10), Via: "rfc4733", Note: strconv.Itoa(i)})
	}
	events = append(events, protocol.AnswerEvent{CallID: "c", Kind: protocol.AnswerEnded, Final: true, HungUpBy: protocol.HungUpByUs})
	sess := dispenseTelephony(t, &TelephonyPlugin{Impl: &fakeTelephony{sess: &answerSession{events: events}}})
	st, err := answerer(t, sess).Answer(context.Background(), protocol.AnswerRequest{CallID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, st)
	if len(got) != n+1 {
		t.Fatalf("got %d events, want %d", len(got), n+1)
	}
	for i, e := range got[:n] {
		if e.Note != strconv.Itoa(i) || e.Digit != strconv.Itoa(i%10) {
			t.Fatalf("event %d is %+v: out of order", i, e)
		}
	}
	if !got[n].Final || got[n].HungUpBy != protocol.HungUpByUs {
		t.Errorf("last event %+v, want the final one", got[n])
	}
}
