// Command cusax-plugin-telephony-template serves the template telephony
// backend. Put it in a plugin directory (see docs/plugin-protocol.md) and
// select it with backend = "template" in an account's [account.sip] table
// or with --sip-backend template.
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/telephonytemplate"
)

func main() {
	// Logs go to stderr as JSON at the host's level; stdout belongs to
	// the go-plugin handshake.
	log := plugin.Logger("telephony-"+telephonytemplate.Name, os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{Telephony: telephonytemplate.New(log), Logger: log})
}
