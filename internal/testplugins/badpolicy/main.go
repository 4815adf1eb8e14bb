// Command badpolicy is a deliberately misbehaving policy plugin for tests
// (built as cusax-plugin-policy-bad). Its [policies.bad] setting
// `approve_cost` chooses what it does when asked ApproveCost:
//
//	crash   the process exits with status 2 mid-RPC
//	hang    the RPC never returns
//	(other) it abstains
//
// It exists to prove that a broken policy fails the command with a clear
// error within the decision timeout, never hangs it.
package main

import (
	"context"
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
)

type bad struct {
	protocol.AbstainingPolicy
	mode string
}

func (bad) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "bad", Version: "0", APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapApproveCost}, Description: "test only: crashes or hangs on request"}, nil
}

func (b bad) ApproveCost(ctx context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	switch b.mode {
	case "crash":
		os.Exit(2)
	case "hang":
		select {} // ignores ctx too: the host must not rely on the plugin giving up
	}
	return b.AbstainingPolicy.ApproveCost(ctx, req)
}

func main() {
	settings, err := plugin.PolicySettings()
	if err != nil {
		os.Exit(1)
	}
	plugin.Serve(plugin.ServeConfig{Policy: bad{mode: settings["approve_cost"]}, Logger: plugin.Logger("bad", os.Getenv(protocol.LogLevelEnv))})
}
