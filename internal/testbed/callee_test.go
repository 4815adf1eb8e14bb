package testbed

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStartBaresipIn: the non-test variant answers like StartBaresip's callee, and its stop
// function ends baresip (twice is harmless).
func TestStartBaresipIn(t *testing.T) {
	b := Shared(t)
	requireTool(t, "baresip", "baresip-core")
	requireTool(t, "sipp", "sip-tester")
	p, stop, err := b.StartBaresipIn(filepath.Join(t.TempDir(), "callee"), BaresipOptions{User: sipUser(t, b, "hostcallee")}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	run, err := b.runSippUAC(ctx, sippUACOptions{
		From: sipUser(t, b, "hostcaller"), To: p.URI, Expect: 200,
		Pcap: "/usr/share/sip-tester/dtmf_2833_1.pcap", Hold: 500 * time.Millisecond,
	})
	if run.Dir != "" {
		t.Cleanup(func() { os.RemoveAll(run.Dir) })
	}
	if err != nil {
		t.Fatalf("caller: %v\nbaresip:\n%s", err, p.Output())
	}
	if p.DTMF() != "1" || p.Calls() != 1 {
		t.Errorf("DTMF %q, %d calls; want \"1\", 1\n%s", p.DTMF(), p.Calls(), p.Output())
	}
	stop()
	stop()
	if ok, _ := p.proc.exited(); !ok {
		t.Error("baresip still runs after stop")
	}
}

// TestStartBaresipInUnknownUser fails before starting anything.
func TestStartBaresipInUnknownUser(t *testing.T) {
	b := Shared(t)
	requireTool(t, "baresip", "baresip-core")
	if _, _, err := b.StartBaresipIn(t.TempDir(), BaresipOptions{User: "nosuchuser"}, t.Logf); err == nil {
		t.Fatal("StartBaresipIn for an unknown user succeeded")
	}
}
