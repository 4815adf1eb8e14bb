package cusaxv1

import (
	"context"

	"github.com/cusax/cusax/pkg/protocol"
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
