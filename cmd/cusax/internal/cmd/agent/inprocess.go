package agent

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/builtin"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-hclog"
)

// agentSource is the agent's own Source. The built-in xmpp and sip
// backends run in the agent's process: the agent lives for weeks while
// every one-liner pays each hop between processes, and the plugin hop was
// the largest part of a one-liner's time (docs/agent.md). Third-party
// backends named in the config, and built-ins replaced by an external
// plugin of the same name, still run as go-plugin processes. The agent
// wraps every backend in a guard, so a panic in a call ends that backend,
// not the agent. A Factory whose plugin host knows no built-ins (the
// server-free tests) gives its Backends as they are.
func agentSource(f *cmdutil.Factory) (session.Source, error) {
	host, err := f.Plugins()
	if err != nil {
		return nil, err
	}
	if len(host.BuiltIns) == 0 {
		return f.Backends()
	}
	return inProcess{Source: session.FromHost(host), host: host, log: f.Logger()}, nil
}

// inProcess starts the built-in backends in this process and everything
// else through the plugin host.
type inProcess struct {
	session.Source
	host *pluginhost.Host
	log  hclog.Logger
}

func (s inProcess) Start(ctx context.Context, kind protocol.Kind, name string) (*session.Started, error) {
	if kind != protocol.KindIMPP && kind != protocol.KindTelephony {
		return s.Source.Start(ctx, kind, name)
	}
	cands, _, err := s.host.Candidates()
	if err != nil {
		return nil, err
	}
	c, err := pluginhost.Find(cands, kind, name)
	if err != nil || !c.BuiltIn {
		return s.Source.Start(ctx, kind, name)
	}
	cfg, err := builtin.Config(kind, name, s.log.Named(name))
	if err != nil {
		return nil, err
	}
	var p protocol.Describer
	switch kind {
	case protocol.KindIMPP:
		p = cfg.IMPP
	case protocol.KindTelephony:
		p = cfg.Telephony
	}
	if p == nil {
		return nil, fmt.Errorf("built-in %s plugin %q: %w", kind, name, pluginhost.ErrPluginNotFound)
	}
	info, err := p.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &session.Started{Kind: kind, Name: name, Info: info, Plugin: p}, nil
}
