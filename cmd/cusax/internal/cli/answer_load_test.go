package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
)

// Load shape (issue 15, "Must show": Load): 50 calls from sipp at 2 calls/s
// to `cusax answer --concurrency 4`. Each answered call plays a 3 s greeting
// and is then hung up by us, so about 6 calls would be in progress at once:
// some must get 486. The whole run is about 25 s of arrivals plus the last
// greeting.
const (
	loadCalls       = 50
	loadRate        = 2.0
	loadConcurrency = 4
	loadGreeting    = 3 * time.Second
)

// loadRTPStream is what the media peer saw of one SSRC: RFC 3550 §6.4.1
// interarrival jitter as a receiver computes it (A.8), in timestamp units.
type loadRTPStream struct {
	packets     int
	jitter      float64
	transit     int64
	havePrev    bool
	maxJitter   float64
	outOfOrder  int
	lastSeq     uint16
	firstLocal  time.Time
	lastArrival time.Time
}

// loadRTPPeer is the callee's media peer: every call's offer sends cusax's RTP
// here (sipp -rtp_echo cannot timestamp what it receives), and each stream
// is told apart by its SSRC.
type loadRTPPeer struct {
	conn    *net.UDPConn
	mu      sync.Mutex
	streams map[uint32]*loadRTPStream
	done    chan struct{}
}

func startLoadRTPPeer(t *testing.T) *loadRTPPeer {
	t.Helper()
	var conn *net.UDPConn
	// An even port (RFC 3550 §11), as an offer would name.
	for range 50 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if c.LocalAddr().(*net.UDPAddr).Port%2 == 0 {
			conn = c
			break
		}
		c.Close()
	}
	if conn == nil {
		t.Fatal("no even UDP port for the RTP peer")
	}
	_ = conn.SetReadBuffer(4 << 20)
	p := &loadRTPPeer{conn: conn, streams: map[uint32]*loadRTPStream{}, done: make(chan struct{})}
	go p.serve()
	t.Cleanup(func() { conn.Close(); <-p.done })
	return p
}

func (p *loadRTPPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *loadRTPPeer) serve() {
	defer close(p.done)
	buf := make([]byte, 1500)
	for {
		n, err := p.conn.Read(buf)
		arrival := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// RTP fixed header (RFC 3550 §5.1): V=2, PT, sequence, timestamp, SSRC.
		if n < 12 || buf[0]>>6 != 2 {
			continue
		}
		pt := buf[1] & 0x7f
		if pt != 0 && pt != 8 {
			continue // telephone-event or anything else: not the audio clock
		}
		seq := binary.BigEndian.Uint16(buf[2:])
		ts := binary.BigEndian.Uint32(buf[4:])
		ssrc := binary.BigEndian.Uint32(buf[8:])
		p.mu.Lock()
		s := p.streams[ssrc]
		if s == nil {
			s = &loadRTPStream{firstLocal: arrival}
			p.streams[ssrc] = s
		}
		// RFC 3550 §6.4.1 / A.8: transit = arrival (in timestamp units,
		// 8000 Hz for G.711) - RTP timestamp; D = transit - previous transit;
		// J += (|D| - J) / 16.
		arr := arrival.Sub(s.firstLocal).Nanoseconds() * 8000 / int64(time.Second)
		transit := arr - int64(ts)
		if s.havePrev {
			d := float64(transit - s.transit)
			s.jitter += (math.Abs(d) - s.jitter) / 16
			s.maxJitter = max(s.maxJitter, s.jitter)
			if int16(seq-s.lastSeq) <= 0 {
				s.outOfOrder++
			}
		}
		s.transit, s.havePrev, s.lastSeq, s.lastArrival = transit, true, seq, arrival
		s.packets++
		p.mu.Unlock()
	}
}

func (p *loadRTPPeer) snapshot() map[uint32]loadRTPStream {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[uint32]loadRTPStream, len(p.streams))
	for k, v := range p.streams {
		out[k] = *v
	}
	return out
}

