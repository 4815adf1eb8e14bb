// Command cusax-plugin-telephony-sip serves the SIP backend as a standalone
// plugin (the cusax binary also serves it built in).
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	sipbackend "github.com/cusax/cusax/plugins/sip"
)

func main() {
	sipbackend.Version = plugin.BuildVersion(sipbackend.Version)
	logger := plugin.Logger("sip", os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{Telephony: sipbackend.New(logger), Logger: logger})
}
