package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"
)

// sipCallee is the process and registered contact behind a sipp or baresip callee.
type sipCallee struct {
	name string // "sipp UAS", "baresip"
	proc *process
	reg  *sipRegistration
	tb   testing.TB
}

// registerCallee registers user's contact on port (0: a free one) and has the callee stopped
// and the contact unregistered when the test ends.
func (b *Bed) registerCallee(t testing.TB, name, user string, port int) (*sipCallee, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := b.registerContact(ctx, user, port)
	if err != nil {
		return nil, err
	}
	c := &sipCallee{name: name, reg: reg, tb: t}
	t.Cleanup(c.stop)
	return c, nil
}

// start starts cmd, its output in logFile, and returns once ready (nil: at once) holds
// within 10 s and the process listens on the contact's port. Errors after the start carry
// logs().
func (c *sipCallee) start(cmd *exec.Cmd, logFile string, ready func() (bool, error), logs func() string) error {
	var err error
	if c.proc, err = startProcess(c.name, cmd, logFile); err != nil {
		return err
	}
	if ready != nil {
		err = waitStarted(c.proc, "ready", 10*time.Second, ready)
	}
	if err == nil {
		err = waitUDPBound(c.proc, c.reg.port(), 5*time.Second)
	}
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs())
	}
	return nil
}

// stop ends the process and unregisters its contact (test cleanup).
func (c *sipCallee) stop() {
	_ = c.proc.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.reg.unregister(ctx); err != nil {
		c.tb.Logf("testbed: %s: unregister %s: %v", c.name, c.reg.contact, err)
	}
}

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
