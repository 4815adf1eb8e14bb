package protocoltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Env names the real accounts and servers the suite uses. Good,
// WrongPassword and BadAddress are always needed; the other fields are what
// the positive test of a capability needs, and only backends that declare
// that capability need them (see each field). When a declared capability's
// field is empty its tests skip, naming the field, and FAIL under CI=true: a
// capability the environment cannot check is not proven.
type Env struct {
	// Good logs in.
	Good protocol.ConnectRequest
	// WrongPassword is a password the server rejects for Good.Address.
	WrongPassword string
	// BadAddress is an address the backend must refuse as invalid.
	BadAddress string

	// Peer is a second account of the same service: the other end of the
	// message, presence, MUC and reach tests (IMPP), and the caller of
	// the incoming-call test placed by the backend itself (telephony).
	// For IMPP, Good and Peer must have a mutual presence subscription
	// (RFC 6121 §3, subscription "both"). Needed by presence, message,
	// message-stream, muc and reach (read by the peer).
	Peer protocol.ConnectRequest

	// RosterJIDs are bare JIDs that Good's roster holds (seeded). Needed
	// by roster.
	RosterJIDs []string
	// VCardJID is a contact whose vCard is stored (seeded), and VCardText
	// a string its RFC 6350 text contains (e.g. its FN). Needed by vcard.
	VCardJID, VCardText string
	// MUCService is a MUC service (XEP-0045) on which Good may create
	// rooms, e.g. conference.example.com. Needed by muc.
	MUCService string
	// ReachJID is a contact of Good with a stored XEP-0152 address
	// ReachURI that Good may read. Needed by reach.
	ReachJID, ReachURI string

	// Callee starts an endpoint that answers ONE call with 200, accepts
	// PCMU or PCMA and telephone-event (RFC 4733), and sends RTP back (an
	// echo will do), for the test t; it is stopped when t ends. It does
	// plain RTP only: the suite dials it with Encryption "none" (and, for
	// srtp, "srtp" and "optional"). Needed by dial, media, dtmf and srtp.
	Callee func(t testing.TB) Callee
	// SRTPCallee is like Callee but takes only SRTP (RFC 3711): it
	// refuses or hangs up on a call whose media would be plain RTP, and
	// sends (S)RTP back. Needed by srtp when GoodOverTLS is set.
	SRTPCallee func(t testing.TB) Callee
	// GoodOverTLS says that Good's SIP signalling goes over TLS, so that
	// SDES keys may be sent (RFC 4568 §8.3): the srtp tests then place
	// SRTP calls. When false they check instead that Encryption "srtp" is
	// refused with ErrMediaInsecure before anything is sent. srtp's
	// answer tests need it set (keys are only accepted over TLS).
	GoodOverTLS bool
	// DTMFCallee is like Callee but another endpoint, one that reports
	// the RFC 4733 digits it received (Callee.DTMF set), so that the
	// digits are checked where they arrive, not only as the backend
	// reports them. Needed by dtmf.
	DTMFCallee func(t testing.TB) Callee
	// CallGood places one call to Good's address from another account,
	// with the given Call-ID, and returns once the caller got a final
	// response: nil when it was wantStatus (a 3xx-6xx), an error naming
	// what came instead. It must return when ctx ends. Needed by
	// incoming-calls.
	CallGood func(ctx context.Context, callID string, wantStatus int) error
	// CallGoodWithMedia places one call to Good's address from another
	// account, as the caller MediaCall describes (audio, RFC 4733 digits,
	// its own BYE or none), and returns once the call is over with what
	// the caller saw: the final response, the RTP packets it received
	// from Good, who sent the BYE. It must return when ctx ends. Needed
	// by answer.
	CallGoodWithMedia func(ctx context.Context, call MediaCall) (MediaCallResult, error)
	// CallGoodWithSRTP is CallGoodWithMedia with a caller that offers
	// SRTP only (RTP/SAVP, SDES keys per RFC 4568) and sends and receives
	// SRTP. Needed by srtp's answer tests (with answer).
	CallGoodWithSRTP func(ctx context.Context, call MediaCall) (MediaCallResult, error)
}

