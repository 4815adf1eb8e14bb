package cusaxv1

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// shutdownGrace bounds logging out of every open session (XMPP closes its
// stream, SIP unregisters) before the plugin exits anyway.
const shutdownGrace = 2 * time.Second

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

// CloseOpenSessions closes every session this plugin process still has
// open, of whatever kind, at once and for at most 2 s: XMPP closes its
// stream, SIP unregisters. Serve (package plugin) calls it when the host
// goes away or stops the plugin.
func CloseOpenSessions(log hclog.Logger) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	live.closeAll(log)
}
