// Command cusax-plugin-impp-xmpp serves the XMPP backend as a standalone
// plugin (the cusax binary also serves it built in).
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	xmppbackend "github.com/cusax/cusax/plugins/xmpp"
)

func main() {
	xmppbackend.Version = plugin.BuildVersion(xmppbackend.Version)
	logger := plugin.Logger("xmpp", os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{IMPP: xmppbackend.New(logger), Logger: logger})
}