// Callee is a running answering endpoint (Env.Callee).
type Callee struct {
	// URI is what to dial: a sip:, sips: or tel: URI.
	URI string
	// Wait waits at most d for the callee to see its call end (the
	// caller's BYE included) and returns how many RTP packets it received
	// from the caller, or an error when the call did not go as a callee
	// expects. Nil: the environment cannot tell; the suite then relies on
	// the backend's own counts.
	Wait func(d time.Duration) (rtpReceived int64, err error)
	// DTMF returns the RFC 4733 digits the callee received so far, in
	// order. Nil: the callee cannot tell.
	DTMF func() string
}

// need ends a positive test of the declared capability c when the
// environment lacks what it needs: a skip that names the Env field, or
// under CI=true a failure (a capability nobody checks is not proven).
func need(t *testing.T, c protocol.Capability, field string, missing bool) {
	t.Helper()
	if !missing {
		return
	}
	msg := fmt.Sprintf("capability %q is declared but Env.%s is empty: it cannot be checked", c, field)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// capTest runs body as the subtest "cap=C/NAME" when info declares c. The
// naming lets `go test -v` output be counted per capability, and the
// outcome is tallied for logCapabilities.
func capTest(t *testing.T, info protocol.Info, c protocol.Capability, name string, body func(t *testing.T)) {
	t.Helper()
	tallyOf(t, c) // the suite has a test for c, declared or not
	if info.Has(c) {
		capRun(t, c, name, body)
	}
}

// capRun runs body as "cap=C/NAME" whatever the backend declares (for the
// capabilities every backend must have: login, register).
func capRun(t *testing.T, c protocol.Capability, name string, body func(t *testing.T)) {
	t.Helper()
	var ran, skipped bool
	ok := t.Run("cap="+string(c)+"/"+name, func(t *testing.T) {
		ran = true
		defer func() { skipped = t.Skipped() }()
		body(t)
	})
	if !ran {
		return // left out by -run
	}
	n := tallyOf(t, c)
	tallies.mu.Lock()
	defer tallies.mu.Unlock()
	switch {
	case !ok:
		n.failed++
	case skipped:
		n.skipped++
	default:
		n.passed++
	}
}

type tally struct{ passed, failed, skipped int }

// tallyOf is the tally of c in the suite run by t, created on first use.
func tallyOf(t *testing.T, c protocol.Capability) *tally {
	tallies.mu.Lock()
	defer tallies.mu.Unlock()
	if tallies.m[t] == nil {
		tallies.m[t] = map[protocol.Capability]*tally{}
	}
	n := tallies.m[t][c]
	if n == nil {
		n = &tally{}
		tallies.m[t][c] = n
	}
	return n
}

// tallies holds the outcome of the cap= subtests per suite run (keyed by
// the test that called RunIMPP or RunTelephony).
var tallies = struct {
	mu sync.Mutex
	m  map[*testing.T]map[protocol.Capability]*tally
}{m: map[*testing.T]map[protocol.Capability]*tally{}}

// logCapabilities logs, once per suite run, one line per declared
// capability with its positive tests: "conformance TestX/grpc: cap=roster
// tests=1 passed=1 failed=0 skipped=0". A declared capability this suite has no
// test for shows tests=0: nothing here proves it.
func logCapabilities(t *testing.T, info protocol.Info) {
	t.Helper()
	tallies.mu.Lock()
	m := tallies.m[t]
	delete(tallies.m, t)
	tallies.mu.Unlock()
	for _, c := range info.Capabilities {
		n := m[c]
		if n == nil {
			// Declared, but this suite has no test for it (video, or a
			// name it does not know): nothing proves it.
			msg := fmt.Sprintf("conformance %s: cap=%s is declared but the suite has no positive test for it", t.Name(), c)
			if os.Getenv("CI") == "true" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
			continue
		}
		t.Logf("conformance %s: cap=%s tests=%d passed=%d failed=%d skipped=%d", t.Name(), c, n.passed+n.failed+n.skipped, n.passed, n.failed, n.skipped)
	}
}

// token is a fresh identifier, so that reruns and parallel runs against
// the same servers do not see each other's messages, rooms or calls.
func token() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recvMatch reads st until a value matches, at most d; it fails the test
// when the stream ends or errs first or d passes (closing the stream). The
// values read before the match are returned for the failure message.
func recvMatch[T any](t *testing.T, st protocol.Stream[T], d time.Duration, what string, match func(T) bool) T {
	t.Helper()
	type result struct {
		v    T
		err  error
		seen []T
	}
	ch := make(chan result, 1)
	go func() {
		var seen []T
		for {
			v, err := st.Recv()
			if err != nil {
				ch <- result{err: err, seen: seen}
				return
			}
			if match(v) {
				ch <- result{v: v, seen: seen}
				return
			}
			if len(seen) < 20 {
				seen = append(seen, v)
			}
		}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: stream ended before it came: %v (seen before: %+v)", what, r.err, r.seen)
		}
		return r.v
	case <-timer.C:
		_ = st.Close()
		t.Fatalf("%s: nothing matching within %s", what, d)
	}
	var zero T
	return zero
}

