package baresip

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// BenchmarkConnectClose is what a session costs before any SIP: start
// baresip with its private directory, prove and connect its control
// socket, create the user agent; then stop it and remove the directory.
//
//	go test -run - -bench ConnectClose -benchtime 20x ./plugins/baresip/
func BenchmarkConnectClose(b *testing.B) {
	if _, err := exec.LookPath("baresip"); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("baresip missing (apt-get install baresip-core)")
		}
		b.Skip("baresip missing (apt-get install baresip-core)")
	}
	req := protocol.ConnectRequest{Address: "sip:bob@127.0.0.1", Password: "pw", Server: "sip:127.0.0.1:9;transport=udp"}
	for b.Loop() {
		s, err := New(nil).Connect(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close(context.Background())
	}
}
