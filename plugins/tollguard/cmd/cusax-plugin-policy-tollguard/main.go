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

	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/plugins/tollguard"
)

func main() {
	logger := cusaxv1.PluginLogger(tollguard.Name, os.Getenv("CUSAX_PLUGIN_LOG_LEVEL"))
	table, err := cusaxv1.PolicySettings()
	guard := tollguard.New(table)
	if err != nil {
		guard = tollguard.Broken(err)
	}
	cusaxv1.Serve(cusaxv1.ServeConfig{Policy: guard, Logger: logger})
}
