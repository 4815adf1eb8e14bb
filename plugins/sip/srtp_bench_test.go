package sip

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// BenchmarkDialSetupSRTP measures call set-up with SDES-SRTP and
// DTLS-SRTP against plain RTP: calls from one session of ours through
// Kamailio over TLS, each hung up at the answer. Phase 1: one baresip
// 1.0 with mediaenc srtp (it takes an RTP/SAVP offer with SRTP and an
// RTP/AVP one in clear), Encryption "srtp" and "none" alternating. Phase
// 2: one baresip with mediaenc dtls_srtp (it refuses plain offers with
// 488), Keying dtls. One callee per phase, so that the kinds of a phase
// share its Kamailio→baresip TLS connection (with two callees interleaved, one
// connection stalled ~40 ms per call, a delayed ACK, whichever kind it
// carried). It reports the medians of SetupTime (first INVITE to the
// 200, the 407 round included) and of the wall time from Dial to the
// answered event (key generation, SDP and, for DTLS-SRTP, the
// certificate and the DTLS handshake included). No timing is asserted.
// Run with `make bench-srtp`.
func BenchmarkDialSetupSRTP(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the test bed")
	}
	const n = 20
	bed := testbed.Start(b, testbed.Options{SIPDigestAlgorithm: "MD5"})
	newUser := func(prefix string) (string, string) {
		u := prefix + randomToken(4)
		users, err := bed.AddUsers(context.Background(), bed.Domain, u)
		if err != nil {
			b.Fatal(err)
		}
		return u, users[u].Password
	}
	calleeUser, _ := newUser("benchcallee")
	callee := bed.StartBaresipSRTP(b, testbed.BaresipSRTPOptions{User: calleeUser, MediaEnc: "srtp"})
	// baresip with mediaenc srtp does not do DTLS-SRTP, nor dtls_srtp
	// SDES or plain: a second callee, measured in a phase of its own.
	dtlsUser, _ := newUser("benchdtls")
	dtlsCallee := bed.StartBaresipSRTP(b, testbed.BaresipSRTPOptions{User: dtlsUser, MediaEnc: "dtls_srtp"})
	caller, pw := newUser("benchcaller")
	sess, err := New(nil).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:" + caller + "@" + bed.Domain, Password: pw, Server: "sip:" + bed.SIPTLSAddr + ";transport=tls",
		CAPEM: mustReadFile(b, bed.CAFile), Timeout: 5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close(context.Background())

	type kind struct {
		name   string
		callee *testbed.BaresipSRTP
		enc    string
		keying string
		setup  []time.Duration
		wall   []time.Duration
	}
	phases := [][]*kind{{
		{name: "srtp", callee: callee, enc: protocol.MediaEncryptionSRTP},
		{name: "plain", callee: callee, enc: protocol.MediaEncryptionNone},
	}, {
		{name: "dtls", callee: dtlsCallee, enc: protocol.MediaEncryptionSRTP, keying: protocol.KeyingDTLS},
	}}
	var kinds []*kind
	for _, p := range phases {
		kinds = append(kinds, p...)
	}
	b.ResetTimer()
	for range b.N {
		for _, phase := range phases {
			for i := range n + 1 { // the first call of each kind warms up
				for _, k := range phase {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					closedBefore := len(k.callee.Media().SessionClosed)
					start := time.Now()
					st, err := sess.Dial(ctx, protocol.DialRequest{Target: k.callee.URI, Media: protocol.MediaOptions{Encryption: k.enc, Keying: k.keying}})
					if err != nil {
						cancel()
						b.Fatalf("%s: %v\n%s", k.name, err, k.callee.Output())
					}
					var wall time.Duration
					var final protocol.CallEvent
					for {
						ev, err := st.Recv()
						if err != nil {
							cancel()
							b.Fatalf("%s call %d: %v (%+v)", k.name, i, err, final)
						}
						if ev.Answered && wall == 0 {
							wall = time.Since(start)
						}
						if ev.Final {
							final = ev
							break
						}
					}
					st.Close()
					cancel()
					if !final.Answered || (k.enc == protocol.MediaEncryptionSRTP) != (final.MediaProtection != protocol.MediaInClear) || (k.keying == protocol.KeyingDTLS) != (final.MediaKeying == protocol.KeyingDTLS) {
						b.Fatalf("%s call %d: %+v", k.name, i, final)
					}
					// baresip reports each call's end ("session closed" on our
					// BYE) before the next call goes to it.
					if err := pollUntil(10*time.Second, func() bool { return len(k.callee.Media().SessionClosed) >= closedBefore+1 }); err != nil {
						b.Fatalf("%s: %v\n%s", k.name, err, k.callee.Output())
					}
					if i > 0 {
						k.setup = append(k.setup, final.SetupTime)
						k.wall = append(k.wall, wall)
					}
				}
			}
		}
	}
	b.StopTimer()
	for _, k := range kinds {
		s, w := median(k.setup), median(k.wall)
		b.ReportMetric(float64(s.Microseconds())/1000, k.name+"-setup-median-ms")
		b.ReportMetric(float64(w.Microseconds())/1000, k.name+"-dial-to-answer-median-ms")
		fmt.Printf("BENCH srtp-setup %s: %d calls, SetupTime median %s (min %s, max %s), Dial to answered median %s\n",
			k.name, len(k.setup), s.Round(10*time.Microsecond), slices.Min(k.setup).Round(10*time.Microsecond),
			slices.Max(k.setup).Round(10*time.Microsecond), w.Round(10*time.Microsecond))
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func mustReadFile(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// pollUntil polls ok every 10 ms until it holds or d has passed.
func pollUntil(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
