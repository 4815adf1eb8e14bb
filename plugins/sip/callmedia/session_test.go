package callmedia

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/cusax/cusax/pkg/media"
)

// listenUDP binds a socket on ip (port chosen by the kernel), closed at
// the end of the test.
func listenUDP(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

type result struct {
	st  Stats
	err error
}

// runAsync starts Run and returns its result channel.
func runAsync(ctx context.Context, cfg SessionConfig) <-chan result {
	ch := make(chan result, 1)
	go func() {
		st, err := Run(ctx, cfg)
		ch <- result{st, err}
	}()
	return ch
}

// backToBack runs a (StopWhenDone) against a recording b and returns
// both stats once a has finished and b has drained its socket.
func backToBack(t *testing.T, a, b SessionConfig) (sa, sb Stats, took time.Duration) {
	t.Helper()
	ca, cb := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	a.Conn, a.Remote = ca, addrOf(cb)
	b.Conn, b.Remote = cb, addrOf(ca)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bres := runAsync(ctx, b)
	start := time.Now()
	sa, err := Run(t.Context(), a)
	took = time.Since(start)
	if err != nil {
		t.Fatalf("sender: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // let b read everything, even on a loaded machine
	cancel()
	rb := <-bres
	if rb.err != nil {
		t.Fatalf("receiver: %v", rb.err)
	}
	if rb.st.Peer != addrOf(ca).String() {
		t.Errorf("receiver saw peer %q, want %v", rb.st.Peer, addrOf(ca))
	}
	return sa, rb.st, took
}

func sine(freq, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/media.TelephonyRate))
	}
	return out
}

// toneShare is the share of s's energy at freq (Goertzel), 1 for a pure
// tone with a whole number of periods.
func toneShare(s []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / media.TelephonyRate
	var s1, s2, energy float64
	for _, v := range s {
		x := float64(v)
		s1, s2 = x+2*math.Cos(w)*s1-s2, s1
		energy += x * x
	}
	power := s1*s1 + s2*s2 - 2*math.Cos(w)*s1*s2
	return power / (float64(len(s)) / 2 * energy)
}

func TestRunToneBackToBack(t *testing.T) {
	t.Parallel()
	const amp = 8000
	tone := sine(1000, amp, media.TelephonyRate/2) // 0.5 s: 25 frames
	sa, sb, took := backToBack(t,
		SessionConfig{PayloadType: PayloadTypePCMA, Play: tone, StopWhenDone: true},
		SessionConfig{PayloadType: PayloadTypePCMA, Record: true},
	)
	if sa.Sent != 25 || sa.WriteErrors != 0 {
		t.Fatalf("sender stats %+v, want 25 packets sent", sa)
	}
	// Paced, not burst: 25 slots of 20 ms.
	if took < 480*time.Millisecond {
		t.Errorf("sending 25 frames took %v, want ≥ 480ms", took)
	}
	if sb.Received < sa.Sent-2 || sb.Received > sa.Sent {
		t.Fatalf("received %d of %d packets", sb.Received, sa.Sent)
	}
	if len(sb.Recorded) != len(tone) {
		t.Errorf("recorded %d samples, want %d", len(sb.Recorded), len(tone))
	}
	var e float64
	for _, v := range sb.Recorded {
		e += float64(v) * float64(v)
	}
	if rms, want := math.Sqrt(e/float64(len(sb.Recorded))), amp/math.Sqrt2; math.Abs(rms-want) > want/10 {
		t.Errorf("recorded RMS %.0f, want ≈ %.0f", rms, want)
	}
	if share := toneShare(sb.Recorded, 1000); share < 0.9 {
		t.Errorf("1 kHz carries %.2f of the recorded energy, want ≥ 0.9", share)
	}
}

