// Command cusax-plugin-policy-default serves the default policy as a
// standalone plugin (the cusax binary also serves it built in).
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/policy"
)

func main() {
	policy.Version = plugin.BuildVersion(policy.Version)
	plugin.Serve(plugin.ServeConfig{
		Policy: policy.New(),
		Logger: plugin.Logger(policy.Name, os.Getenv(protocol.LogLevelEnv)),
	})
}
