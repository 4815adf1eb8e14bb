package xmpp

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// BenchmarkLogin measures a full login and logout against Prosody:
// go test -run '^$' -bench Login ./plugins/xmpp
func BenchmarkLogin(b *testing.B) {
	bed := testbed.Shared(b)
	ca, err := os.ReadFile(bed.CAFile)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		server string
		direct bool
	}{
		{"starttls", bed.XMPPAddr, false},
		{"direct-tls", bed.XMPPDirectTLSAddr, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			be := New(nil)
			req := protocol.ConnectRequest{
				Address: bed.JID("alice"), Password: bed.Users["alice"].Password,
				Server: tc.server, DirectTLS: tc.direct, CAPEM: ca, Timeout: 5 * time.Second,
			}
			for b.Loop() {
				s, err := be.Connect(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				_ = s.Close(context.Background())
			}
		})
	}
}
