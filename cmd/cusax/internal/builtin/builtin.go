// Package builtin lists the plugins compiled into the cusax binary and
// serves one of them when cusax is re-executed as `cusax __plugin KIND NAME`.
package builtin

import (
	"fmt"
	"os"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/policy"
	sipbackend "github.com/cusax/cusax/plugins/sip"
	"github.com/cusax/cusax/plugins/sipmessage"
	xmppbackend "github.com/cusax/cusax/plugins/xmpp"
	"github.com/hashicorp/go-hclog"
)

// Plugins are the built-in plugins.
var Plugins = []pluginhost.BuiltIn{
	{Kind: protocol.KindIMPP, Name: "xmpp"},
	{Kind: protocol.KindTelephony, Name: "sip"},
	{Kind: protocol.KindIMPP, Name: sipmessage.Name},
	{Kind: protocol.KindPolicy, Name: policy.Name},
}

// SetVersion makes the built-in plugins report version v, the cusax
// binary's own, so that `cusax plugins` and `cusax version` agree (each
// plugin package defaults to "dev").
func SetVersion(v string) {
	xmppbackend.Version = v
	sipbackend.Version = v
	sipmessage.Version = v
	policy.Version = v
}

// Config returns the serve configuration of a built-in plugin.
func Config(kind protocol.Kind, name string, logger hclog.Logger) (plugin.ServeConfig, error) {
	cfg := plugin.ServeConfig{Logger: logger}
	switch {
	case kind == protocol.KindIMPP && name == "xmpp":
		cfg.IMPP = xmppbackend.New(logger)
	case kind == protocol.KindIMPP && name == sipmessage.Name:
		cfg.IMPP = sipmessage.New(logger)
	case kind == protocol.KindTelephony && name == "sip":
		cfg.Telephony = sipbackend.New(logger)
	case kind == protocol.KindPolicy && name == policy.Name:
		cfg.Policy = policy.New()
	default:
		return cfg, fmt.Errorf("no built-in %s plugin %q", kind, name)
	}
	return cfg, nil
}

// Serve serves the built-in plugin named by args (KIND NAME) and returns
// the process exit code. Nothing may write to stdout here: it belongs to
// the go-plugin handshake.
func Serve(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "cusax: error: usage: cusax __plugin KIND NAME (internal)")
		return 2
	}
	logger := plugin.Logger(args[1], os.Getenv(protocol.LogLevelEnv))
	cfg, err := Config(protocol.Kind(args[0]), args[1], logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cusax: error:", err)
		return 6
	}
	plugin.Serve(cfg)
	return 0
}
