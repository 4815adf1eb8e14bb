package cusaxv1

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// HostPIDEnv carries the host's pid to the plugin. A plugin must not outlive
// its host: a plugin whose parent is no longer that pid (the host was
// killed and the plugin re-parented) logs out and exits.
const HostPIDEnv = "CUSAX_PLUGIN_HOST_PID"

const (
	// parentPoll is how often a plugin checks that its host still lives.
	parentPoll = 250 * time.Millisecond
	// shutdownGrace bounds logging out of every open session (XMPP closes
	// its stream, SIP unregisters) before the plugin exits anyway.
	shutdownGrace = 2 * time.Second
)

// live holds every open session of this plugin process, of whatever kind,
// so that they can all be closed when the host goes away.
var live liveSessions

type closer interface {
	Close(ctx context.Context) error
}

type liveSessions struct {
	mu sync.Mutex
	m  map[string]closer
}

func (l *liveSessions) add(id string, v any) {
	c, ok := v.(closer)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]closer{}
	}
	l.m[id] = c
}

func (l *liveSessions) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
}

// closeAll closes every open session at once, for at most shutdownGrace.
func (l *liveSessions) closeAll(log hclog.Logger) {
	l.mu.Lock()
	m := l.m
	l.m = nil
	l.mu.Unlock()
	if len(m) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	for id, c := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(ctx); err != nil {
				log.Warn("closing session at shutdown", "session", id, "error", err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		log.Warn("sessions did not close in time", "grace", shutdownGrace)
	}
}

// watchHost returns when the host is gone: the parent pid changed (the
// parent died, even by SIGKILL, and the plugin was re-parented), the host's
// pid (HostPIDEnv) no longer runs (it died before we looked, or a wrapper
// script sits between us; Windows does not re-parent), or the plugin got
// SIGTERM (the Linux parent-death signal, or a kill) or SIGHUP. It returns
// "" when stop is closed.
func watchHost(stop <-chan struct{}) string {
	parent := os.Getppid()
	host, _ := strconv.Atoi(os.Getenv(HostPIDEnv))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGHUP)
	// The host held the other end of our stdout and stderr: once it is
	// dead, the first log line would raise SIGPIPE and the Go runtime
	// would kill us before we log out (SIP registrations would stay).
	// Notified, it only makes that write fail with EPIPE.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	t := time.NewTicker(parentPoll)
	defer t.Stop()
	for {
		if os.Getppid() != parent || (host > 0 && !processAlive(host)) {
			return "host process gone"
		}
		select {
		case s := <-sig:
			return "signal " + s.String()
		case <-stop:
			return ""
		case <-t.C:
		}
	}
}

// serveUntilHostGone runs serve; when the host goes away first it closes
// every open session (bounded) and exits the process. When serve returns
// (the host asked the plugin to stop) it closes what the host left open.
func serveUntilHostGone(serve func(), log hclog.Logger) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	go func() {
		why := watchHost(nil)
		log.Info("host gone: logging out", "why", why)
		live.closeAll(log)
		os.Exit(0)
	}()
	serve()
	live.closeAll(log)
}
