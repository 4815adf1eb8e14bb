// Command cusax-plugin-telephony-sip serves the SIP backend as a standalone
// plugin (the cusax binary also serves it built in).
package main

import (
	"os"

	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	sipbackend "github.com/cusax/cusax/plugins/sip"
)

func main() {
	logger := cusaxv1.PluginLogger("sip", os.Getenv("CUSAX_PLUGIN_LOG_LEVEL"))
	cusaxv1.Serve(cusaxv1.ServeConfig{Telephony: sipbackend.New(logger), Logger: logger})
}
