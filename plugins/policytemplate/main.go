// Command policytemplate is the minimal policy plugin of docs/plugins.md,
// kept here so CI compiles it and a test keeps the page in step with it.
// Build it as cusax-plugin-policy-nightowl and chain it with
// `policy = ["nightowl"]`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
)

// nightOwl abstains from every decision (AbstainingPolicy) but one.
type nightOwl struct {
	protocol.AbstainingPolicy
	refuse string // [policies.nightowl] refuse = "pstn" | "none"
	err    error  // bad settings: Info fails, so cusax does not start it
}

func (p nightOwl) Info(context.Context) (protocol.Info, error) {
	if p.err != nil {
		return protocol.Info{}, p.err
	}
	return protocol.Info{Kind: protocol.KindPolicy, Name: "nightowl", Version: "1.0.0",
		APIVersion: protocol.APIVersion, Capabilities: []protocol.Capability{protocol.CapApproveCost}}, nil
}

// ApproveCost refuses calls to phone numbers, whatever the policies
// before it (req.Prior) said; otherwise it keeps their decision.
func (p nightOwl) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	if p.refuse == "pstn" && req.PSTN && req.Prior.Verdict != protocol.Deny {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "nightowl: no phone calls"}, nil
	}
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}

func main() {
	p := nightOwl{refuse: "pstn"}
	settings, err := plugin.PolicySettings() // the [policies.nightowl] table
	for k, v := range settings {
		switch {
		case k == "refuse" && (v == "pstn" || v == "none"):
			p.refuse = v
		default:
			err = fmt.Errorf("nightowl: setting %s = %q: want refuse = \"pstn\" or \"none\"", k, v)
		}
	}
	p.err = err
	plugin.Serve(plugin.ServeConfig{Policy: p,
		Logger: plugin.Logger("nightowl", os.Getenv(protocol.LogLevelEnv))})
}