func TestRunDTMFBackToBack(t *testing.T) {
	t.Parallel()
	sa, sb, _ := backToBack(t,
		SessionConfig{PayloadType: PayloadTypePCMU, EventPT: 101, DTMF: "12#", StopWhenDone: true},
		SessionConfig{PayloadType: PayloadTypePCMU, EventPT: 101},
	)
	if sa.DTMFSent != "12#" {
		t.Errorf("DTMFSent %q, want 12#", sa.DTMFSent)
	}
	if sb.DTMFReceived != "12#" {
		t.Errorf("DTMFReceived %q, want 12#", sb.DTMFReceived)
	}
	if sb.Received != sa.Sent {
		t.Errorf("received %d of %d packets", sb.Received, sa.Sent)
	}
}

func rtpBytes(t testing.TB, pt uint8, seq uint16, ts uint32, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 7}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunIgnoresForeignIP(t *testing.T) {
	t.Parallel()
	foreign, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2 (only Linux routes all of 127/8 to loopback by default): %v", err)
	}
	defer foreign.Close()
	b := listenUDP(t, "127.0.0.1")
	advertised := listenUDP(t, "127.0.0.1") // the port in the peer's SDP
	actual := listenUDP(t, "127.0.0.1")     // where the peer really sends from
	ctx, cancel := context.WithCancel(t.Context())
	res := runAsync(ctx, SessionConfig{Conn: b, Remote: addrOf(advertised), PayloadType: PayloadTypePCMU, Record: true})
	frame := make([]byte, FrameSamples)
	for i := range 10 {
		if _, err := foreign.WriteToUDPAddrPort(rtpBytes(t, 0, uint16(i), uint32(i*160), frame), addrOf(b)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if _, err := actual.WriteToUDPAddrPort(rtpBytes(t, 0, uint16(i), uint32(i*160), frame), addrOf(b)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.Received != 5 || r.st.Ignored != 10 || len(r.st.Recorded) != 5*FrameSamples {
		t.Errorf("received %d, ignored %d, recorded %d; want 5, 10, %d", r.st.Received, r.st.Ignored, len(r.st.Recorded), 5*FrameSamples)
	}
	if r.st.Peer != addrOf(actual).String() {
		t.Errorf("peer %q, want %v (symmetric RTP: any port of the remote IP)", r.st.Peer, addrOf(actual))
	}
}

// garbage is a set of datagrams no receiver may trip over.
func garbage() [][]byte {
	g := [][]byte{
		{}, {0x80}, make([]byte, 11), make([]byte, 12), // short, version 0
		{0x80, 200, 0, 6, 1, 2, 3, 4},                                            // RTCP SR, truncated
		append([]byte{0x8F, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, 1, 2),              // CSRC count 15, no CSRCs
		{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF},          // extension longer than the packet
		{0xA0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0xFF},                         // padding count beyond the payload
		{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0}, // STUN binding request
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if len(b) > 1 && b[0]>>6 == 2 && (b[1]&0x7F == 0 || b[1]&0x7F == 101) {
			b[0] = 0 // would be a valid packet of a negotiated type
		}
		g = append(g, b)
	}
	return g
}

func TestRunSurvivesGarbage(t *testing.T) {
	t.Parallel()
	b, peer := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	ctx, cancel := context.WithCancel(t.Context())
	res := runAsync(ctx, SessionConfig{Conn: b, Remote: addrOf(peer), PayloadType: PayloadTypePCMU, EventPT: 101, Record: true})
	g := garbage()
	for _, d := range g {
		if _, err := peer.WriteToUDPAddrPort(d, addrOf(b)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := peer.WriteToUDPAddrPort(rtpBytes(t, 0, 1, 1, make([]byte, FrameSamples)), addrOf(b)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.Received != 1 || r.st.Ignored != int64(len(g)) || len(r.st.Recorded) != FrameSamples {
		t.Errorf("received %d, ignored %d, recorded %d; want 1, %d, %d", r.st.Received, r.st.Ignored, len(r.st.Recorded), len(g), FrameSamples)
	}
}

func TestRunEndsWithContext(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, peer := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			st, err := Run(ctx, SessionConfig{Conn: c, Remote: addrOf(peer), PayloadType: PayloadTypePCMU, Play: make([]int16, media.TelephonyRate)})
			if err != nil {
				t.Fatalf("Run: %v, want nil when ctx ends", err)
			}
			if took := time.Since(start); took > time.Second { // generous: CI machines stall
				t.Errorf("Run returned %v after start, want ≈ 100ms", took)
			}
			if st.Sent < 3 {
				t.Errorf("sent %d packets in 100ms", st.Sent)
			}
			// The socket is still open and no longer read by Run: a
			// datagram sent now reaches the caller, without a deadline left
			// behind by Run.
			if _, err := peer.WriteToUDPAddrPort([]byte("after"), addrOf(c)); err != nil {
				t.Fatal(err)
			}
			got := make(chan string, 1)
			go func() {
				b := make([]byte, 16)
				n, _, _ := c.ReadFromUDPAddrPort(b)
				got <- string(b[:n])
			}()
			select {
			case s := <-got:
				if s != "after" {
					t.Errorf("read %q after Run, want %q", s, "after")
				}
			case <-time.After(2 * time.Second):
				c.Close()
				t.Fatal("datagram sent after Run did not reach the caller")
			}
		})
	}
}

func TestRunFatalError(t *testing.T) {
	t.Parallel()
	c, peer := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	time.AfterFunc(60*time.Millisecond, func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, SessionConfig{Conn: c, Remote: addrOf(peer), PayloadType: PayloadTypePCMU})
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Run on a closed socket: %v, want net.ErrClosed", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run noticed the closed socket after %v", took)
	}
}

func TestRunConfigErrors(t *testing.T) {
	t.Parallel()
	c := listenUDP(t, "127.0.0.1")
	remote := netip.MustParseAddrPort("127.0.0.1:9")
	for _, tt := range []struct {
		name string
		cfg  SessionConfig
		want string
	}{
		{"no socket", SessionConfig{Remote: remote}, "no socket"},
		{"no remote", SessionConfig{Conn: c}, "invalid remote"},
		{"remote port 0", SessionConfig{Conn: c, Remote: netip.MustParseAddrPort("127.0.0.1:0")}, "invalid remote"},
		{"remote on hold", SessionConfig{Conn: c, Remote: netip.MustParseAddrPort("0.0.0.0:4000")}, "unspecified"},
		{"not G.711", SessionConfig{Conn: c, Remote: remote, PayloadType: 9}, "not G.711"},
		{"DTMF without telephone-event", SessionConfig{Conn: c, Remote: remote, DTMF: "1"}, "did not accept telephone-event"},
		{"invalid digit", SessionConfig{Conn: c, Remote: remote, EventPT: 101, DTMF: "12x"}, `'x' is not a DTMF digit`},
		{"pause is not a digit", SessionConfig{Conn: c, Remote: remote, EventPT: 101, DTMF: "1,2"}, `',' is not a DTMF digit`},
		{"event PT out of range", SessionConfig{Conn: c, Remote: remote, EventPT: 128}, "invalid telephone-event"},
		{"event PT is the audio PT", SessionConfig{Conn: c, Remote: remote, PayloadType: 8, EventPT: 8}, "invalid telephone-event"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			st, err := Run(ctx, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want error containing %q", err, tt.want)
			}
			if st.Sent != 0 {
				t.Errorf("sent %d packets before failing", st.Sent)
			}
		})
	}
}

