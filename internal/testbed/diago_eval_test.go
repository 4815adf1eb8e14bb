//go:build diagoeval

// Prototype for docs/diago-evaluation.md, not part of the test suite: diago
// v0.42 answers a sipp call that comes through the bed's Kamailio, plays a
// 1 s greeting and records the caller. Run with
//
//	go test -tags diagoeval -count=1 -timeout 180s -run TestDiagoEval -v ./internal/testbed/
package testbed

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// writeTone writes a 16-bit PCM mono WAV of d at 8 kHz, a 440 Hz tone.
func writeTone(t *testing.T, path string, d time.Duration) {
	n := int(d.Seconds() * 8000)
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wavStats reads a 16-bit PCM WAV (diago's stereo recording: left is what
// was read from the caller, right what was written): frames and the RMS
// of each channel.
func wavStats(t *testing.T, path string) (frames int, rms [2]float64, channels int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" {
		t.Fatalf("recording %s: not a WAV (%d bytes)", path, len(b))
	}
	channels = int(binary.LittleEndian.Uint16(b[22:]))
	// find the data chunk
	off := 12
	for off+8 <= len(b) {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		if id == "data" {
			data := b[off+8:]
			if size < len(data) && size > 0 {
				data = data[:size]
			}
			var sum [2]float64
			frames = len(data) / (2 * channels)
			for i := 0; i < frames; i++ {
				for c := 0; c < channels && c < 2; c++ {
					v := float64(int16(binary.LittleEndian.Uint16(data[2*(i*channels+c):])))
					sum[c] += v * v
				}
			}
			for c := range sum {
				if frames > 0 {
					rms[c] = math.Sqrt(sum[c] / float64(frames))
				}
			}
			return frames, rms, channels
		}
		off += 8 + size
	}
	t.Fatalf("recording %s: no data chunk", path)
	return
}

type countWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) { c.n.Add(1); return c.w.Write(p) }

func TestDiagoEvalAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test bed")
	}
	b := Start(t, Options{})
	alice, _ := b.account("alice")
	dir := t.TempDir()
	greeting := filepath.Join(dir, "greeting.wav")
	writeTone(t, greeting, time.Second)
	recPath := filepath.Join(dir, "rec.wav")

	port, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("alice"), sipgo.WithUserAgentHostname(b.Domain))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	dg := diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))

	type result struct {
		answered      time.Time
		played        int64
		frames        int64
		hungUpByPeer  bool
		err           error
		codec, remote string
	}
	done := make(chan result, 1)
	err = dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		var r result
		defer func() { done <- r }()
		_ = d.Trying()
		_ = d.Ringing()
		m, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			r.err = err
			return
		}
		r.answered = time.Now()
		f, err := os.OpenFile(recPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			r.err = err
			return
		}
		defer f.Close()
		rec, err := m.AudioStereoRecordingCreate(f)
		if err != nil {
			r.err = err
			return
		}
		go func() { // the caller's audio flows into the recording while it is read
			buf := make([]byte, 1600)
			for {
				if _, err := rec.AudioReader().Read(buf); err != nil {
					return
				}
			}
		}()
		p0, err := m.PlaybackCreate()
		if err != nil {
			r.err = err
			return
		}
		r.codec = p0.Codec().Name
		cw := &countWriter{w: rec.AudioWriter()}
		pb := diago.NewAudioPlayback(cw, p0.Codec())
		r.played, r.err = pb.PlayFile(greeting)
		r.frames = cw.n.Load()
		select {
		case <-d.Context().Done(): // BYE from the caller
			r.hungUpByPeer = true
		case <-ctx.Done():
		}
		if err := rec.Close(); err != nil && r.err == nil {
			r.err = err
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	kam, err := net.ResolveUDPAddr("udp", b.SIPUDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	registered := make(chan struct{})
	regErr := make(chan error, 1)
	go func() {
		regErr <- dg.Register(ctx, sip.Uri{Scheme: "sip", User: "alice", Host: b.Domain}, diago.RegisterOptions{
			Username: "alice", Password: alice.Password, ProxyHost: kam.String(), Expiry: 60 * time.Second,
			OnRegistered: func() { close(registered) },
		})
	}()
	select {
	case <-registered:
	case err := <-regErr:
		t.Fatalf("diago register: %v", err)
	case <-ctx.Done():
		t.Fatal("diago register: timeout")
	}

	start := time.Now()
	run, err := b.runSippUAC(ctx, sippUACOptions{From: "bob", To: "sip:alice@" + b.Domain, Expect: 200, Pcap: sippPCMA, Hold: 2500 * time.Millisecond})
	if run.Dir != "" {
		defer os.RemoveAll(run.Dir)
	}
	if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("diago handler did not end")
	}
	if r.err != nil {
		t.Fatalf("diago: %v", r.err)
	}
	frames, rms, ch := wavStats(t, recPath)
	t.Logf("setup (sipp, first INVITE to 200): %v; whole call %v", run.Setup, time.Since(start).Round(time.Millisecond))
	t.Logf("codec %s; played %d PCM bytes in %d writes; hung up by caller: %v", r.codec, r.played, r.frames, r.hungUpByPeer)
	t.Logf("recording: %d channels, %d frames (%.2f s), RMS caller %.0f, ours %.0f", ch, frames, float64(frames)/8000, rms[0], rms[1])
	if !r.hungUpByPeer || r.played != 16000 || frames < 8000 || rms[0] < 100 {
		t.Errorf("want: caller hangs up, 16000 bytes played, ≥1 s recorded with caller audio")
	}
	_ = strconv.Itoa
	_ = errors.New
}
