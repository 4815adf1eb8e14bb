package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// wavBytes builds a RIFF/WAVE file from a fmt body, optional extra chunks
// placed before data, and a data payload whose declared size may lie.
func wavBytes(fmtBody []byte, extra []byte, data []byte, declaredData uint32) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(0)) // RIFF size is ignored by ReadWAV
	b.WriteString("WAVE")
	if fmtBody != nil {
		b.WriteString("fmt ")
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(fmtBody)))
		b.Write(fmtBody)
	}
	b.Write(extra)
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, declaredData)
	b.Write(data)
	return b.Bytes()
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], format)
	binary.LittleEndian.PutUint16(b[2:], channels)
	binary.LittleEndian.PutUint32(b[4:], rate)
	align := channels * bits / 8
	binary.LittleEndian.PutUint32(b[8:], rate*uint32(align))
	binary.LittleEndian.PutUint16(b[12:], align)
	binary.LittleEndian.PutUint16(b[14:], bits)
	return b
}

func extensibleChunk(sub uint16, channels uint16, rate uint32, bits uint16) []byte {
	b := fmtChunk(wavFormatExtensible, channels, rate, bits)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)   // cbSize
	binary.LittleEndian.PutUint16(ext[2:], bits) // valid bits
	binary.LittleEndian.PutUint32(ext[4:], 3)    // channel mask
	binary.LittleEndian.PutUint16(ext[8:], sub)  // sub-format GUID prefix
	copy(ext[10:], "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
	return append(b, ext...)
}

func TestWAVRoundTrip(t *testing.T) {
	samples := []int16{0, 1, -1, math.MaxInt16, math.MinInt16, 1234, -4321}
	var buf bytes.Buffer
	if err := WriteWAV(&buf, 8000, samples); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 44+2*len(samples) {
		t.Fatalf("file length %d, want %d", buf.Len(), 44+2*len(samples))
	}
	p, err := ReadWAV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate != 8000 || p.Channels != 1 {
		t.Fatalf("got rate %d channels %d", p.Rate, p.Channels)
	}
	if !slicesEqual(p.Samples, samples) {
		t.Fatalf("samples %v, want %v", p.Samples, samples)
	}
}