func TestSenderSchedule(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		cfg   SessionConfig
		slots string // per slot: a audio (A with marker), e event (E with marker)
	}{
		{"play only", SessionConfig{Play: make([]int16, 3*FrameSamples)}, "Aaa"},
		// Events start at 200 ms (slot 10) after silence; one event is 7
		// packets (4 updates, 3 end packets for a 100 ms tone).
		{"dtmf only", SessionConfig{DTMF: "1d"}, "Aaaaaaaaaa" + "Eeeeeee" + "Aaaaa" + "Eeeeeee"},
		// Playback pauses during the event and resumes afterwards.
		{"dtmf during play", SessionConfig{Play: make([]int16, 12*FrameSamples), DTMF: "5"}, "Aaaaaaaaaa" + "Eeeeeee" + "Aa"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Conn, tt.cfg.Remote = &net.UDPConn{}, netip.MustParseAddrPort("127.0.0.1:9")
			tt.cfg.EventPT, tt.cfg.StopWhenDone = 101, true
			s, err := newSender(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			var prev *rtp.Packet
			for i := 0; !s.done(); i++ {
				if i > 100 {
					t.Fatal("sender never done")
				}
				p := s.next()
				c := byte('a')
				if p.PayloadType == 101 {
					c = 'e'
				}
				if p.Marker {
					c -= 'a' - 'A'
				}
				got.WriteByte(c)
				if prev != nil && p.SequenceNumber != prev.SequenceNumber+1 {
					t.Errorf("slot %d: sequence %d after %d", i, p.SequenceNumber, prev.SequenceNumber)
				}
				prev = p
			}
			if got.String() != tt.slots {
				t.Errorf("slots\n got %s\nwant %s", got.String(), tt.slots)
			}
			if want := strings.ToUpper(tt.cfg.DTMF); s.dtmfSent != want {
				t.Errorf("dtmfSent %q, want %q", s.dtmfSent, want)
			}
		})
	}
}

