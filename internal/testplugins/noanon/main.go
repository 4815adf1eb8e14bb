// Command noanon is a policy plugin for tests (built as
// cusax-plugin-policy-noanon), written as a third party would write one:
// pkg/protocol and pkg/protocol/plugin only. It refuses anonymous callers
// (RFC 7081 §3.5: accepting calls from people outside the roster is a
// matter of policy) and abstains from everything else.
package main

import (
	"context"
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
)

type noAnon struct{ protocol.AbstainingPolicy }

func (noAnon) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "noanon", Version: "0", APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapCallerBinding}, Description: "test only: no anonymous callers"}, nil
}

// JudgeCallerBinding denies the "anonymous" verdict (a withheld identity,
// RFC 3323) and leaves every other caller to the rest of the chain.
func (noAnon) JudgeCallerBinding(_ context.Context, req protocol.BindingRequest) (protocol.Decision, error) {
	if req.Verdict == "anonymous" {
		return protocol.Decision{Verdict: protocol.Deny, Reason: "noanon: anonymous callers are refused"}, nil
	}
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}

func main() {
	plugin.Serve(plugin.ServeConfig{Policy: noAnon{}, Logger: plugin.Logger("noanon", os.Getenv(protocol.LogLevelEnv))})
}
