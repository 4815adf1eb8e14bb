// Package examplepolicy is an example third-party policy plugin, built as
// its own executable (cusax-plugin-policy-example) and found in a plugin
// directory. It refuses every call to a phone number and abstains from
// everything else, to show how a policy changes one decision without
// forking cusax. See docs/plugin-protocol.md.
package examplepolicy

import (
	"context"

	"github.com/cusax/cusax/pkg/protocol"
)

// Policy is the example policy.
type Policy struct {
	protocol.AbstainingPolicy
}

var _ protocol.Policy = Policy{}

// Info describes the plugin.
func (Policy) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindPolicy, Name: "example", Version: "0.1.0", APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapApproveCost},
		Description:  "example: no calls to phone numbers",
	}, nil
}

// ApproveCost denies calls to phone numbers.
func (Policy) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	if req.PSTN {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "example policy: calls to phone numbers are off"}, nil
	}
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}
