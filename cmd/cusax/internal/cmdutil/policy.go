package cmdutil

import (
	"fmt"

	"github.com/cusax/cusax/pkg/protocol"
)

// DebugPolicyChain prints, with --debug, one line per policy a decision
// consulted, in chain order, on stderr:
//
//	cusax: policy default: ApproveCost allow (a SIP call within the service) 0.4 ms
//
// (docs/plugins.md: every decision records which policy made it).
func DebugPolicyChain(f *Factory, op string, d protocol.Decision) {
	if !f.Logger().IsDebug() {
		return
	}
	for _, s := range d.Chain {
		line := fmt.Sprintf("cusax: policy %s: %s %s", s.Policy, op, s.Verdict)
		if s.Choice != "" {
			line += " " + s.Choice
		}
		if s.Reason != "" {
			line += " (" + s.Reason + ")"
		}
		fmt.Fprintf(f.IO.ErrOut, "%s %.1f ms\n", line, s.ElapsedMS)
	}
}
