// Command cusax-plugin-impp-xmpp serves the XMPP backend as a standalone
// plugin (the cusax binary also serves it built in).
package main

import (
	"os"

	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	xmppbackend "github.com/cusax/cusax/plugins/xmpp"
)

func main() {
	logger := cusaxv1.PluginLogger("xmpp", os.Getenv("CUSAX_PLUGIN_LOG_LEVEL"))
	cusaxv1.Serve(cusaxv1.ServeConfig{IMPP: xmppbackend.New(logger), Logger: logger})
}
