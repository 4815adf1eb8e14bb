package testbed

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// inCI reports whether we run in CI, where a missing server must fail the test, not skip it.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// requireInstalled skips the test when the servers are missing, or fails it in CI. Under
// -short (make test-short) the integration tests are skipped: that is an explicit opt-out.
func requireInstalled(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("testbed: real servers are not started in -short mode")
		return
	}
	err := checkInstalled()
	if err == nil {
		return
	}
	if inCI() {
		tb.Fatalf("testbed: %v; CI=true, so this is a failure, not a skip (%s)", err, InstallHint)
		return
	}
	tb.Skipf("testbed: %v (%s)", err, InstallHint)
}

// Start starts a Bed for one test and stops it when the test ends. If the test failed (a
// server that will not stop fails it too), the directory is kept and its log paths and log
// tails are printed. A missing server skips the
// test, or fails it when CI=true.
func Start(tb testing.TB, opts Options) *Bed {
	tb.Helper()
	requireInstalled(tb)
	b, err := StartWithDir("", opts)
	if err != nil {
		failStart(tb, err)
	}
	tb.Cleanup(func() {
		// Keep the dir if the test failed or the servers would not stop: that is when it is
		// needed for a post-mortem.
		err := b.stop(true)
		if err != nil {
			tb.Errorf("testbed: stop: %v", err)
		}
		if tb.Failed() {
			tb.Logf("testbed: kept %s; logs: %s\n%s", b.Dir, strings.Join(b.LogFiles(), " "), b.Logs())
		} else if b.ownsDir {
			_ = os.RemoveAll(b.Dir)
		}
	})
	return b
}

func failStart(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNotInstalled) && !inCI() {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

var shared struct {
	once   sync.Once
	bed    *Bed
	err    error
	failed atomic.Bool
}

// Shared returns the one Bed of this test binary, started on first use with default Options.
// Tests must not stop it; they may Seed it and add users, but only data and user names that
// no other test of the binary uses or expects to be absent (a test that needs a known state
// starts its own bed with Start). Call StopShared from TestMain after m.Run so that its
// servers stop.
func Shared(tb testing.TB) *Bed {
	tb.Helper()
	requireInstalled(tb)
	shared.once.Do(func() { shared.bed, shared.err = StartWithDir("", Options{}) })
	if shared.err != nil {
		failStart(tb, shared.err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			shared.failed.Store(true)
		}
	})
	return shared.bed
}

// StopShared stops the Bed that Shared started, if any. If a test that used it failed, or a
// server would not stop, the directory is kept and its log paths are printed to stderr.
func StopShared() {
	b := shared.bed
	if b == nil {
		return
	}
	err := b.stop(true)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed: stop shared bed: %v\n%s", err, b.Logs())
	}
	if err != nil || shared.failed.Load() {
		fmt.Fprintf(os.Stderr, "testbed: kept %s; logs: %s\n", b.Dir, strings.Join(b.LogFiles(), " "))
	} else if b.ownsDir {
		_ = os.RemoveAll(b.Dir)
	}
}
