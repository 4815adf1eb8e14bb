package cusaxv1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-plugin"
)

// fakeIMPP returns canned answers so the wire shims can be checked alone.
type fakeIMPP struct{ report protocol.ConnectionReport }

func (f *fakeIMPP) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindIMPP, Name: "fake", Version: "1", APIVersion: protocol.APIVersion, Capabilities: []protocol.Capability{protocol.CapLogin, protocol.CapMessageRecv}}, nil
}

func (f *fakeIMPP) Connect(_ context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	if name, ok := reqSentinel(req); ok {
		return nil, fmt.Errorf("connect %s: %w", req.Address, protocol.Sentinels[name])
	}
	return &fakeSession{report: f.report}, nil
}

func reqSentinel(req protocol.ConnectRequest) (string, bool) {
	name, ok := req.Options["fail"]
	return name, ok
}

type fakeSession struct {
	protocol.UnsupportedIMPPSession
	report protocol.ConnectionReport
}

func (s *fakeSession) Report() protocol.ConnectionReport { return s.report }
func (s *fakeSession) Close(context.Context) error       { return nil }

type sliceStream struct{ msgs []protocol.Message }

func (s *sliceStream) Recv() (protocol.Message, error) {
	if len(s.msgs) == 0 {
		return protocol.Message{}, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}
func (s *sliceStream) Close() error { return nil }

func (s *fakeSession) Messages(context.Context) (protocol.Stream[protocol.Message], error) {
	return &sliceStream{msgs: []protocol.Message{{From: "a@b/c", Type: "chat", Body: "one", Time: time.Unix(1, 0).UTC()}, {Body: "two", Type: "chat"}}}, nil
}

func dispenseIMPP(t *testing.T, impl protocol.IMPP) protocol.IMPP {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"impp": &IMPPPlugin{Impl: impl}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense("impp")
	if err != nil {
		t.Fatal(err)
	}
	return raw.(protocol.IMPP)
}

func TestSentinelsCrossTheWire(t *testing.T) {
	host := dispenseIMPP(t, &fakeIMPP{})
	for name, sentinel := range protocol.Sentinels {
		t.Run(name, func(t *testing.T) {
			_, err := host.Connect(context.Background(), protocol.ConnectRequest{Address: "a@b", Options: map[string]string{"fail": name}})
			if !errors.Is(err, sentinel) {
				t.Fatalf("got %v, want it to wrap %v", err, sentinel)
			}
			if want := "connect a@b: " + sentinel.Error(); err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestReportAndStreamsCrossTheWire(t *testing.T) {
	want := protocol.ConnectionReport{
		Aspect: protocol.AspectChat, Backend: "fake", State: "connected", Address: "a@b/r", Server: "127.0.0.1:5222",
		Transport: "tcp+starttls", Encrypted: true, AuthMechanism: "SCRAM-SHA-1", AuthOffered: []string{"SCRAM-SHA-1", "PLAIN"},
		StartTLSAdvertised: true, StartTLSAttempted: true, Elapsed: 42 * time.Millisecond, Notes: []string{"n"},
		TLS: &protocol.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "b", Verified: true, ServerAuth: "pkix dns-id b",
			Chain: []protocol.CertInfo{{Subject: "CN=b", Issuer: "CN=ca", NotBefore: time.Unix(10, 0).UTC(), NotAfter: time.Unix(20, 0).UTC(), SHA256: "ab", DNSNames: []string{"b"}, XMPPAddrs: []string{"b"}, KeyAlgorithm: "ECDSA P-256", SignatureAlg: "ECDSA-SHA256", DER: []byte{1, 2}}}},
	}
	host := dispenseIMPP(t, &fakeIMPP{report: want})
	ctx := context.Background()
	sess, err := host.Connect(ctx, protocol.ConnectRequest{Address: "a@b", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sess.Report(); !reflect.DeepEqual(got, want) {
		t.Fatalf("report changed on the wire:\n got %+v\nwant %+v", got, want)
	}
	if _, err := sess.Roster(ctx); !errors.Is(err, protocol.ErrUnsupported) {
		t.Errorf("roster: %v, want ErrUnsupported", err)
	}
	st, err := sess.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, m.Body)
	}
	if !reflect.DeepEqual(bodies, []string{"one", "two"}) {
		t.Errorf("stream delivered %v", bodies)
	}
	if err := sess.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A closed session is gone: NotConnected, not a crash.
	if _, err := sess.Roster(ctx); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("after close: %v, want ErrNotConnected", err)
	}
}

func TestConnectRequestRedactsPassword(t *testing.T) {
	r := protocol.ConnectRequest{Address: "a@b", Password: "hunter2"}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), fmt.Sprintf("%v", &r)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password leaked: %s", s)
		}
	}
}

// An unsupported stream fails at the call, not at the first Recv.
func TestUnsupportedStreamFailsAtCall(t *testing.T) {
	host := dispenseIMPP(t, &fakeIMPP{})
	sess, err := host.Connect(context.Background(), protocol.ConnectRequest{Address: "a@b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Presences(context.Background()); !errors.Is(err, protocol.ErrUnsupported) {
		t.Fatalf("Presences: %v, want ErrUnsupported at the call", err)
	}
}
