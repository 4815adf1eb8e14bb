package testbed

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestBaresipDTMF calls baresip with a sipp caller that plays an RFC 4733 "1" and checks
// that baresip answered and reported the digit.
func TestBaresipDTMF(t *testing.T) {
	b := Shared(t)
	requireTool(t, "sipp", "sip-tester")
	p := b.StartBaresip(t, BaresipOptions{User: sipUser(t, b, "baresip")})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	run, err := b.runSippUAC(ctx, sippUACOptions{
		From: sipUser(t, b, "uac"), To: p.URI, Expect: 200,
		Pcap: "/usr/share/sip-tester/dtmf_2833_1.pcap", Hold: 500 * time.Millisecond,
	})
	if run.Dir != "" {
		t.Cleanup(func() { os.RemoveAll(run.Dir) })
	}
	if err != nil {
		t.Fatalf("caller: %v\nbaresip:\n%s", err, p.Output())
	}
	if got := p.DTMF(); got != "1" {
		t.Errorf("DTMF() = %q, want \"1\"\n%s", got, p.Output())
	}
	if got := p.Calls(); got != 1 {
		t.Errorf("Calls() = %d, want 1\n%s", got, p.Output())
	}
}