func TestReceiverHandle(t *testing.T) {
	t.Parallel()
	frame, _ := Encode(PayloadTypePCMA, sine(1000, 4000, FrameSamples))
	ev, _ := DTMFEvents('7', 10, dtmfTone, ptime)
	remote := netip.MustParseAddrPort("192.0.2.1:4000")
	for _, tt := range []struct {
		name              string
		from              string
		b                 []byte
		received, ignored int64
		recorded          int
		dtmf              string
	}{
		{"audio from the advertised port", "192.0.2.1:4000", rtpBytes(t, 8, 1, 1, frame), 1, 0, FrameSamples, ""},
		{"audio from another port", "192.0.2.1:5555", rtpBytes(t, 8, 1, 1, frame), 1, 0, FrameSamples, ""},
		{"v4-mapped source", "[::ffff:192.0.2.1]:4000", rtpBytes(t, 8, 1, 1, frame), 1, 0, FrameSamples, ""},
		{"zoned source", "[fe80::1%eth0]:4000", rtpBytes(t, 8, 1, 1, frame), 0, 1, 0, ""},
		{"another IP", "192.0.2.2:4000", rtpBytes(t, 8, 1, 1, frame), 0, 1, 0, ""},
		{"payload type not negotiated", "192.0.2.1:4000", rtpBytes(t, 0, 1, 1, frame), 0, 1, 0, ""},
		{"comfort noise", "192.0.2.1:4000", rtpBytes(t, 13, 1, 1, []byte{40}), 0, 1, 0, ""},
		{"RTCP receiver report", "192.0.2.1:4000", []byte{0x81, 201, 0, 7, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 0}, 0, 1, 0, ""},
		{"RTCP BYE", "192.0.2.1:4000", []byte{0x81, 203, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0}, 0, 1, 0, ""},
		{"version 1", "192.0.2.1:4000", append([]byte{0x40}, rtpBytes(t, 8, 1, 1, frame)[1:]...), 0, 1, 0, ""},
		{"short", "192.0.2.1:4000", []byte{0x80, 8, 0, 1}, 0, 1, 0, ""},
		{"DTMF event", "192.0.2.1:4000", rtpBytes(t, 101, 1, 1, ev[0]), 1, 0, 0, "7"},
		{"flash-hook event", "192.0.2.1:4000", rtpBytes(t, 101, 1, 1, []byte{16, 0, 0, 160}), 1, 0, 0, ""},
		{"short event", "192.0.2.1:4000", rtpBytes(t, 101, 1, 1, []byte{1}), 1, 0, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(SessionConfig{Remote: remote, PayloadType: 8, EventPT: 101, Record: true})
			r.handle(netip.MustParseAddrPort(tt.from), tt.b, time.Now())
			st := r.stats(true)
			if st.Received != tt.received || st.Ignored != tt.ignored || len(st.Recorded) != tt.recorded || st.DTMFReceived != tt.dtmf {
				t.Errorf("received %d ignored %d recorded %d dtmf %q; want %d %d %d %q",
					st.Received, st.Ignored, len(st.Recorded), st.DTMFReceived, tt.received, tt.ignored, tt.recorded, tt.dtmf)
			}
			if tt.received > 0 && st.Peer != tt.from {
				t.Errorf("peer %q, want %q", st.Peer, tt.from)
			}
		})
	}
}

