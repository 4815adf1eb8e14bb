package sipmessage

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// BenchmarkSendAndReceive: one MESSAGE from A through Kamailio (TLS both
// ways, proxy digest on each) to B's stream, per iteration.
//
//	CI=true go test -run XXX -bench SendAndReceive -benchtime 200x ./plugins/sipmessage/
func BenchmarkSendAndReceive(b *testing.B) {
	bed := testbed.Shared(b)
	ra, rb := benchPair(b, bed)
	a, peer := connectB(b, ra), connectB(b, rb)
	st, err := peer.Messages(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		body := "bench " + strconv.Itoa(i)
		if err := send(a, rb.Address, body); err != nil {
			b.Fatal(err)
		}
		m, err := st.Recv()
		if err != nil || m.Body != body {
			b.Fatalf("received %+v, %v", m, err)
		}
	}
}

// BenchmarkConnect: REGISTER with digest over a new TLS flow, and Close
// (un-REGISTER).
func BenchmarkConnect(b *testing.B) {
	bed := testbed.Shared(b)
	ra, _ := benchPair(b, bed)
	for b.Loop() {
		s, err := New(nil).Connect(b.Context(), ra)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close(b.Context())
	}
}

func benchPair(b *testing.B, bed *testbed.Bed) (protocol.ConnectRequest, protocol.ConnectRequest) {
	b.Helper()
	return pairTB(b, bed)
}

func connectB(b *testing.B, req protocol.ConnectRequest) protocol.IMPPSession {
	b.Helper()
	s, err := New(nil).Connect(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}
