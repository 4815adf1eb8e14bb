package callmedia

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// fixedRand yields SSRC 0x01020304, sequence 0xFFFE (to exercise
// wrap-around) and timestamp 0xFFFFFF00.
func fixedRand() *bytes.Reader {
	return bytes.NewReader([]byte{1, 2, 3, 4, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0x00})
}

func TestPacketizerAudio(t *testing.T) {
	p, err := NewPacketizer(PayloadTypePCMA, fixedRand())
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, FrameSamples)
	type want struct {
		seq    uint16
		ts     uint32
		marker bool
	}
	var got []want
	for range 3 {
		got = append(got, headerOf(t, p.Audio(frame)))
	}
	p.Silence(2)
	got = append(got, headerOf(t, p.Audio(frame)))
	wants := []want{
		{0xFFFE, 0xFFFFFF00, true},
		{0xFFFF, 0xFFFFFFA0, false},
		{0x0000, 0x00000040, false}, // both wrap modulo 2^16 / 2^32
		{0x0001, 0x00000040 + 3*160, true},
	}
	for i := range wants {
		if got[i] != wants[i] {
			t.Errorf("packet %d = %+v, want %+v", i, got[i], wants[i])
		}
	}
	if p.SSRC() != 0x01020304 {
		t.Fatalf("ssrc %#x", p.SSRC())
	}
}

func headerOf(t *testing.T, pkt *rtp.Packet) struct {
	seq    uint16
	ts     uint32
	marker bool
} {
	t.Helper()
	raw, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back rtp.Packet
	if err := back.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if back.Version != 2 || back.SSRC != 0x01020304 {
		t.Fatalf("header %+v", back.Header)
	}
	return struct {
		seq    uint16
		ts     uint32
		marker bool
	}{back.SequenceNumber, back.Timestamp, back.Marker}
}

func TestPacketizerDTMF(t *testing.T) {
	p, err := NewPacketizer(PayloadTypePCMU, fixedRand())
	if err != nil {
		t.Fatal(err)
	}
	p.Audio(make([]byte, FrameSamples)) // seq 0xFFFE, ts 0xFFFFFF00
	events, err := DTMFEvents('5', 10, 100*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	pkts := p.DTMF(PayloadTypeTelephoneEvent, events)
	if len(pkts) != len(events) {
		t.Fatalf("%d packets", len(pkts))
	}
	start := uint32(0xFFFFFFA0)
	for i, pkt := range pkts {
		if pkt.Timestamp != start {
			t.Errorf("packet %d timestamp %#x, want event start %#x", i, pkt.Timestamp, start)
		}
		if want := uint16(0xFFFF) + uint16(i); pkt.SequenceNumber != want {
			t.Errorf("packet %d seq %#x, want %#x", i, pkt.SequenceNumber, want)
		}
		if pkt.Marker != (i == 0) || pkt.PayloadType != 101 || pkt.SSRC != p.SSRC() {
			t.Errorf("packet %d header %+v", i, pkt.Header)
		}
	}
	next := p.Audio(make([]byte, FrameSamples))
	// 7 packets sent one per 20 ms: the clock moved 7*160 = 1120 > 800.
	if next.SequenceNumber != 0xFFFF+uint16(len(pkts)) || next.Timestamp != start+1120 || !next.Marker {
		t.Fatalf("audio after event: seq %#x ts %#x marker %v", next.SequenceNumber, next.Timestamp, next.Marker)
	}
}

func TestPacketizerDTMFLongEvent(t *testing.T) {
	p, err := NewPacketizer(PayloadTypePCMU, fixedRand())
	if err != nil {
		t.Fatal(err)
	}
	// Hand-made payloads whose duration (1000 units, 6.25 frames) exceeds
	// the packet count: the clock must move at least past the tone.
	p.DTMF(PayloadTypeTelephoneEvent, [][]byte{{1, 0x80, 0x03, 0xE8}})
	if got := p.Audio(nil).Timestamp; got != 0x00000360 { // 0xFFFFFF00 + 7*160, wrapped
		t.Fatalf("timestamp after event %#x", got)
	}
}

func TestNewPacketizerRandomFailure(t *testing.T) {
	_, err := NewPacketizer(0, bytes.NewReader([]byte{1, 2}))
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewPacketizerRandom(t *testing.T) {
	a, err := NewPacketizer(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPacketizer(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.SSRC() == b.SSRC() && a.seq == b.seq {
		t.Fatal("two packetizers got the same random state")
	}
}