func TestReceiverDTMFCountedOnce(t *testing.T) {
	t.Parallel()
	remote := netip.MustParseAddrPort("192.0.2.1:4000")
	r := newReceiver(SessionConfig{Remote: remote, PayloadType: 0, EventPT: 96})
	ts := uint32(1000)
	for _, d := range "1123" {
		ev, _ := DTMFEvents(d, 10, dtmfTone, ptime)
		for i, pl := range ev {
			if d == '2' && i < len(ev)-3 {
				continue // only the end packets arrive: still one digit
			}
			r.handle(remote, rtpBytes(t, 96, uint16(i), ts, pl), time.Now())
		}
		ts += 7 * FrameSamples
	}
	if got := r.stats(false).DTMFReceived; got != "1123" {
		t.Errorf("DTMFReceived %q, want 1123", got)
	}
}

// run is a compressed view of a recording: count samples of value v.
type run struct {
	v int16
	n int
}

func runs(s []int16) []run {
	var out []run
	for _, v := range s {
		if len(out) > 0 && out[len(out)-1].v == v {
			out[len(out)-1].n++
		} else {
			out = append(out, run{v, 1})
		}
	}
	return out
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	type pkt struct {
		ssrc, ts uint32
		v        int16
		atMS     int
	}
	const far = 1000 + 3600*media.TelephonyRate
	for _, tt := range []struct {
		name string
		max  int64
		in   []pkt
		want []run
	}{
		{"in order", 0, []pkt{{1, 1000, 1, 0}, {1, 1160, 2, 20}}, []run{{1, 160}, {2, 160}}},
		{"loss becomes silence", 0, []pkt{{1, 1000, 1, 0}, {1, 1480, 2, 60}}, []run{{1, 160}, {0, 320}, {2, 160}}},
		{"late packet fills its gap", 0, []pkt{{1, 1000, 1, 0}, {1, 1320, 3, 40}, {1, 1160, 2, 45}}, []run{{1, 160}, {2, 160}, {3, 160}}},
		{"duplicate", 0, []pkt{{1, 1000, 1, 0}, {1, 1160, 2, 20}, {1, 1160, 2, 21}}, []run{{1, 160}, {2, 160}}},
		{"before the first packet", 0, []pkt{{1, 1000, 1, 0}, {1, 840, 9, 10}}, []run{{1, 160}}},
		{"timestamp wraps", 0, []pkt{{1, 0xFFFFFF60, 1, 0}, {1, 0, 2, 20}}, []run{{1, 160}, {2, 160}}},
		{"silence suppression", 0, []pkt{{1, 1000, 1, 0}, {1, 1000 + media.TelephonyRate, 2, 1000}}, []run{{1, 160}, {0, media.TelephonyRate - 160}, {2, 160}}},
		{"one far-future packet is dropped", 0, []pkt{{1, 1000, 1, 0}, {1, far, 9, 20}, {1, 1160, 2, 20}}, []run{{1, 160}, {2, 160}}},
		// A clock that really jumped: resynchronised at the wall-clock
		// position of the second packet (40 ms = 320 samples).
		{"sustained jump resyncs by wall clock", 0, []pkt{{1, 1000, 1, 0}, {1, far, 8, 20}, {1, far + 160, 9, 40}, {1, far + 320, 7, 60}},
			[]run{{1, 160}, {0, 160}, {9, 160}, {7, 160}}},
		{"jump back resyncs too", 0, []pkt{{1, 90000, 1, 0}, {1, 1000, 8, 20}, {1, 1160, 9, 20}}, []run{{1, 160}, {9, 160}}},
		{"new SSRC continues at the end", 0, []pkt{{1, 1000, 1, 0}, {2, 555, 2, 20}, {2, 715, 3, 40}}, []run{{1, 160}, {2, 160}, {3, 160}}},
		{"capped", 400, []pkt{{1, 1000, 1, 0}, {1, 1160, 2, 20}, {1, 1320, 3, 40}, {1, 1480, 4, 60}}, []run{{1, 160}, {2, 160}, {3, 80}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := recorder{max: tt.max}
			if r.max == 0 {
				r.max = int64(defaultMaxRecord/time.Second) * media.TelephonyRate
			}
			t0 := time.Now()
			for _, p := range tt.in {
				s := make([]int16, FrameSamples)
				for i := range s {
					s[i] = p.v
				}
				r.put(p.ssrc, p.ts, s, t0.Add(time.Duration(p.atMS)*time.Millisecond))
			}
			if got := runs(r.buf); !equalRuns(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func equalRuns(a, b []run) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTransient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "write", Err: os.NewSyscallError("sendto", syscall.ECONNREFUSED)}, true},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("sendto", syscall.EHOSTUNREACH)}, true},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("sendto", syscall.ENOBUFS)}, true},
		{&net.OpError{Op: "write", Err: net.ErrClosed}, false},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("sendto", syscall.EINVAL)}, false},
	} {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// FuzzReceive feeds arbitrary datagrams from the peer's IP through the
// receive path: it must never panic, and the recording must stay within
// its cap however the timestamps jump.
func FuzzReceive(f *testing.F) {
	frame := make([]byte, FrameSamples)
	f.Add(rtpBytes(f, 0, 1, 1000, frame), rtpBytes(f, 0, 2, 1160, frame), uint16(20))
	f.Add(rtpBytes(f, 0, 1, 1000, frame), rtpBytes(f, 0, 2, 0x7FFFFFFF, frame), uint16(0))
	f.Add(rtpBytes(f, 101, 1, 1000, []byte{11, 0x8A, 3, 0x20}), []byte{0x81, 200, 0, 6}, uint16(5))
	for _, g := range garbage()[:9] {
		f.Add(g, g, uint16(1))
	}
	remote := netip.MustParseAddrPort("192.0.2.1:4000")
	f.Fuzz(func(t *testing.T, a, b []byte, gapMS uint16) {
		r := newReceiver(SessionConfig{Remote: remote, PayloadType: 0, EventPT: 101, Record: true, MaxRecord: time.Second})
		at := time.Unix(1e9, 0)
		for i, d := range [][]byte{a, b, a, b} {
			r.handle(remote, d, at.Add(time.Duration(i*int(gapMS))*time.Millisecond))
		}
		st := r.stats(true)
		if st.Received+st.Ignored != 4 {
			t.Fatalf("received %d + ignored %d, want 4", st.Received, st.Ignored)
		}
		if len(st.Recorded) > media.TelephonyRate {
			t.Fatalf("recorded %d samples, cap is %d", len(st.Recorded), media.TelephonyRate)
		}
		if len(st.DTMFReceived) > 4 {
			t.Fatalf("DTMFReceived %q from 4 packets", st.DTMFReceived)
		}
	})
}
