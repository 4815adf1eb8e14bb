// Command cusax-plugin-policy-tollguard serves the toll guard policy.
// Copy it into a plugin directory and chain it after the default policy:
//
//	[[account]]
//	policy = ["tollguard"]
//
//	[policies.tollguard]
//	premium_rate = "deny"
//	region = "DE"
package main

import (
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	"github.com/cusax/cusax/plugins/tollguard"
)

func main() {
	tollguard.Version = plugin.BuildVersion(tollguard.Version)
	logger := plugin.Logger(tollguard.Name, os.Getenv(protocol.LogLevelEnv))
	table, err := plugin.PolicySettings()
	guard := tollguard.New(table)
	if err != nil {
		guard = tollguard.Broken(err)
	}
	plugin.Serve(plugin.ServeConfig{Policy: guard, Logger: logger})
}