// bare strips a resource from a JID.
func bare(j string) string {
	b, _, _ := strings.Cut(j, "/")
	return b
}

// domainOf is the domain of a bare or full JID.
func domainOf(j string) string {
	b := bare(j)
	if i := strings.LastIndexByte(b, '@'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// CheckInfo checks a plugin's self-description.
func CheckInfo(t *testing.T, d protocol.Describer, kind protocol.Kind) protocol.Info {
	t.Helper()
	info, err := d.Info(ctxT(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Kind != kind {
		t.Errorf("Info.Kind = %q, want %q", info.Kind, kind)
	}
	if info.Name == "" || info.Version == "" {
		t.Errorf("Info name/version empty: %+v", info)
	}
	if info.APIVersion != protocol.APIVersion {
		t.Errorf("Info.APIVersion = %d, want %d", info.APIVersion, protocol.APIVersion)
	}
	seen := map[protocol.Capability]bool{}
	for _, c := range info.Capabilities {
		if seen[c] {
			t.Errorf("capability %q listed twice", c)
		}
		seen[c] = true
	}
	return info
}

// checkReport checks the invariants every connection report keeps.
func checkReport(t *testing.T, r protocol.ConnectionReport, aspect protocol.Aspect, state string) {
	t.Helper()
	if r.Aspect != aspect || r.State != state {
		t.Errorf("report aspect/state = %q/%q, want %q/%q", r.Aspect, r.State, aspect, state)
	}
	if r.Backend == "" || r.Transport == "" || r.Address == "" || r.Server == "" {
		t.Errorf("report lacks backend/transport/address/server: %+v", r)
	}
	if r.AuthMechanism == "" {
		t.Errorf("report lacks the auth mechanism")
	}
	if r.Elapsed <= 0 {
		t.Errorf("report elapsed = %v", r.Elapsed)
	}
	if r.Encrypted != (r.TLS != nil) {
		t.Errorf("report encrypted=%v but TLS=%v", r.Encrypted, r.TLS)
	}
	if r.TLS != nil {
		if r.TLS.Version == "" || r.TLS.CipherSuite == "" || len(r.TLS.Chain) == 0 {
			t.Errorf("TLS details incomplete: %+v", r.TLS)
		}
		if !r.TLS.Verified || r.TLS.ServerAuth == "" {
			t.Errorf("TLS connection not verified: %+v", r.TLS)
		}
		if leaf := r.TLS.Leaf(); len(leaf.SHA256) != 64 || leaf.NotAfter.IsZero() {
			t.Errorf("certificate summary incomplete: %+v", leaf)
		}
	}
}

func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error text contains a secret: %q", err)
		}
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got %v, want an error wrapping %q", what, err, target)
	}
}
