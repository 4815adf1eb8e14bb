package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
)

// StartBaresipIn is StartBaresip without testing.TB, for the cusax-testbed command (make
// demo): it registers opts.User's contact through Kamailio and starts an auto-answering
// baresip on that contact's port, with its config and log (baresip.log) in dir, which is
// created if missing and kept. logf receives what a test would
// log (nil: discarded). It returns once baresip is ready; stop stops baresip and unregisters
// the contact, and may be called more than once.
//
// Errors: ErrNotInstalled (wrapped) when baresip is missing; otherwise what registration or
// start-up reported, with baresip's output. On error nothing is left running.
func (b *Bed) StartBaresipIn(dir string, opts BaresipOptions, logf func(format string, args ...any)) (p *Baresip, stop func(), err error) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: %w: missing baresip (baresip-core) (%s)", ErrNotInstalled, InstallHint)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	h := &hostTB{dir: dir, logf: logf}
	defer func() {
		// A panic here means startBaresip called a testing.TB method hostTB lacks.
		if r := recover(); r != nil {
			h.cleanup()
			p, stop, err = nil, nil, fmt.Errorf("testbed: baresip: %v", r)
		}
	}()
	if p, err = b.startBaresip(h, bin, opts); err != nil {
		h.cleanup()
		return nil, nil, fmt.Errorf("testbed: baresip: %w", err)
	}
	return p, h.cleanup, nil
}

// hostTB is the part of testing.TB that startBaresip and (*Baresip).stop use, outside a test:
// TempDir is a fixed directory and Cleanup functions run when cleanup is called. The embedded
// TB is nil, only there to satisfy testing.TB's unexported method: calling any other method
// panics, which StartBaresipIn turns into an error. Reusing startBaresip this way keeps the
// demo's callee exactly the one the tests use.
type hostTB struct {
	testing.TB
	dir  string
	logf func(format string, args ...any)

	mu       sync.Mutex
	cleanups []func()
}

func (h *hostTB) Helper()         {}
func (h *hostTB) TempDir() string { return h.dir }

func (h *hostTB) Cleanup(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cleanups = append(h.cleanups, f)
}

func (h *hostTB) Logf(format string, args ...any) {
	if h.logf != nil {
		h.logf(format, args...)
	}
}

func (h *hostTB) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// cleanup runs the Cleanup functions once each, last registered first, as testing does.
func (h *hostTB) cleanup() {
	h.mu.Lock()
	fs := h.cleanups
	h.cleanups = nil
	h.mu.Unlock()
	for _, f := range slices.Backward(fs) {
		f()
	}
}
