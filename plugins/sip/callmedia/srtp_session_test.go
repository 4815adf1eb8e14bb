package callmedia

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/media"
)

func newKeys(t testing.TB, suite string) (a, b []byte) {
	t.Helper()
	ca, err := NewCrypto(1, suite)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := NewCrypto(1, suite)
	if err != nil {
		t.Fatal(err)
	}
	return ca.Key, cb.Key
}

// udpTap relays datagrams between two sessions on loopback and keeps a
// copy of each, as a passive observer on the path would see them.
type udpTap struct {
	conn *net.UDPConn
	mu   sync.Mutex
	seen [][]byte
}

func startTap(t *testing.T, a, b netip.AddrPort) *udpTap {
	tap := &udpTap{conn: listenUDP(t, "127.0.0.1")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<16)
		for {
			n, from, err := tap.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed at cleanup
			}
			tap.mu.Lock()
			tap.seen = append(tap.seen, bytes.Clone(buf[:n]))
			tap.mu.Unlock()
			to := b
			if from == b {
				to = a
			}
			_, _ = tap.conn.WriteToUDPAddrPort(buf[:n], to)
		}
	}()
	t.Cleanup(func() { tap.conn.Close(); <-done })
	return tap
}

// plainFrames counts tapped datagrams that carry one of frames verbatim.
func (tap *udpTap) plainFrames(frames [][]byte) int {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	n := 0
	for _, d := range tap.seen {
		for _, f := range frames {
			if bytes.Contains(d, f) {
				n++
				break
			}
		}
	}
	return n
}

