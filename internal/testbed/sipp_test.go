package testbed

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// sipUser adds a fresh SIP user to the shared bed for one test.
func sipUser(t *testing.T, b *Bed, prefix string) string {
	t.Helper()
	name := prefix + "-" + randomHex(3)
	if _, err := b.AddUsers(context.Background(), b.Domain, name); err != nil {
		t.Fatal(err)
	}
	return name
}

const callInfo = "<https://example.test/alice.png>;purpose=icon"

// TestSippUAS drives the sipp callee with a sipp caller through Kamailio (digest-authenticated
// INVITE), for every way the callee can end a call.
func TestSippUAS(t *testing.T) {
	b := Shared(t)
	requireTool(t, "sipp", "sip-tester")
	tests := []struct {
		name    string
		uas     SippUASOptions
		uac     sippUACOptions
		wantErr string // in Wait's error; "" = success
		echo    bool   // RTPReceived must be > 0 (else == 0)
	}{
		{
			name: "answered, Call-Info exact and absent header checks pass",
			uas: SippUASOptions{Answer: 200, Headers: []HeaderCheck{
				{Name: "Call-Info", Exact: callInfo}, {Name: "X-Secret", Absent: true},
			}},
			uac: sippUACOptions{Expect: 200, Extra: []string{"Call-Info: " + callInfo}},
		},
		{
			name: "Call-Info one byte short",
			uas:  SippUASOptions{Answer: 200, Headers: []HeaderCheck{{Name: "Call-Info", Exact: callInfo}}},
			uac:  sippUACOptions{Expect: 200, Extra: []string{"Call-Info: " + callInfo[:len(callInfo)-1]}},
			// sipp carries on with the call but counts it failed.
			wantErr: "Failed regexp match",
		},
		{
			// The "." of the expected value is a literal dot, not "any character".
			name:    "Call-Info with another byte where the value has a regexp metacharacter",
			uas:     SippUASOptions{Answer: 200, Headers: []HeaderCheck{{Name: "Call-Info", Exact: callInfo}}},
			uac:     sippUACOptions{Expect: 200, Extra: []string{"Call-Info: " + strings.Replace(callInfo, "alice.png", "alice-png", 1)}},
			wantErr: "Failed regexp match",
		},
		{
			name:    "Call-Info twice",
			uas:     SippUASOptions{Answer: 200, Headers: []HeaderCheck{{Name: "Call-Info", Exact: callInfo}}},
			uac:     sippUACOptions{Expect: 200, Extra: []string{"Call-Info: " + callInfo, "Call-Info: <https://example.test/b.png>;purpose=icon"}},
			wantErr: "Regexp matched but should not",
		},
		{
			name:    "header that must be absent is present",
			uas:     SippUASOptions{Answer: 200, Headers: []HeaderCheck{{Name: "Call-Info", Absent: true}}},
			uac:     sippUACOptions{Expect: 200, Extra: []string{"Call-Info: " + callInfo}},
			wantErr: "Regexp matched but should not",
		},
		{
			name: "echo counts the RTP the caller plays",
			uas:  SippUASOptions{Answer: 200, Media: "echo"},
			uac:  sippUACOptions{Expect: 200, Pcap: sippPCMA, Hold: 600 * time.Millisecond},
			echo: true,
		},
		{
			name: "echo counts nothing when the caller sends no RTP",
			uas:  SippUASOptions{Answer: 200, Media: "echo"},
			uac:  sippUACOptions{Expect: 200, Hold: 300 * time.Millisecond},
		},
		{
			name: "pcap plays to the caller",
			uas:  SippUASOptions{Answer: 200, Media: "pcap"},
			uac:  sippUACOptions{Expect: 200, Hold: 300 * time.Millisecond},
		},
		{name: "busy", uas: SippUASOptions{Answer: 486}, uac: sippUACOptions{Expect: 486}},
		{name: "decline", uas: SippUASOptions{Answer: 603}, uac: sippUACOptions{Expect: 603}},
		{name: "no answer, caller cancels", uas: SippUASOptions{Answer: 0}, uac: sippUACOptions{Cancel: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			tt.uas.User = sipUser(t, b, "uas")
			tt.uas.HoldTimeout = 5 * time.Second
			uas := b.StartSippUAS(t, tt.uas)
			caller := sipUser(t, b, "uac")
			tt.uac.From, tt.uac.To = caller, uas.URI
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			run, uacErr := b.runSippUAC(ctx, tt.uac)
			if run.Dir != "" {
				t.Cleanup(func() { os.RemoveAll(run.Dir) })
			}
			if uacErr != nil {
				t.Errorf("caller: %v", uacErr)
			}
			res, err := uas.Wait(10 * time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("callee: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("callee: no error, want one containing %q; result %+v", tt.wantErr, res)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("callee: error %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && (res.Successful != 1 || res.Failed != 0) {
				t.Errorf("callee: %+v, want 1 successful call", res)
			}
			if tt.echo != (res.RTPReceived > 0) {
				t.Errorf("callee received %d RTP packets, want >0: %v\n%s", res.RTPReceived, tt.echo, res.Log)
			}
			if tt.uac.Expect == 200 && len(run.Setup) != 1 {
				t.Errorf("caller: setup times %v", run.Setup)
			}
			t.Logf("%s: %s, RTP echoed %d, setup %v", tt.name, time.Since(start).Round(time.Millisecond), res.RTPReceived, run.Setup)
		})
	}
}

// TestSippUAC places three authenticated calls with the exported caller to one sipp callee.
func TestSippUAC(t *testing.T) {
	b := Shared(t)
	requireTool(t, "sipp", "sip-tester")
	uas := b.StartSippUAS(t, SippUASOptions{User: sipUser(t, b, "uas"), Answer: 200, Calls: 3, HoldTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	setup, err := b.SippUAC(ctx, sipUser(t, b, "uac"), uas.URI, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, err := uas.Wait(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup) != 3 || res.Successful != 3 {
		t.Fatalf("setup times %v, callee %d successful calls; want 3 each", setup, res.Successful)
	}
	for _, d := range setup {
		// sipp reports whole milliseconds: on loopback a set-up under 1 ms is 0.
		if d < 0 || d > 5*time.Second {
			t.Errorf("setup time %v out of range", d)
		}
	}
	t.Logf("INVITE-to-200 times: %v", setup)
}
