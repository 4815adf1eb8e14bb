package callmedia

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDTMFEventsDigit5(t *testing.T) {
	// 100 ms at 20 ms ptime = 800 units: updates at 160..640, then end ×3.
	got, err := DTMFEvents('5', 10, 100*time.Millisecond, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{
		{0x05, 0x0A, 0x00, 0xA0}, // 160
		{0x05, 0x0A, 0x01, 0x40}, // 320
		{0x05, 0x0A, 0x01, 0xE0}, // 480
		{0x05, 0x0A, 0x02, 0x80}, // 640
		{0x05, 0x8A, 0x03, 0x20}, // E bit, 800
		{0x05, 0x8A, 0x03, 0x20},
		{0x05, 0x8A, 0x03, 0x20},
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("packet %d = % x, want % x", i, got[i], want[i])
		}
	}
}

func TestDTMFEvents(t *testing.T) {
	tests := []struct {
		name     string
		digit    rune
		volume   int
		dur, pt  time.Duration
		code     byte
		packets  int
		errMatch string
	}{
		{name: "star", digit: '*', volume: 0, dur: 60 * time.Millisecond, pt: 20 * time.Millisecond, code: 10, packets: 5},
		{name: "hash", digit: '#', volume: 63, dur: 40 * time.Millisecond, pt: 20 * time.Millisecond, code: 11, packets: 4},
		{name: "D lower", digit: 'd', volume: 10, dur: 10 * time.Millisecond, pt: 20 * time.Millisecond, code: 15, packets: 3},
		{name: "A", digit: 'A', volume: 10, dur: 50 * time.Millisecond, pt: 20 * time.Millisecond, code: 12, packets: 5},
		{name: "bad digit", digit: 'x', volume: 10, dur: time.Second, pt: 20 * time.Millisecond, errMatch: "not a DTMF digit"},
		{name: "bad volume", digit: '1', volume: 64, dur: time.Second, pt: 20 * time.Millisecond, errMatch: "volume"},
		{name: "zero duration", digit: '1', volume: 1, dur: 0, pt: 20 * time.Millisecond, errMatch: "positive"},
		{name: "too long", digit: '1', volume: 1, dur: 9 * time.Second, pt: 20 * time.Millisecond, errMatch: "16-bit"},
		{name: "tiny ptime", digit: '1', volume: 1, dur: time.Second, pt: time.Microsecond, errMatch: "shorter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DTMFEvents(tt.digit, tt.volume, tt.dur, tt.pt)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %v, want %q", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.packets {
				t.Fatalf("%d packets, want %d", len(got), tt.packets)
			}
			for i, p := range got {
				d, end, _, err := ParseDTMF(p)
				if err != nil {
					t.Fatal(err)
				}
				if p[0] != tt.code || int(p[1]&0x3F) != tt.volume || p[1]&0x40 != 0 {
					t.Fatalf("packet %d = % x", i, p)
				}
				if wantEnd := i >= len(got)-3; end != wantEnd {
					t.Fatalf("packet %d end = %v, want %v", i, end, wantEnd)
				}
				_ = d
			}
		})
	}
}

func TestParseDTMF(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		digit    rune
		end      bool
		dur      uint16
		errMatch string
	}{
		{name: "5 end", in: []byte{5, 0x8A, 0x03, 0x20}, digit: '5', end: true, dur: 800},
		{name: "hash", in: []byte{11, 0x0A, 0x00, 0xA0}, digit: '#', dur: 160},
		{name: "D", in: []byte{15, 0, 0, 1}, digit: 'D', dur: 1},
		{name: "flash", in: []byte{16, 0, 0, 1}, errMatch: "not a DTMF digit"},
		{name: "short", in: []byte{1, 2, 3}, errMatch: "3 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, end, dur, err := ParseDTMF(tt.in)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %v, want %q", err, tt.errMatch)
				}
				return
			}
			if err != nil || d != tt.digit || end != tt.end || dur != tt.dur {
				t.Fatalf("got %q %v %d %v", d, end, dur, err)
			}
		})
	}
}
