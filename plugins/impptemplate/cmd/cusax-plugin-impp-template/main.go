// Command cusax-plugin-impp-template serves the template IMPP backend.
// Put it in a plugin directory (see docs/plugin-protocol.md) and select it
// with backend = "template" in an account's [account.xmpp] table or with
// --xmpp-backend template.
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/impptemplate"
)

func main() {
	// Logs go to stderr as JSON at the host's level; stdout belongs to
	// the go-plugin handshake.
	log := plugin.Logger("impp-"+impptemplate.Name, os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{IMPP: impptemplate.New(log), Logger: log})
}
