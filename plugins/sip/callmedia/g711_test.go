package callmedia

import (
	"math"
	"testing"

	"github.com/cusax/cusax/pkg/media"
)

func TestG711RoundTrip(t *testing.T) {
	frame := make([]int16, FrameSamples)
	for i := range frame {
		frame[i] = int16(20000 * math.Sin(2*math.Pi*440*float64(i)/media.TelephonyRate))
	}
	for _, tt := range []struct {
		name string
		pt   uint8
	}{{"PCMU", PayloadTypePCMU}, {"PCMA", PayloadTypePCMA}} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := Encode(tt.pt, frame)
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) != FrameSamples {
				t.Fatalf("payload %d bytes, want %d", len(enc), FrameSamples)
			}
			dec, err := Decode(tt.pt, enc)
			if err != nil {
				t.Fatal(err)
			}
			for i := range frame {
				// G.711 is logarithmic: the quantisation step grows with
				// amplitude to at most 1/16 of the segment (≈ 3 % here).
				diff := math.Abs(float64(dec[i]) - float64(frame[i]))
				if diff > 16+0.04*math.Abs(float64(frame[i])) {
					t.Fatalf("sample %d: %d → %d", i, frame[i], dec[i])
				}
			}
		})
	}
}

func TestG711KnownValues(t *testing.T) {
	// ITU-T G.711: silence encodes to 0xFF in μ-law and 0xD5 in A-law.
	u, _ := Encode(PayloadTypePCMU, []int16{0})
	a, _ := Encode(PayloadTypePCMA, []int16{0})
	if u[0] != 0xFF || a[0] != 0xD5 {
		t.Fatalf("silence = %#x / %#x, want 0xff / 0xd5", u[0], a[0])
	}
}

func TestG711BadPayloadType(t *testing.T) {
	if _, err := Encode(9, nil); err == nil {
		t.Fatal("encode: want error for PT 9")
	}
	if _, err := Decode(18, nil); err == nil {
		t.Fatal("decode: want error for PT 18")
	}
}

func TestFrames(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		frames int
	}{{"empty", 0, 0}, {"one", 160, 1}, {"padded", 161, 2}, {"second", 8000, 50}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make([]int16, tt.n)
			for i := range in {
				in[i] = 1
			}
			f := Frames(in)
			if len(f) != tt.frames {
				t.Fatalf("%d frames, want %d", len(f), tt.frames)
			}
			for _, fr := range f {
				if len(fr) != FrameSamples {
					t.Fatalf("frame of %d samples", len(fr))
				}
			}
			if tt.n%FrameSamples != 0 && f[len(f)-1][FrameSamples-1] != 0 {
				t.Fatal("last frame not padded with silence")
			}
		})
	}
}
