// Package tollguard is a policy plugin that guards calls which cost money
// or must not be dialled by accident (RFC 7081 §5: "calls to inter-domain
// numbers [should be] flagged"). It classifies the dialled number with
// github.com/nyaruka/phonenumbers (libphonenumber's metadata) as
// premium-rate, shared-cost, international or emergency, and refuses or
// asks per its settings ([policies.tollguard] in the config). It is built
// as its own executable, cusax-plugin-policy-tollguard, and chained after
// the default policy (`policy = ["tollguard"]`); see docs/plugins.md.
//
// A guard only tightens: a class set to "allow" abstains, so the guard
// never loosens what an earlier policy refused or asked about.
package tollguard

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/protocol"
)

// Name is the plugin name.
const Name = "tollguard"

// Version is set at build time.
var Version = "dev"

// Guard is the policy. Its zero value guards with Defaults and no region.
type Guard struct {
	protocol.AbstainingPolicy
	settings Settings
	err      error
}

var _ protocol.Policy = Guard{}

// New returns a guard with the given settings table (the plugin's
// CUSAX_POLICY_SETTINGS). Bad settings do not fail here: Info reports
// them, so cusax refuses to start the plugin and says which key is wrong.
func New(table map[string]string) Guard {
	s, err := ParseSettings(table)
	return Guard{settings: s, err: err}
}

// Info describes the guard, or fails when its settings are bad.
func (g Guard) Info(context.Context) (protocol.Info, error) {
	if g.err != nil {
		return protocol.Info{}, g.err
	}
	return protocol.Info{
		Kind: protocol.KindPolicy, Name: Name, Version: Version, APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapApproveCost},
		Description:  "toll guard: refuses or asks before premium-rate, shared-cost, international and emergency numbers",
	}, nil
}

// ApproveCost classifies the dialled number and applies the strictest
// action among its classes. It abstains for SIP addresses, numbers of no
// guarded class, classes set to allow, and when the decision so far is
// already a refusal. An "ask" is satisfied by --yes (req.Confirmed).
func (g Guard) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	s := g.settings
	if s.Actions == nil {
		s = Defaults()
	}
	number, ok := Number(req.URI)
	if !ok {
		return protocol.Decision{Verdict: protocol.Abstain, Reason: "tollguard: not a phone number"}, nil
	}
	home := s.Region
	if home == "" {
		home = req.Region
	}
	var worst *Finding
	var action Action = Allow
	for _, f := range Classify(number, home) {
		if a := s.Actions[f.Class]; a.strictness() > action.strictness() {
			worst, action = &f, a
		}
	}
	if worst == nil {
		return protocol.Decision{Verdict: protocol.Abstain, Reason: "tollguard: " + number + " is in no guarded class"}, nil
	}
	reason := fmt.Sprintf("tollguard: %s; %s = %q", worst.Why, worst.Class, action)
	switch {
	case req.Prior.Verdict == protocol.Deny:
		return protocol.Decision{Verdict: protocol.Abstain, Reason: reason + "; already refused"}, nil
	case action == Deny:
		return protocol.Decision{Verdict: protocol.Deny, Reason: reason}, nil
	case req.Confirmed:
		return protocol.Decision{Verdict: protocol.Abstain, Reason: reason + "; confirmed with --yes"}, nil
	}
	return protocol.Decision{Verdict: protocol.Ask, Reason: reason}, nil
}

// Broken is a guard that cannot start: Info answers err.
func Broken(err error) Guard { return Guard{err: err} }
