package plugin

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/hashicorp/go-hclog"
)

// parentPoll is how often a plugin checks that its host still lives.
const parentPoll = 250 * time.Millisecond

// watchHost returns when the host is gone: the parent pid changed (the
// parent died, even by SIGKILL, and the plugin was re-parented), the
// host's pid (protocol.HostPIDEnv) no longer runs (it died before we
// looked, or a wrapper script sits between us; Windows does not re-parent),
// or the plugin got
// SIGTERM (the Linux parent-death signal, or a kill) or SIGHUP. It returns
// "" when stop is closed.
func watchHost(stop <-chan struct{}) string {
	parent := os.Getppid()
	host, _ := strconv.Atoi(os.Getenv(protocol.HostPIDEnv))
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
		cusaxv1.CloseOpenSessions(log)
		os.Exit(0)
	}()
	serve()
	cusaxv1.CloseOpenSessions(log)
}
