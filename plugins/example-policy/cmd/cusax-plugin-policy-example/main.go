// Command cusax-plugin-policy-example serves the example policy plugin.
// Copy it into a plugin directory ($XDG_DATA_HOME/cusax/plugins) and
// `cusax plugins` lists it.
package main

import (
	"os"

	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	examplepolicy "github.com/cusax/cusax/plugins/example-policy"
)

func main() {
	cusaxv1.Serve(cusaxv1.ServeConfig{
		Policy: examplepolicy.Policy{},
		Logger: cusaxv1.PluginLogger("example", os.Getenv("CUSAX_PLUGIN_LOG_LEVEL")),
	})
}
