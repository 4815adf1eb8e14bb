package cusaxv1

import (
	"context"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Handshake is the go-plugin handshake. The cookie never changes; it only
// stops a user from running a plugin binary by hand by mistake (it is not a
// security measure). The protocol version is the API major version.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  protocol.APIVersion,
	MagicCookieKey:   "CUSAX_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "2f6d1c7e0b9a4e55a3c18f04d6b2e97c",
}

// IMPPPlugin is the go-plugin glue for an IMPP backend.
type IMPPPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl protocol.IMPP
}

func (p *IMPPPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterIMPPServer(s, &imppServer{impl: p.Impl})
	return nil
}

func (p *IMPPPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (interface{}, error) {
	return NewIMPPHost(cc), nil
}

// TelephonyPlugin is the go-plugin glue for a telephony backend.
type TelephonyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl protocol.Telephony
}

func (p *TelephonyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterTelephonyServer(s, &telephonyServer{impl: p.Impl})
	return nil
}

func (p *TelephonyPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (interface{}, error) {
	return NewTelephonyHost(cc), nil
}

// PolicyPlugin is the go-plugin glue for a policy.
type PolicyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl protocol.Policy
}

func (p *PolicyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterPolicyServer(s, &policyServer{impl: p.Impl})
	return nil
}

func (p *PolicyPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (interface{}, error) {
	return NewPolicyHost(cc), nil
}

// ClientPlugins is the plugin set a host dispenses from, keyed by kind.
func ClientPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		protocol.APIVersion: {
			string(protocol.KindIMPP):      &IMPPPlugin{},
			string(protocol.KindTelephony): &TelephonyPlugin{},
			string(protocol.KindPolicy):    &PolicyPlugin{},
		},
	}
}

// ServeConfig says what one plugin process serves. Set exactly one backend.
type ServeConfig struct {
	IMPP      protocol.IMPP
	Telephony protocol.Telephony
	Policy    protocol.Policy
	// Logger writes to stderr (stdout belongs to the go-plugin handshake).
	Logger hclog.Logger
}

// Serve runs the plugin until the host stops it or goes away. Call it
// before anything else writes to stdout. A plugin must not outlive its
// host: when the host dies (even by SIGKILL, seen as a new parent pid), or
// the plugin gets SIGTERM or SIGHUP, every open session is closed — XMPP
// logs out, SIP unregisters — within 2 s and the process exits. Sessions
// the host left open when it stops the plugin are closed the same way.
func Serve(cfg ServeConfig) {
	set := plugin.PluginSet{}
	if cfg.IMPP != nil {
		set[string(protocol.KindIMPP)] = &IMPPPlugin{Impl: cfg.IMPP}
	}
	if cfg.Telephony != nil {
		set[string(protocol.KindTelephony)] = &TelephonyPlugin{Impl: cfg.Telephony}
	}
	if cfg.Policy != nil {
		set[string(protocol.KindPolicy)] = &PolicyPlugin{Impl: cfg.Policy}
	}
	serveUntilHostGone(func() {
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{protocol.APIVersion: set},
			GRPCServer:       plugin.DefaultGRPCServer,
			Logger:           cfg.Logger,
		})
	}, cfg.Logger)
}

// PluginLogger returns the logger a plugin process should use: JSON on
// stderr, which the host re-emits (only with --debug), at the level the
// host passed in CUSAX_PLUGIN_LOG_LEVEL.
func PluginLogger(name string, level string) hclog.Logger {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		lvl = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: lvl, JSONFormat: true, Output: stderr()})
}
