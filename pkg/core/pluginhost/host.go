package pluginhost

import (
	"context"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Host is what commands use: the plugins that exist and a way to start one.
type Host struct {
	Self     string
	BuiltIns []BuiltIn
	Dirs     []string
	Launcher Launcher
	// InstanceEnv, when set, returns extra environment for one plugin
	// (a policy's settings as CUSAX_POLICY_SETTINGS); nil adds nothing.
	// It must not return secrets: plugins may log their environment.
	InstanceEnv func(kind protocol.Kind, name string) ([]string, error)
	// DecisionTimeout bounds each answer of a policy plugin (config
	// [plugins] decision_timeout); 0 means policychain.DefaultTimeout.
	DecisionTimeout time.Duration

	once     sync.Once
	cands    []Candidate
	warnings []string
	err      error
}

// Candidates discovers the plugins once.
func (h *Host) Candidates() ([]Candidate, []string, error) {
	h.once.Do(func() { h.cands, h.warnings, h.err = Discover(h.Self, h.BuiltIns, h.Dirs) })
	return h.cands, h.warnings, h.err
}

// Start finds and launches the plugin of kind and name.
func (h *Host) Start(ctx context.Context, kind protocol.Kind, name string) (*Instance, error) {
	cands, _, err := h.Candidates()
	if err != nil {
		return nil, err
	}
	c, err := Find(cands, kind, name)
	if err != nil {
		return nil, err
	}
	var env []string
	if h.InstanceEnv != nil {
		if env, err = h.InstanceEnv(kind, name); err != nil {
			return nil, err
		}
	}
	return h.Launcher.LaunchEnv(ctx, c, env)
}
