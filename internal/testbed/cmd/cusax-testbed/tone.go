package main

import (
	"fmt"
	"math"
	"os"
	"time"

	"github.com/cusax/cusax/pkg/media"
)

// toneRate is the sample rate of the tone: G.711's own 8 kHz, so cusax sends it unconverted.
const toneRate = 8000

// writeTone writes a sine of freq Hz lasting d to path as a mono 16-bit PCM WAV at 8 kHz,
// at a quarter of full scale (-12 dBFS), for `cusax call --play`.
func writeTone(path string, freq float64, d time.Duration) error {
	if freq <= 0 || freq >= toneRate/2 {
		return fmt.Errorf("tone: frequency %g Hz: want above 0 and below %d Hz", freq, toneRate/2)
	}
	if d <= 0 || d > time.Hour {
		return fmt.Errorf("tone: duration %v: want above 0 and at most 1h", d)
	}
	s := make([]int16, int(d.Seconds()*toneRate))
	for i := range s {
		s[i] = int16(math.MaxInt16 / 4 * math.Sin(2*math.Pi*freq*float64(i)/toneRate))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("tone: %w", err)
	}
	if err := media.WriteWAV(f, toneRate, s); err != nil {
		f.Close()
		return fmt.Errorf("tone: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tone: %w", err)
	}
	return nil
}
