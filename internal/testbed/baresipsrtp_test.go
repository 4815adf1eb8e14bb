package testbed

import (
	"os"
	"slices"
	"testing"
	"time"
)

// TestBaresipSRTPCall has one baresip call another, both registered through Kamailio over
// TLS with mediaenc srtp-mand, and checks that both logs say the audio was SRTP and that
// each side played the other's tone (decrypted). It proves the bed's SRTP peer, independent
// of cusax.
func TestBaresipSRTPCall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test bed")
	}
	b := Start(t, Options{SIPDigestAlgorithm: "MD5"})
	callee := b.StartBaresipSRTP(t, BaresipSRTPOptions{User: "bob"})
	caller := b.StartBaresipSRTP(t, BaresipSRTPOptions{User: "alice"})
	logs := func() string { return "\ncaller:\n" + caller.Output() + "\ncallee:\n" + callee.Output() }
	start := time.Now()
	if err := caller.Dial(callee.URI); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEstablished(1, 15*time.Second); err != nil {
		t.Fatalf("%v%s", err, logs())
	}
	t.Logf("SRTP call set up (dial to established at the caller) in %s", time.Since(start))
	// Let a second of audio through both ways.
	for _, p := range []*BaresipSRTP{caller, callee} {
		if err := waitFor(10*time.Second, func() bool { s, _ := p.Speaker(); return s >= 1 }); err != nil {
			fi, _ := os.ReadDir(p.Dir)
			t.Fatalf("%s played no second of audio: %v (files: %v)%s", p.User, err, fi, logs())
		}
	}
	if err := caller.Hangup(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*BaresipSRTP{caller, callee} {
		if err := p.WaitClosed(1, 10*time.Second); err != nil {
			t.Fatalf("%s: %v%s", p.User, err, logs())
		}
		m := p.Media()
		if !slices.Equal(m.Suites, []string{"AES_CM_128_HMAC_SHA1_80"}) {
			t.Errorf("%s: suites %q, want [AES_CM_128_HMAC_SHA1_80]; secure lines %q%s", p.User, m.Suites, m.Secure, logs())
		}
		if len(m.Failures) > 0 {
			t.Errorf("%s: mediaenc failures %q", p.User, m.Failures)
		}
		secs, rms := p.Speaker()
		t.Logf("%s: %s; played %.1f s of the peer's audio, RMS %.3f", p.User, m.Secure[0], secs, rms)
		if rms < 0.1 {
			t.Errorf("%s: played audio RMS %.3f: the peer's tone did not come through SRTP", p.User, rms)
		}
	}
}
