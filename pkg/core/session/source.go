package session

import (
	"context"
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
)

// Source starts the plugins an account names: the plugin host (child
// processes over go-plugin) in the binary, in-memory backends in tests
// (sessiontest.Source). Commands get one from their Factory and never see
// how a plugin runs.
type Source interface {
	// Start starts the plugin of kind and name.
	Start(ctx context.Context, kind protocol.Kind, name string) (*Started, error)
	// Lookup reports whether a plugin of kind and name can be started,
	// without starting it: nil, or an error wrapping
	// pluginhost.ErrPluginNotFound or pluginhost.ErrRefused.
	Lookup(kind protocol.Kind, name string) error
	// DecisionTimeout bounds each answer of a policy (config [plugins]
	// decision_timeout); 0 means policychain.DefaultTimeout.
	DecisionTimeout() time.Duration
}

// Started is one running plugin.
type Started struct {
	Kind protocol.Kind
	Name string
	// Info is the plugin's self-description (kind, capabilities).
	Info protocol.Info
	// Plugin is a protocol.IMPP, protocol.Telephony or protocol.Policy,
	// as Kind says.
	Plugin any
	// LaunchTime is how long starting it took (for --debug).
	LaunchTime time.Duration
	// Exited says how its process ended ("" while it runs, and for
	// plugins that are not processes).
	Exited func() string
	// Stop stops it; nil when there is nothing to stop.
	Stop func()
	// Lease says that Plugin lends live sessions another process keeps
	// (Lender): its Connect logs nobody in and needs no password.
	Lease bool
}

func (s *Started) close() {
	if s != nil && s.Stop != nil {
		s.Stop()
	}
}

func (s *Started) exited() string {
	if s == nil || s.Exited == nil {
		return ""
	}
	return s.Exited()
}

// FromHost is the Source of the cusax binary: plugins discovered and
// launched by the plugin host.
func FromHost(h *pluginhost.Host) Source { return hostSource{h} }

type hostSource struct{ h *pluginhost.Host }

func (s hostSource) DecisionTimeout() time.Duration { return s.h.DecisionTimeout }

func (s hostSource) Lookup(kind protocol.Kind, name string) error {
	cands, _, err := s.h.Candidates()
	if err != nil {
		return err
	}
	_, err = pluginhost.Find(cands, kind, name)
	return err
}

func (s hostSource) Start(ctx context.Context, kind protocol.Kind, name string) (*Started, error) {
	inst, err := s.h.Start(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	var p any
	switch kind {
	case protocol.KindIMPP:
		p, err = inst.IMPP()
	case protocol.KindTelephony:
		p, err = inst.Telephony()
	case protocol.KindPolicy:
		p, err = inst.Policy()
	default:
		err = fmt.Errorf("unknown plugin kind %q", kind)
	}
	if err != nil {
		inst.Close()
		return nil, err
	}
	return &Started{
		Kind: kind, Name: name, Info: inst.Info, Plugin: p, LaunchTime: inst.LaunchTime,
		Exited: inst.Exited, Stop: inst.Close,
	}, nil
}
