// Package sessiontest is a session.Source of in-memory plugins, so that a
// command or anything else built on the session runtime can be tested
// without plugin processes or servers: put fake backends (pkg/protocol/fake)
// and policies in it by name.
package sessiontest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// Source holds plugins by kind and name. Its zero value has none; New
// fills the usual names. It is safe for concurrent use.
type Source struct {
	IMPP      map[string]protocol.IMPP
	Telephony map[string]protocol.Telephony
	Policies  map[string]protocol.Policy
	// StartErr, when set, makes Start of that "kind/name" fail.
	StartErr map[string]error
	// Timeout is the DecisionTimeout; 0 is the runtime's default.
	Timeout time.Duration

	mu      sync.Mutex
	started []string
	running int
}

// New returns a Source with svc's backends under the built-in names
// ("xmpp", "sip") and an abstaining "default" policy.
func New(svc *fake.Service) *Source {
	return &Source{
		IMPP:      map[string]protocol.IMPP{"xmpp": svc.IMPP()},
		Telephony: map[string]protocol.Telephony{"sip": svc.Telephony()},
		Policies:  map[string]protocol.Policy{"default": &fake.Policy{Name: "default"}},
	}
}

func (s *Source) find(kind protocol.Kind, name string) (any, error) {
	if err := s.StartErr[string(kind)+"/"+name]; err != nil {
		return nil, err
	}
	var p any
	var ok bool
	switch kind {
	case protocol.KindIMPP:
		p, ok = s.IMPP[name]
	case protocol.KindTelephony:
		p, ok = s.Telephony[name]
	case protocol.KindPolicy:
		p, ok = s.Policies[name]
	}
	if !ok {
		return nil, fmt.Errorf("%s plugin %q: %w", kind, name, pluginhost.ErrPluginNotFound)
	}
	return p, nil
}

// Lookup implements session.Source.
func (s *Source) Lookup(kind protocol.Kind, name string) error {
	_, err := s.find(kind, name)
	return err
}

// DecisionTimeout implements session.Source.
func (s *Source) DecisionTimeout() time.Duration { return s.Timeout }

// Start implements session.Source: it records "kind/name" (Started).
func (s *Source) Start(ctx context.Context, kind protocol.Kind, name string) (*session.Started, error) {
	p, err := s.find(kind, name)
	if err != nil {
		return nil, err
	}
	info, err := p.(protocol.Describer).Info(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.started = append(s.started, string(kind)+"/"+name)
	s.running++
	s.mu.Unlock()
	var once sync.Once
	return &session.Started{Kind: kind, Name: name, Info: info, Plugin: p, Stop: func() {
		once.Do(func() {
			s.mu.Lock()
			s.running--
			s.mu.Unlock()
		})
	}}, nil
}

// Started lists what was started, as "kind/name", in order.
func (s *Source) Started() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.started)
}

// Running counts the plugins started and not stopped: a command that
// returns with Running() > 0 leaked a plugin process.
func (s *Source) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

var _ session.Source = (*Source)(nil)
