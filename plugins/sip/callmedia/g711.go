package callmedia

import (
	"fmt"

	"github.com/zaf/g711"

	"github.com/cusax/cusax/pkg/media"
)

// Static RTP payload types for G.711 (RFC 3551 §6, table 4).
const (
	PayloadTypePCMU uint8 = 0
	PayloadTypePCMA uint8 = 8
)

// FrameSamples is the number of samples in one 20 ms frame at 8 kHz.
// RFC 3551 §4.2: audio packets default to 20 ms. For G.711 it is also the
// payload size in bytes and the RTP timestamp increment per packet.
const FrameSamples = media.TelephonyRate * 20 / 1000

// Frames splits 8 kHz mono audio into 20 ms frames. The last frame is
// padded with silence so every frame is exactly FrameSamples long, which
// keeps the RTP timestamp step constant.
func Frames(samples []int16) [][]int16 {
	var out [][]int16
	for len(samples) > 0 {
		f := make([]int16, FrameSamples)
		n := copy(f, samples)
		samples = samples[n:]
		out = append(out, f)
	}
	return out
}

// Encode compresses linear 16-bit samples with G.711 μ-law (payload type
// 0) or A-law (payload type 8), one byte per sample. Any length is
// accepted; use Frames to cut 20 ms frames. It fails only for another
// payload type.
func Encode(pt uint8, samples []int16) ([]byte, error) {
	var enc func(int16) uint8
	switch pt {
	case PayloadTypePCMU:
		enc = g711.EncodeUlawFrame
	case PayloadTypePCMA:
		enc = g711.EncodeAlawFrame
	default:
		return nil, fmt.Errorf("encode: payload type %d is not G.711", pt)
	}
	out := make([]byte, len(samples))
	for i, s := range samples {
		out[i] = enc(s)
	}
	return out, nil
}

// Decode expands a G.711 μ-law (payload type 0) or A-law (payload type 8)
// payload to linear 16-bit samples. It fails only for another payload
// type.
func Decode(pt uint8, payload []byte) ([]int16, error) {
	var dec func(uint8) int16
	switch pt {
	case PayloadTypePCMU:
		dec = g711.DecodeUlawFrame
	case PayloadTypePCMA:
		dec = g711.DecodeAlawFrame
	default:
		return nil, fmt.Errorf("decode: payload type %d is not G.711", pt)
	}
	out := make([]int16, len(payload))
	for i, b := range payload {
		out[i] = dec(b)
	}
	return out, nil
}