func rmsOf(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

// TestRunSRTPTwoWay: two SRTP sessions exchange 0.5 s tones through a
// tap; each records the other's tone at full energy, and the tap sees no
// PCMU frame of either tone. The plain-RTP run is the control that shows
// the tap does see them when media is in clear.
func TestRunSRTPTwoWay(t *testing.T) {
	const amp = 8000
	toneA := sine(1000, amp, media.TelephonyRate/2) // 25 frames
	toneB := sine(500, amp, media.TelephonyRate/2)
	var frames [][]byte
	for _, tone := range [][]int16{toneA, toneB} {
		for _, f := range Frames(tone) {
			b, _ := Encode(PayloadTypePCMU, f)
			frames = append(frames, b)
		}
	}
	for _, suite := range append([]string{"none"}, suitePreference...) {
		t.Run(suite, func(t *testing.T) {
			ca, cb := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			tap := startTap(t, addrOf(ca), addrOf(cb))
			var gotA, gotB atomic.Int64 // audio packets received by a, b
			a := SessionConfig{Conn: ca, Remote: addrOf(tap.conn), PayloadType: PayloadTypePCMU, Play: toneA, Record: true,
				OnAudio: func([]int16) { gotA.Add(1) }}
			b := SessionConfig{Conn: cb, Remote: addrOf(tap.conn), PayloadType: PayloadTypePCMU, Play: toneB, Record: true,
				OnAudio: func([]int16) { gotB.Add(1) }}
			if suite != "none" {
				ka, kb := newKeys(t, suite)
				a.SRTP = &SRTPKeys{Suite: suite, LocalKey: ka, RemoteKey: kb}
				b.SRTP = &SRTPKeys{Suite: suite, LocalKey: kb, RemoteKey: ka}
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ra, rb := runAsync(ctx, a), runAsync(ctx, b)
			// Both tones (25 packets) plus some silence have arrived.
			deadline := time.Now().Add(15 * time.Second)
			for gotA.Load() < 50 || gotB.Load() < 50 {
				if time.Now().After(deadline) {
					t.Fatalf("timed out: a received %d, b %d audio packets", gotA.Load(), gotB.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			resA, resB := <-ra, <-rb
			if resA.err != nil || resB.err != nil {
				t.Fatalf("Run: %v / %v", resA.err, resB.err)
			}
			sa, sb := resA.st, resB.st
			tap.mu.Lock()
			seen := len(tap.seen)
			tap.mu.Unlock()
			t.Logf("%s: a sent %d received %d authfail %d; b sent %d received %d authfail %d; tap saw %d datagrams",
				suite, sa.Sent, sa.Received, sa.AuthFailures, sb.Sent, sb.Received, sb.AuthFailures, seen)
			if sa.AuthFailures != 0 || sb.AuthFailures != 0 {
				t.Errorf("auth failures with matching keys: %d, %d", sa.AuthFailures, sb.AuthFailures)
			}
			for _, c := range []struct {
				name string
				rec  []int16
				freq float64
			}{{"a", sa.Recorded, 500}, {"b", sb.Recorded, 1000}} {
				if len(c.rec) < len(toneA) {
					t.Fatalf("%s recorded %d samples, want ≥ %d", c.name, len(c.rec), len(toneA))
				}
				head := c.rec[:len(toneA)]
				if rms, want := rmsOf(head), amp/math.Sqrt2; math.Abs(rms-want) > want/10 {
					t.Errorf("%s: recorded RMS %.0f, want ≈ %.0f", c.name, rms, want)
				}
				if share := toneShare(head, c.freq); share < 0.9 {
					t.Errorf("%s: %.0f Hz carries %.2f of the recorded energy, want ≥ 0.9", c.name, c.freq, share)
				}
			}
			plain := tap.plainFrames(frames)
			if suite == "none" && plain < 40 {
				t.Fatalf("control: the tap saw only %d plain PCMU frames of 50", plain)
			}
			if suite != "none" && plain != 0 {
				t.Errorf("the tap saw %d datagrams carrying a plain PCMU frame of the tones", plain)
			}
		})
	}
}

// TestRunSRTPRejects: a receiver whose remote key does not match, or a
// peer sending plain RTP to an SRTP session (a downgrade), accepts
// nothing: every packet is counted as an auth failure, nothing recorded.
func TestRunSRTPRejects(t *testing.T) {
	tone := sine(1000, 8000, media.TelephonyRate/2)
	ka, kb := newKeys(t, SuiteAESCM128SHA1_80)
	wrong, _ := newKeys(t, SuiteAESCM128SHA1_80)
	for _, tc := range []struct {
		name     string
		send     *SRTPKeys
		recvKeys *SRTPKeys
	}{
		{"wrong key", &SRTPKeys{Suite: SuiteAESCM128SHA1_80, LocalKey: ka, RemoteKey: kb},
			&SRTPKeys{Suite: SuiteAESCM128SHA1_80, LocalKey: kb, RemoteKey: wrong}},
		{"plain rtp", nil, &SRTPKeys{Suite: SuiteAESCM128SHA1_80, LocalKey: kb, RemoteKey: ka}},
		{"other suite", &SRTPKeys{Suite: SuiteAESCM128SHA1_32, LocalKey: ka, RemoteKey: kb},
			&SRTPKeys{Suite: SuiteAESCM128SHA1_80, LocalKey: kb, RemoteKey: ka}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var audio atomic.Int64
			sa, sb, _ := backToBackNoPeer(t,
				SessionConfig{PayloadType: PayloadTypePCMU, Play: tone, StopWhenDone: true, SRTP: tc.send},
				SessionConfig{PayloadType: PayloadTypePCMU, Record: true, SRTP: tc.recvKeys, OnAudio: func([]int16) { audio.Add(1) }},
			)
			t.Logf("%s: sent %d, received %d, auth failures %d", tc.name, sa.Sent, sb.Received, sb.AuthFailures)
			if sb.Received != 0 || audio.Load() != 0 || len(sb.Recorded) != 0 || sb.Peer != "" {
				t.Errorf("accepted %d packets (%d played, %d samples recorded)", sb.Received, audio.Load(), len(sb.Recorded))
			}
			if sb.AuthFailures < sa.Sent-2 || sb.AuthFailures > sa.Sent {
				t.Errorf("auth failures %d, want ≈ %d sent", sb.AuthFailures, sa.Sent)
			}
		})
	}
}

// backToBackNoPeer is backToBack for a receiver that may accept nothing.
func backToBackNoPeer(t *testing.T, a, b SessionConfig) (sa, sb Stats, took time.Duration) {
	t.Helper()
	ca, cb := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	a.Conn, a.Remote = ca, addrOf(cb)
	b.Conn, b.Remote = cb, addrOf(ca)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bres := runAsync(ctx, b)
	sa, err := Run(t.Context(), a)
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // let b read everything, as backToBack
	cancel()
	rb := <-bres
	if rb.err != nil {
		t.Fatalf("receiver: %v", rb.err)
	}
	return sa, rb.st, 0
}

func TestRunSRTPConfigErrors(t *testing.T) {
	c := listenUDP(t, "127.0.0.1")
	k, _ := newKeys(t, SuiteAESCM128SHA1_80)
	for _, keys := range []*SRTPKeys{
		{Suite: "F8_128_HMAC_SHA1_80", LocalKey: k, RemoteKey: k},
		{Suite: SuiteAEADAES128GCM, LocalKey: k, RemoteKey: k}, // 30 bytes, GCM wants 28
		{Suite: SuiteAESCM128SHA1_80, LocalKey: k[:16], RemoteKey: k},
		{Suite: SuiteAESCM128SHA1_80},
	} {
		_, err := Run(t.Context(), SessionConfig{Conn: c, Remote: addrOf(c), PayloadType: 0, SRTP: keys})
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Run with %v: err = %v, want one-line error", keys, err)
		}
		if err != nil && strings.Contains(err.Error(), string(k)) {
			t.Errorf("error leaks the key")
		}
	}
}

// srtpPacket encrypts one RTP packet with key.
func srtpPacket(t testing.TB, suite string, key []byte, seq uint16, ts uint32) []byte {
	t.Helper()
	enc, _, err := (&SRTPKeys{Suite: suite, LocalKey: key, RemoteKey: key}).contexts()
	if err != nil {
		t.Fatal(err)
	}
	out, err := enc.EncryptRTP(nil, rtpBytes(t, 0, seq, ts, bytes.Repeat([]byte{0x55}, FrameSamples)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func srtpReceiver(t testing.TB, suite string, key []byte, remote netip.AddrPort) *receiver {
	t.Helper()
	r := newReceiver(SessionConfig{Remote: remote, PayloadType: 0, EventPT: 101, Record: true, MaxRecord: time.Second})
	var err error
	if _, r.dec, err = (&SRTPKeys{Suite: suite, LocalKey: key, RemoteKey: key}).contexts(); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReceiverSRTPReplay: a captured packet sent again is dropped and
// counted (RFC 3711 §3.3.2), as is a packet with one bit flipped.
func TestReceiverSRTPReplay(t *testing.T) {
	for _, suite := range suitePreference {
		k, _ := newKeys(t, suite)
		remote := netip.MustParseAddrPort("192.0.2.1:4000")
		r := srtpReceiver(t, suite, k, remote)
		p1, p2 := srtpPacket(t, suite, k, 1, 1000), srtpPacket(t, suite, k, 2, 1160)
		flipped := bytes.Clone(p2)
		flipped[20] ^= 1
		now := time.Unix(1e9, 0)
		r.handle(remote, p1, now)
		r.handle(remote, p1, now)
		r.handle(remote, flipped, now)
		r.handle(remote, p2, now)
		if st := r.stats(true); st.Received != 2 || st.AuthFailures != 2 || st.Ignored != 0 {
			t.Errorf("%s: received %d, auth failures %d, ignored %d; want 2, 2, 0", suite, st.Received, st.AuthFailures, st.Ignored)
		}
	}
}

// FuzzSRTPReceive feeds arbitrary datagrams from the peer's IP to an
// SRTP-keyed receiver: never a panic, every datagram accounted for once,
// and nothing that was not made with the key is ever accepted.
func FuzzSRTPReceive(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 30)
	good := srtpPacket(f, SuiteAESCM128SHA1_80, key, 1, 1000)
	f.Add(good, []byte{})
	f.Add(good, good)
	f.Add(good[:len(good)-1], good[:12])
	f.Add(rtpBytes(f, 0, 1, 1000, make([]byte, FrameSamples)), []byte{0x81, 200, 0, 6})
	for _, g := range garbage()[:9] {
		f.Add(g, g)
	}
	remote := netip.MustParseAddrPort("192.0.2.1:4000")
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := srtpReceiver(t, SuiteAESCM128SHA1_80, key, remote)
		for _, d := range [][]byte{a, b, a} {
			r.handle(remote, d, time.Unix(1e9, 0))
		}
		st := r.stats(true)
		if st.Received+st.Ignored+st.AuthFailures != 3 {
			t.Fatalf("received %d + ignored %d + auth failures %d, want 3", st.Received, st.Ignored, st.AuthFailures)
		}
		// Only the seed's genuine packet can authenticate (a forgery
		// has a 2^-80 chance), and only once (replay check).
		if st.Received > 1 || (st.Received == 1 && !bytes.Equal(a, good) && !bytes.Equal(b, good)) {
			t.Fatalf("accepted %d packets not made with the key", st.Received)
		}
	})
}
