package main

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/cusax/cusax/pkg/media"
)

// wavStats is what `cusax-testbed wav` says of a recording.
type wavStats struct {
	Rate, Channels int
	Samples        int     // frames (samples per channel)
	RMS            float64 // root mean square over all samples, in full-scale units (0..1)
	Loud           int     // frames above loudFloor in the first channel
	Hz             float64 // tone estimate from zero crossings of the loud frames (0: none)
}

// loudFloor is -40 dBFS: G.711 silence and comfort noise stay below it.
const loudFloor = math.MaxInt16 / 100

// readWAVStats reads path as a 16-bit PCM WAV and measures it. The tone
// estimate counts sign changes between consecutive loud frames: a pure
// tone of f Hz crosses zero 2f times a second, so a greeting and a
// message made with `tone` at different frequencies can be told apart.
func readWAVStats(path string) (wavStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return wavStats{}, err
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		return wavStats{}, fmt.Errorf("%s: %w", path, err)
	}
	st := wavStats{Rate: pcm.Rate, Channels: pcm.Channels, Samples: len(pcm.Samples) / max(pcm.Channels, 1)}
	var sum float64
	for _, s := range pcm.Samples {
		v := float64(s) / math.MaxInt16
		sum += v * v
	}
	if len(pcm.Samples) > 0 {
		st.RMS = math.Sqrt(sum / float64(len(pcm.Samples)))
	}
	crossings, prevLoud := 0, false
	var prev int16
	for i := 0; i < st.Samples; i++ {
		s := pcm.Samples[i*pcm.Channels]
		loud := s > loudFloor || s < -loudFloor
		if loud {
			st.Loud++
		}
		// A crossing between two samples near the tone's peaks is not
		// seen, so look at every pair inside a loud stretch.
		if i > 0 && (loud || prevLoud) && (prev < 0) != (s < 0) {
			crossings++
		}
		prev, prevLoud = s, loud
	}
	if st.Loud > 0 && pcm.Rate > 0 {
		st.Hz = float64(crossings) / 2 / (float64(st.Loud) / float64(pcm.Rate))
	}
	return st, nil
}

// wavReport prints one tab-separated line per file: path, frames, seconds,
// RMS in dBFS, seconds above -40 dBFS and the tone estimate in Hz.
func wavReport(paths []string, stdout io.Writer) error {
	for _, p := range paths {
		st, err := readWAVStats(p)
		if err != nil {
			return err
		}
		db := math.Inf(-1)
		if st.RMS > 0 {
			db = 20 * math.Log10(st.RMS)
		}
		fmt.Fprintf(stdout, "%s\tsamples=%d\trate=%d\tseconds=%.2f\trms=%.1f dBFS\tsound=%.2f s\ttone≈%.0f Hz\n",
			p, st.Samples, st.Rate, float64(st.Samples)/float64(max(st.Rate, 1)), db,
			float64(st.Loud)/float64(max(st.Rate, 1)), st.Hz)
	}
	return nil
}
