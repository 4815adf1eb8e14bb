// Command cusax-plugin-impp-sipmessage serves the SIP MESSAGE IMPP
// backend (RFC 3428). Put it in a plugin directory (docs/plugin-protocol.md)
// or use the copy built into cusax; an account uses it for chat with
// im_over_sip = true in [account.features], or when it has SIP and no XMPP
// (docs/sipmessage-backend.md).
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/sipmessage"
)

func main() {
	sipmessage.Version = plugin.BuildVersion(sipmessage.Version)
	// Logs go to stderr as JSON at the host's level; stdout belongs to
	// the go-plugin handshake.
	log := plugin.Logger("impp-"+sipmessage.Name, os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{IMPP: sipmessage.New(log), Logger: log})
}
