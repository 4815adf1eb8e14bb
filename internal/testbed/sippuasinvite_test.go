package testbed

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSippUASInvites has a sipp caller call a sipp callee through Kamailio and checks that
// the callee's Invites returns the INVITE with the caller's extra header and SDP offer.
func TestSippUASInvites(t *testing.T) {
	b := Shared(t)
	requireTool(t, "sipp", "sip-tester")
	uas := b.StartSippUAS(t, SippUASOptions{User: sipUser(t, b, "uas"), Answer: 200, HoldTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	run, err := b.runSippUAC(ctx, sippUACOptions{From: sipUser(t, b, "uac"), To: uas.URI, Expect: 200, Extra: []string{"X-Probe: invites-test"}})
	if run.Dir != "" {
		t.Cleanup(func() { os.RemoveAll(run.Dir) })
	}
	if err != nil {
		t.Fatalf("caller: %v", err)
	}
	if _, err := uas.Wait(10 * time.Second); err != nil {
		t.Fatalf("callee: %v", err)
	}
	inv := uas.Invites()
	if len(inv) != 1 {
		t.Fatalf("Invites() returned %d messages, want 1", len(inv))
	}
	if !strings.HasPrefix(inv[0], "INVITE sip:") || !strings.Contains(inv[0], "X-Probe: invites-test") {
		t.Errorf("INVITE lacks its request line or the caller's header:\n%s", inv[0])
	}
	sdp := SDPBody(inv[0])
	if !strings.Contains(sdp, "m=audio ") || strings.Contains(sdp, "a=crypto") {
		t.Errorf("SDP offer: want m=audio and no a=crypto:\n%s", sdp)
	}
	t.Logf("INVITE at the callee: %d bytes, SDP %d bytes", len(inv[0]), len(sdp))
}

// TestReceivedRequests checks the -trace_msg parser on a synthetic log: responses and
// other methods are left out, the byte count bounds each message.
func TestReceivedRequests(t *testing.T) {
	inv := "INVITE sip:bob@127.0.0.1 SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 10\r\n\r\nv=0\r\na=x\r\n"
	log := "----------------------------------------------- 2026-12-07\t05:40:00.1\n" +
		"UDP message received [" + strconv.Itoa(len(inv)) + "] bytes :\n\n" + inv + "\n" +
		"----------------------------------------------- 2026-12-07\t05:40:00.2\n" +
		"UDP message sent (300 bytes):\n\nSIP/2.0 200 OK\r\n\r\n\n" +
		"----------------------------------------------- 2026-12-07\t05:40:00.3\n" +
		"UDP message received [20] bytes :\n\nACK sip:x SIP/2.0\r\n\r\n\n"
	got := receivedRequests(log, "INVITE")
	if len(got) != 1 || got[0] != inv {
		t.Fatalf("receivedRequests = %q, want [%q]", got, inv)
	}
	if b := SDPBody(got[0]); b != "v=0\r\na=x\r\n" {
		t.Errorf("SDPBody = %q", b)
	}
}
