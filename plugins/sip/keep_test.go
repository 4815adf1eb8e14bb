package sip

import (
	"context"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
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

// The keeper refreshes for a listener only: a binding made before the
// stream opened is kept from then on (RFC 3261 §10.2.4, here a 2 s
// lifetime from a scripted registrar), and once the last stream ends (the
// host went away) nothing refreshes it any more: it expires as it would
// have without a keeper, instead of being kept for nobody.
func TestKeepOnlyWhileListened(t *testing.T) {
	f := startRegistrar(t, nil, func(_ int, req *gosip.Request) *gosip.Response { return ok(req, 2) })
	s, rep, err := registerVia(t, "sip:"+f.addr+";transport=udp", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expires != 2*time.Second {
		t.Fatalf("granted %s, want 2s", rep.Expires)
	}
	count := func() int { return len(f.requests()) }
	time.Sleep(2500 * time.Millisecond)
	if n := count(); n != 1 {
		t.Fatalf("%d REGISTERs without a listener, want 1 (nobody to keep it for)", n)
	}
	st, err := s.IncomingCalls(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d REGISTERs in 10 s with a listener and a 2 s lifetime", count())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = st.Close()
	// A refresh already under way may finish: wait until none came for
	// 300 ms (bounded), then none may follow.
	n := count()
	for settle := time.Now().Add(3 * time.Second); time.Now().Before(settle); {
		time.Sleep(300 * time.Millisecond)
		if m := count(); m == n {
			break
		} else {
			n = m
		}
	}
	time.Sleep(2500 * time.Millisecond)
	if m := count(); m != n {
		t.Errorf("%d more REGISTERs after the last stream closed", m-n)
	}
}
