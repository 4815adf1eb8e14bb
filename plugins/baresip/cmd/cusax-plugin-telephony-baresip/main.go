// Command cusax-plugin-telephony-baresip serves the baresip telephony
// backend: put it in a plugin directory (docs/plugin-protocol.md) and
// select it with backend = "baresip" in an account's [account.sip] table
// (docs/baresip-backend.md).
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/baresip"
)

func main() {
	baresip.Version = plugin.BuildVersion(baresip.Version)
	// Logs go to stderr at the host's level; stdout belongs to the
	// go-plugin handshake.
	log := plugin.Logger("telephony-"+baresip.Name, os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{Telephony: baresip.New(log), Logger: log})
}
