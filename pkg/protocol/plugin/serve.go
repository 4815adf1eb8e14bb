package plugin

import (
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

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
	set := goplugin.PluginSet{}
	if cfg.IMPP != nil {
		set[string(protocol.KindIMPP)] = &cusaxv1.IMPPPlugin{Impl: cfg.IMPP}
	}
	if cfg.Telephony != nil {
		set[string(protocol.KindTelephony)] = &cusaxv1.TelephonyPlugin{Impl: cfg.Telephony}
	}
	if cfg.Policy != nil {
		set[string(protocol.KindPolicy)] = &cusaxv1.PolicyPlugin{Impl: cfg.Policy}
	}
	serveUntilHostGone(func() {
		goplugin.Serve(&goplugin.ServeConfig{
			HandshakeConfig:  cusaxv1.Handshake,
			VersionedPlugins: map[int]goplugin.PluginSet{protocol.APIVersion: set},
			GRPCServer:       goplugin.DefaultGRPCServer,
			Logger:           cfg.Logger,
		})
	}, cfg.Logger)
}

// Logger returns the logger a plugin process should use: JSON on stderr,
// which the host re-emits (only with --debug), at level, which is what the
// host passed in protocol.LogLevelEnv (CUSAX_PLUGIN_LOG_LEVEL).
func Logger(name string, level string) hclog.Logger {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		lvl = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: lvl, JSONFormat: true, Output: stderr()})
}
