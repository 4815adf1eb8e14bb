package agent

import (
	"context"
	"sync"

	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// sharedSource starts each backend plugin once for all accounts: a
// backend serves any number of sessions (accounts), and each plugin
// process costs tens of MiB resident (BenchmarkAgentRSS). A plugin stops
// when the last account using it stops it.
type sharedSource struct {
	session.Source
	log func(string, ...any)
	mu  sync.Mutex
	m   map[string]*sharedPlugin
}

type sharedPlugin struct {
	st   *session.Started
	refs int
}

func newSharedSource(src session.Source, log func(string, ...any)) *sharedSource {
	return &sharedSource{Source: src, log: log, m: map[string]*sharedPlugin{}}
}

// Start returns the running plugin of kind and name, starting it on first
// use. Policies are not shared (they run per decision, on demand).
func (s *sharedSource) Start(ctx context.Context, kind protocol.Kind, name string) (*session.Started, error) {
	if kind == protocol.KindPolicy {
		return s.Source.Start(ctx, kind, name)
	}
	key := string(kind) + "/" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.m[key]
	if p != nil && p.st.Exited != nil && p.st.Exited() != "" {
		// Crashed: a new process for whoever asks now; the old one is
		// stopped when its last holder lets go.
		delete(s.m, key)
		p = nil
	}
	if p == nil {
		// Under the lock: two accounts must not start two processes.
		st, err := s.Source.Start(ctx, kind, name)
		if err != nil {
			return nil, err
		}
		// A built-in backend may run in this process: a panic in it
		// must not end the agent.
		guardStarted(st, s.log)
		p = &sharedPlugin{st: st}
		s.m[key] = p
	}
	p.refs++
	c := *p.st
	var once sync.Once
	c.Stop = func() { once.Do(func() { s.release(key, p) }) }
	return &c, nil
}

func (s *sharedSource) release(key string, p *sharedPlugin) {
	s.mu.Lock()
	p.refs--
	last := p.refs == 0
	if last && s.m[key] == p {
		delete(s.m, key)
	}
	s.mu.Unlock()
	if last && p.st.Stop != nil {
		p.st.Stop()
	}
}
