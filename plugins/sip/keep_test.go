package sip

import (
	"testing"
	"time"
)

// The refresh comes at half the granted lifetime: well before expiry
// (RFC 3261 §10.2.4), never in a busy loop.
func TestRefreshAfter(t *testing.T) {
	for granted, want := range map[time.Duration]time.Duration{
		3600 * time.Second: 1800 * time.Second,
		10 * time.Second:   5 * time.Second,
		time.Second:        time.Second,
		0:                  time.Second,
	} {
		if got := refreshAfter(granted); got != want {
			t.Errorf("refreshAfter(%s) = %s, want %s", granted, got, want)
		}
	}
}

// RFC 5626 §4.5: doubling waits, a ceiling, 50-100 % jitter.
func TestBackoff(t *testing.T) {
	for n := range 40 {
		ceiling := min(retryMax, retryBase<<min(n, 16))
		for range 50 {
			d := backoff(n)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("backoff(%d) = %s, want %s..%s", n, d, ceiling/2, ceiling)
			}
		}
	}
}

func TestKeepAliveInterval(t *testing.T) {
	for range 50 {
		if d := keepAliveInterval(); d < 95*time.Second || d >= 120*time.Second {
			t.Fatalf("keepAliveInterval() = %s, want 95..120 s (RFC 5626 §4.4.1)", d)
		}
	}
}
