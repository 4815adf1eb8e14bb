// Command cusax-plugin-policy-default serves the default policy as a
// standalone plugin (the cusax binary also serves it built in).
package main

import (
	"os"

	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/plugins/policy"
)

func main() {
	cusaxv1.Serve(cusaxv1.ServeConfig{
		Policy: policy.New(),
		Logger: cusaxv1.PluginLogger(policy.Name, os.Getenv("CUSAX_PLUGIN_LOG_LEVEL")),
	})
}