// loadReport is the part of a `cusax answer --json` line this test reads.
type loadReport struct {
	CallID      string     `json:"call_id"`
	Caller      string     `json:"caller"`
	Verdict     string     `json:"verdict"`
	Action      string     `json:"action"`
	Status      int        `json:"status_code"`
	AnsweredAt  *time.Time `json:"answered_at"`
	DurationMS  int64      `json:"duration_ms"`
	HungUpBy    string     `json:"hung_up_by"`
	RTPSent     int64      `json:"rtp_sent"`
	RTPReceived int64      `json:"rtp_received"`
	Error       string     `json:"error"`
}

// loadPercentile is the nearest-rank percentile q (0..1) of sorted d.
func loadPercentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// TestAnswerLoad: 50 calls from sipp at 2 calls/s through Kamailio to
// `cusax answer --json --concurrency 4 --max-calls 50` (the real binary).
// Every call sipp placed ends as configured, answered (200, a 3 s greeting,
// our BYE) or refused 486 beyond the concurrency, and appears exactly once
// in the JSON lines with the status sipp got; never more than 4 answered
// calls overlap. Figures (logged, not asserted): INVITE→200 median and p99
// as sipp measured them, and the RFC 3550 interarrival jitter of the RTP
// cusax sent, measured by a UDP receiver of the test's own that every
// offer names as its media address. `make bench-answer` prints them.
func TestAnswerLoad(t *testing.T) {
	answerLoad(t, "answer-load", "loadans", loadCalls, loadRate, loadGreeting, false)
}

// TestAnswerLoadBurst: the hostile case of the same promise, 20 calls
// arriving within half a second (40 calls/s) to --concurrency 4 with a 1 s
// greeting: the listener must hand every one over at once, answered or
// 486, none lost, none answered beyond the limit.
func TestAnswerLoadBurst(t *testing.T) {
	answerLoad(t, "answer-burst", "burstans", 20, 40, time.Second, false)
}

// TestAnswerLoadSlowReader: a slow reader of the call reports. cusax's
// stdout is a 4 KiB pipe nobody reads until sipp has finished all its
// calls: 50 calls at 25 calls/s, --concurrency 4, must all be answered or
// refused meanwhile (sipp finishing is the proof: it waits for every final
// response and BYE), and every JSON line must come out once the reader
// catches up, none lost.
func TestAnswerLoadSlowReader(t *testing.T) {
	answerLoad(t, "answer-slow-reader", "slowans", 50, 25, 500*time.Millisecond, true)
}

