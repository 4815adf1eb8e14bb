// Command cusax-plugin-policy-example serves the example policy plugin.
// Copy it into a plugin directory ($XDG_DATA_HOME/cusax/plugins) and
// `cusax plugins` lists it.
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	examplepolicy "github.com/cusax/cusax/plugins/example-policy"
)

func main() {
	plugin.Serve(plugin.ServeConfig{
		Policy: examplepolicy.Policy{},
		Logger: plugin.Logger("example", os.Getenv(protocol.LogLevelEnv)),
	})
}