func slicesEqual(a, b []int16) bool {
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

func TestWriteWAVInvalidRate(t *testing.T) {
	if err := WriteWAV(&bytes.Buffer{}, 0, nil); err == nil {
		t.Fatal("want error for rate 0")
	}
}

func TestReadWAV(t *testing.T) {
	stereo := []byte{1, 0, 2, 0, 3, 0, 4, 0}
	list := append([]byte("LIST\x03\x00\x00\x00abc"), 0) // odd size + pad byte
	tests := []struct {
		name     string
		in       []byte
		want     *PCM
		wantErr  error
		errMatch string
	}{
		{name: "stereo pcm", in: wavBytes(fmtChunk(1, 2, 44100, 16), nil, stereo, 8),
			want: &PCM{Rate: 44100, Channels: 2, Samples: []int16{1, 2, 3, 4}}},
		{name: "unknown chunk skipped", in: wavBytes(fmtChunk(1, 1, 16000, 16), list, stereo, 8),
			want: &PCM{Rate: 16000, Channels: 1, Samples: []int16{1, 2, 3, 4}}},
		{name: "extensible pcm", in: wavBytes(extensibleChunk(1, 2, 48000, 16), nil, stereo, 8),
			want: &PCM{Rate: 48000, Channels: 2, Samples: []int16{1, 2, 3, 4}}},
		{name: "partial frame dropped", in: wavBytes(fmtChunk(1, 2, 8000, 16), nil, stereo[:6], 6),
			want: &PCM{Rate: 8000, Channels: 2, Samples: []int16{1, 2}}},
		{name: "8-bit", in: wavBytes(fmtChunk(1, 1, 8000, 8), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "8-bit PCM is not supported: convert to 16-bit"},
		{name: "24-bit", in: wavBytes(fmtChunk(1, 1, 8000, 24), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "24-bit PCM"},
		{name: "float", in: wavBytes(fmtChunk(3, 1, 8000, 32), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "IEEE float"},
		{name: "extensible float", in: wavBytes(extensibleChunk(3, 1, 8000, 32), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "IEEE float"},
		{name: "mulaw", in: wavBytes(fmtChunk(7, 1, 8000, 8), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "μ-law WAV"},
		{name: "alaw", in: wavBytes(fmtChunk(6, 1, 8000, 8), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "A-law WAV"},
		{name: "adpcm", in: wavBytes(fmtChunk(2, 1, 8000, 4), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "0x0002"},
		{name: "six channels", in: wavBytes(fmtChunk(1, 6, 8000, 16), nil, stereo, 8),
			wantErr: ErrUnsupportedWAV, errMatch: "6 channels"},
		{name: "zero rate", in: wavBytes(fmtChunk(1, 1, 0, 16), nil, stereo, 8),
			wantErr: ErrMalformedWAV},
		{name: "truncated header", in: []byte("RIFF\x00\x00"), wantErr: ErrMalformedWAV},
		{name: "empty", in: nil, wantErr: ErrMalformedWAV},
		{name: "not wave", in: []byte("RIFF\x00\x00\x00\x00AVI LIST"), wantErr: ErrMalformedWAV},
		{name: "no fmt", in: wavBytes(nil, nil, stereo, 8), wantErr: ErrMalformedWAV, errMatch: "before fmt"},
		{name: "huge data size", in: wavBytes(fmtChunk(1, 1, 8000, 16), nil, stereo, 0xFFFFFFFF),
			wantErr: ErrMalformedWAV, errMatch: "limit"},
		{name: "truncated data", in: wavBytes(fmtChunk(1, 1, 8000, 16), nil, stereo, 1000),
			wantErr: ErrMalformedWAV, errMatch: "truncated"},
		{name: "huge unknown chunk", in: wavBytes(fmtChunk(1, 1, 8000, 16), []byte("junk\xff\xff\xff\xff"), nil, 0),
			wantErr: ErrMalformedWAV},
		{name: "huge fmt chunk", in: []byte("RIFF\x00\x00\x00\x00WAVEfmt \xff\xff\xff\x7f"), wantErr: ErrMalformedWAV},
		{name: "truncated fmt", in: []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00"), wantErr: ErrMalformedWAV},
		{name: "no data chunk", in: []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + string(fmtChunk(1, 1, 8000, 16))),
			wantErr: ErrMalformedWAV, errMatch: "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadWAV(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %q, want it to contain %q", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Rate != tt.want.Rate || got.Channels != tt.want.Channels || !slicesEqual(got.Samples, tt.want.Samples) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func sineStereo(rate int, freq float64, amp float64, seconds float64) *PCM {
	n := int(float64(rate) * seconds)
	s := make([]int16, 2*n)
	for i := 0; i < n; i++ {
		v := int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		s[2*i], s[2*i+1] = v, v
	}
	return &PCM{Rate: rate, Channels: 2, Samples: s}
}

func peak(s []int16) int {
	m := 0
	for _, v := range s {
		m = max(m, abs(int(v)))
	}
	return m
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestMono8kFromWAV(t *testing.T) {
	// A 1 kHz sine at 44.1 kHz stereo, written and read back as a file.
	src := sineStereo(44100, 1000, 16000, 1)
	var buf bytes.Buffer
	buf.WriteString("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	buf.Write(fmtChunk(1, 2, 44100, 16))
	buf.WriteString("data")
	_ = binary.Write(&buf, binary.LittleEndian, uint32(2*len(src.Samples)))
	_ = binary.Write(&buf, binary.LittleEndian, src.Samples)
	p, err := ReadWAV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	out := p.Mono8k()
	if len(out) != 8000 {
		t.Fatalf("len = %d, want 8000", len(out))
	}
	// Ignore the edges, where the kernel is truncated.
	if pk := peak(out[100 : len(out)-100]); pk < 15500 || pk > 16500 {
		t.Fatalf("1 kHz peak = %d, want ≈16000", pk)
	}
}

func TestMono8kFiltersAboveNyquist(t *testing.T) {
	// 6 kHz cannot be represented at 8 kHz; without the low-pass it would
	// alias to 2 kHz at full amplitude.
	out := sineStereo(48000, 6000, 16000, 0.5).Mono8k()
	if len(out) != 4000 {
		t.Fatalf("len = %d, want 4000", len(out))
	}
	if pk := peak(out[100 : len(out)-100]); pk > 300 {
		t.Fatalf("6 kHz leaked through at peak %d", pk)
	}
}

func TestMono8k(t *testing.T) {
	tests := []struct {
		name string
		in   *PCM
		want []int16
	}{
		{"nil", nil, nil},
		{"8k mono passthrough", &PCM{Rate: 8000, Channels: 1, Samples: []int16{1, 2, 3}}, []int16{1, 2, 3}},
		{"8k stereo downmix", &PCM{Rate: 8000, Channels: 2, Samples: []int16{100, 300, -100, -300}}, []int16{200, -200}},
		{"too short to resample", &PCM{Rate: 44100, Channels: 1, Samples: []int16{1, 2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Mono8k(); !slicesEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMono8kUpsampleDC(t *testing.T) {
	in := &PCM{Rate: 4000, Channels: 1, Samples: make([]int16, 400)}
	for i := range in.Samples {
		in.Samples[i] = 1000
	}
	out := in.Mono8k()
	if len(out) != 800 {
		t.Fatalf("len = %d, want 800", len(out))
	}
	for i, v := range out {
		if abs(int(v)-1000) > 2 {
			t.Fatalf("out[%d] = %d, want 1000 (DC gain 1)", i, v)
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteWAV(&buf, 8000, []int16{1, -1, 300})
	f.Add(buf.Bytes())
	f.Add(wavBytes(extensibleChunk(1, 2, 48000, 16), []byte("LIST\x01\x00\x00\x00a\x00"), []byte{1, 0, 2, 0}, 4))
	f.Add(wavBytes(fmtChunk(1, 1, 8000, 16), nil, nil, 0xFFFFFFF0))
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ReadWAV(bytes.NewReader(in))
		if err != nil {
			return
		}
		if p.Channels < 1 || p.Channels > 2 || p.Rate < 1 || len(p.Samples)%p.Channels != 0 {
			t.Fatalf("accepted invalid PCM %d Hz %d ch %d samples", p.Rate, p.Channels, len(p.Samples))
		}
		if len(p.Samples) < 100000 {
			_ = p.Mono8k()
		}
	})
}