// answerLoad runs the load test for calls at rate with a greeting of that
// length, as user name, and logs its figures as "BENCH tag …". With
// slowReader, stdout is read only once sipp is done.
func answerLoad(t *testing.T, tag, name string, calls int, rate float64, greetingLen time.Duration, slowReader bool) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, name, "")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// A 440 Hz greeting: with --play and no --duration the call ends
	// when it has played (docs/answer.md), with our BYE.
	samples := make([]int16, int(greetingLen.Seconds()*media.TelephonyRate))
	for i := range samples {
		samples[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/media.TelephonyRate))
	}
	var wav bytes.Buffer
	if err := media.WriteWAV(&wav, media.TelephonyRate, samples); err != nil {
		t.Fatal(err)
	}
	greeting := filepath.Join(t.TempDir(), "greeting.wav")
	if err := os.WriteFile(greeting, wav.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	peer := startLoadRTPPeer(t)
	cmd := exec.CommandContext(ctx, cusaxBinary(t), "--config", c.home+"/cusax/config.toml", "answer", "--json",
		"--concurrency", fmt.Sprint(loadConcurrency), "--max-calls", fmt.Sprint(calls), "--ring", "0", "--play", greeting)
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "XDG_CONFIG_HOME="+c.home, "XDG_DATA_HOME="+c.home+"/data", "XDG_CACHE_HOME="+c.home+"/cache", "CUSAX_PLUGIN_PATH=")
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var unread *os.File // slowReader: stdout's pipe, not read yet
	if slowReader {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		// The smallest pipe (one page): 50 JSON lines are several times more.
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
			t.Fatalf("F_SETPIPE_SZ: %v", err)
		}
		defer r.Close()
		defer w.Close()
		unread, cmd.Stdout = r, w
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if w, ok := cmd.Stdout.(*os.File); ok {
		w.Close() // the child has its copy: EOF for the reader when it exits
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	waitFor(t, "cusax answer to register", 20*time.Second, func() bool {
		return strings.Contains(stderr.String(), "cusax: answering calls to")
	})

	sdp := strings.Join([]string{
		"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 8 101", peer.port()),
		"a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=sendrecv",
	}, "\n")
	res, err := bed.SippLoad(ctx, testbed.SippLoadOptions{
		From: "bob", To: "sip:" + name + "@" + bed.Domain, Calls: calls, Rate: rate, SDP: sdp,
		ByeWithin: greetingLen + 20*time.Second,
	})
	if err != nil {
		t.Fatalf("%v\ncusax stderr:\n%s", err, stderr.String())
	}
	copied := make(chan error, 1)
	if unread != nil {
		select {
		case <-exited:
			t.Fatal("cusax exited before its stdout was read: the pipe never filled, the test shows nothing")
		default:
		}
		go func() {
			_, err := io.Copy(&stdout, unread)
			copied <- err
		}()
	} else {
		copied <- nil
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("cusax answer after %d calls: %v\nstderr:\n%s", calls, err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("cusax answer still running 30 s after sipp's last call\nstderr:\n%s", stderr.String())
	}
	select {
	case err := <-copied:
		if err != nil {
			t.Fatalf("reading cusax's stdout: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cusax's stdout not at EOF 10 s after it exited")
	}

	// sipp's side: every call placed ended as the scenario allows.
	if res.Failed != 0 || res.Successful != calls || len(res.Calls) != calls {
		t.Fatalf("sipp: %d successful, %d failed, %d calls logged; want %d, 0, %d\n%s", res.Successful, res.Failed, len(res.Calls), calls, calls, res.Log)
	}
	sippStatus := map[string]int{}
	perStatus := map[int]int{}
	var refused []time.Duration
	for _, call := range res.Calls {
		if call.Status == 486 {
			refused = append(refused, call.Final)
		}
		if _, dup := sippStatus[call.CallID]; dup {
			t.Errorf("sipp logged Call-ID %s twice", call.CallID)
		}
		sippStatus[call.CallID] = call.Status
		perStatus[call.Status]++
	}

	// cusax's side: one JSON line per call, matching sipp's.
	var reports []loadReport
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r loadReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("JSON line %q: %v", line, err)
		}
		reports = append(reports, r)
	}
	if len(reports) != calls {
		t.Errorf("%d JSON lines, want %d", len(reports), calls)
	}
	seen := map[string]bool{}
	var answered []loadReport
	var sent int64
	for _, r := range reports {
		if seen[r.CallID] {
			t.Errorf("Call-ID %s reported twice", r.CallID)
		}
		seen[r.CallID] = true
		want, ok := sippStatus[r.CallID]
		switch {
		case !ok:
			t.Errorf("Call-ID %s reported by cusax, not placed by sipp: %+v", r.CallID, r)
		case r.Status != want:
			t.Errorf("Call-ID %s: cusax says %d, sipp got %d: %+v", r.CallID, r.Status, want, r)
		case want == 200 && (r.Action != "answered" || r.HungUpBy != "us" || r.AnsweredAt == nil || r.RTPSent == 0 || r.Error != ""):
			t.Errorf("answered call %s: %+v (want answered, hung up by us after the greeting, RTP sent)", r.CallID, r)
		case want == 486 && r.Action != "busy":
			t.Errorf("486 call %s: action %q, want busy (beyond --concurrency)", r.CallID, r.Action)
		}
		if r.Status == 200 {
			answered = append(answered, r)
			sent += r.RTPSent
		}
	}
	for id := range sippStatus {
		if !seen[id] {
			t.Errorf("Call-ID %s placed by sipp is missing from the JSON lines", id)
		}
	}
	// Calls arrive faster than --concurrency calls of this length can end
	// (6 at once at 2/s with 3 s; 20 within 0.5 s with 1 s), so the limit
	// must have refused some.
	if perStatus[486] == 0 || perStatus[200] < loadConcurrency {
		t.Errorf("outcomes %v: want some 486 beyond --concurrency %d and at least %d answered", perStatus, loadConcurrency, loadConcurrency)
	}
	// Never more than --concurrency answered calls at once.
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	for _, r := range answered {
		edges = append(edges, edge{*r.AnsweredAt, 1}, edge{r.AnsweredAt.Add(time.Duration(r.DurationMS) * time.Millisecond), -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].d < edges[j].d
		}
		return edges[i].at.Before(edges[j].at)
	})
	peak, cur := 0, 0
	for _, e := range edges {
		cur += e.d
		peak = max(peak, cur)
	}
	if peak > loadConcurrency {
		t.Errorf("%d answered calls overlapped, --concurrency is %d", peak, loadConcurrency)
	}

	// The media peer: one stream per answered call, every packet sent arrived
	// (loopback), in order.
	streams := peer.snapshot()
	var got int64
	var jitters []float64
	reordered := 0
	for _, s := range streams {
		got += int64(s.packets)
		jitters = append(jitters, s.jitter/8) // timestamp units (8 kHz) → ms
		reordered += s.outOfOrder
	}
	if len(streams) != len(answered) || got != sent {
		t.Errorf("media peer: %d streams with %d packets; cusax answered %d calls and reports %d packets sent", len(streams), got, len(answered), sent)
	}

	setup := slices.Clone(res.Setup)
	slices.Sort(setup)
	var first time.Duration
	var warm []time.Duration
	if len(res.Setup) > 0 {
		// The first answered call reads the roster and vCards cold; the
		// others show the steady state.
		first, warm = res.Setup[0], slices.Clone(res.Setup[1:])
		slices.Sort(warm)
	}
	slices.Sort(jitters)
	var jmax float64
	if len(jitters) > 0 {
		jmax = jitters[len(jitters)-1]
	}
	t.Logf("BENCH "+tag+" calls=%d rate=%g/s concurrency=%d answered=%d busy486=%d elapsed=%s",
		calls, rate, loadConcurrency, perStatus[200], perStatus[486], res.Elapsed.Round(100*time.Millisecond))
	t.Logf("BENCH "+tag+" invite_to_200 n=%d median=%s p99=%s max=%s first=%s; without the first: p99=%s max=%s (sipp -trace_rtt, ms resolution, authenticated INVITE to 200)",
		len(setup), loadPercentile(setup, 0.5), loadPercentile(setup, 0.99), loadPercentile(setup, 1), first, loadPercentile(warm, 0.99), loadPercentile(warm, 1))
	slices.Sort(refused)
	t.Logf("BENCH "+tag+" invite_to_486 n=%d median=%s p99=%s max=%s (sipp clock ticks, ms: the 407, after which the authenticated INVITE goes out at once, to the 486)",
		len(refused), loadPercentile(refused, 0.5), loadPercentile(refused, 0.99), loadPercentile(refused, 1))
	t.Logf("BENCH "+tag+" rtp_jitter streams=%d packets=%d median=%.3fms max=%.3fms reordered=%d (RFC 3550 §6.4.1, final J per stream)",
		len(streams), got, loadMedian(jitters), jmax, reordered)
}

func loadMedian(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}
