package enrol

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/parity"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-hclog"
)

// Env is what the workflow works with: where backends come from, where
// secrets and the config are kept, and where progress goes. Only Source,
// Store and ConfigPath are required.
type Env struct {
	Source     session.Source
	Store      secrets.Store
	ConfigPath string
	// Prompter asks the user; nil never asks.
	Prompter Prompter
	// Log gets debug timings; nil is silent.
	Log hclog.Logger
	// Progress gets one line per step ("starting plugins"); nil is silent.
	Progress func(string)
	// Warn gets warnings about a provider's document; nil drops them.
	Warn func(string)
}

func (e Env) progress(msg string) {
	if e.Progress != nil {
		e.Progress(msg)
	}
}

func (e Env) warn(msg string) {
	if e.Warn != nil {
		e.Warn(msg)
	}
}

func (e Env) log() hclog.Logger {
	if e.Log == nil {
		return hclog.NewNullLogger()
	}
	return e.Log
}

// Job is an account ready to be proved live and saved.
type Job struct {
	Account      config.Account
	XMPPPassword string
	SIPPassword  string
	// MinTLS is the user's floor for both aspects ("", "1.2", "1.3"); ""
	// takes the one of the provider's document, if any.
	MinTLS string
	// Parallel logs into both aspects at once instead of SIP first.
	Parallel bool
	// Timeout bounds each aspect's login (0: the session default).
	Timeout time.Duration
	// PublishReach publishes the SIP AOR as a reachability address
	// (XEP-0152) from the XMPP session; it needs both aspects.
	PublishReach bool
	// Policies, when SetPolicies, replaces the account's policy list
	// (PolicyList says how "default" is read); every one must be
	// installed.
	Policies    []string
	SetPolicies bool
	// RequireParity refuses to save an account whose aspects are not
	// protected alike (a warning finding or worse, RFC 7081 §7).
	RequireParity bool
	// SaveAnyway saves the account even if an aspect failed.
	SaveAnyway bool
	// Provisioned is what a provider's document adds (nil when set up by
	// hand): saved along with the account.
	Provisioned *Provisioned
}

// Outcome is what Prove did.
type Outcome struct {
	// Account is the account as proved (and saved, when Saved).
	Account config.Account
	// Result is the login of both aspects.
	Result session.Result
	// Decision is the parity findings as the policy chain judged them
	// (Findings is Result.Findings when there was nothing to judge).
	Decision protocol.ParityDecision
	// ParityFailed: RequireParity and a finding of warning or worse.
	ParityFailed bool
	// PolicyDenied: a policy refused the account on its parity.
	PolicyDenied bool
	// Saved: the account and its passwords were saved.
	Saved bool
}

// OK reports whether the account works and was accepted: every aspect
// logged in, no policy refused it, and parity held where it was required.
func (o *Outcome) OK() bool {
	return o.Result.OK() && !o.PolicyDenied && !o.ParityFailed
}

// Prove logs into both aspects of j.Account (RFC 7081 §2: SIP first unless
// Parallel), has the account's policy chain judge their parity (§7), and
// saves the account, its passwords and what its provider's document adds
// when every aspect logged in (or SaveAnyway), no policy refused it and
// RequireParity holds. Nothing is saved otherwise.
//
// The error is for what stopped the proof itself (bad input: a usage
// *Error; plugins that did not start; a policy that failed; a failed
// save; ctx ended, then with the Outcome so far). A login that failed is
// not an error: the Outcome says so (Result.Err).
func Prove(ctx context.Context, env Env, j Job) (*Outcome, error) {
	acct := j.Account
	log := env.log()
	minTLS := j.MinTLS
	if minTLS == "" && j.Provisioned != nil {
		minTLS = j.Provisioned.MinTLS
	}
	if j.SetPolicies {
		acct.Policy = PolicyList(j.Policies)
		if err := acct.Validate(); err != nil {
			return nil, usagef(nil, "--policy: %v", err)
		}
		if err := PoliciesInstalled(env.Source, acct.Policy); err != nil {
			return nil, err
		}
	}
	var reach []protocol.ReachAddress
	if j.PublishReach {
		if acct.SIP == nil || acct.XMPP == nil {
			return nil, usagef(nil, "--publish-reach needs both aspects (--jid and --aor)")
		}
		reach = []protocol.ReachAddress{{URI: acct.SIP.AOR, Desc: "Telephony (SIP)"}}
	}
	ca, err := session.ReadCA(acct)
	if err != nil {
		return nil, usagef(nil, "%v", err)
	}

	env.progress("starting plugins")
	t0 := time.Now()
	plugins, err := session.Open(ctx, env.Source, acct, session.Fresh())
	if err != nil {
		return nil, err
	}
	log.Debug("plugins started", "ms", time.Since(t0).Milliseconds())
	defer func() {
		t := time.Now()
		plugins.Close()
		log.Debug("plugins stopped", "ms", time.Since(t).Milliseconds())
	}()
	if acct.SIP != nil && !j.Parallel {
		env.progress("registering Telephony (SIP) as " + acct.SIP.AOR)
	}
	res := session.Prove(ctx, plugins.Backends, session.Request{
		Account: acct, XMPPPassword: j.XMPPPassword, SIPPassword: j.SIPPassword, CAPEM: ca,
		Parallel: j.Parallel, MinTLS: minTLS, Timeout: j.Timeout, PublishReach: reach,
		TelephonyInfo: plugins.TelephonyInfo(),
	})
	out := &Outcome{Account: acct, Result: res, Decision: protocol.ParityDecision{Findings: res.Findings}}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	log.Debug("login proved", "ms", res.Elapsed.Milliseconds())

	if len(res.Findings) > 0 {
		// Findings exist only when both aspects reported (parity.Compare).
		policies, err := plugins.Policies(ctx)
		if err != nil {
			return out, err
		}
		out.Decision, err = session.JudgeParity(ctx, policies, protocol.ParityRequest{
			Account: acct.Name, Chat: *res.Chat.Report, Telephony: *res.Telephony.Report, Findings: res.Findings,
		})
		if err != nil {
			return out, err
		}
	}
	out.ParityFailed = j.RequireParity && Worst(out.Decision.Findings) >= parity.Rank(parity.Warning)
	out.PolicyDenied = out.Decision.Verdict == protocol.Deny

	if (res.OK() || j.SaveAnyway) && !out.ParityFailed && !out.PolicyDenied {
		t := time.Now()
		if err := save(ctx, env.ConfigPath, env.Store, acct, j.XMPPPassword, j.SIPPassword, j.Provisioned); err != nil {
			return out, err
		}
		out.Saved = true
		log.Debug("account saved", "ms", time.Since(t).Milliseconds())
	}
	return out, nil
}

// Worst is the highest parity.Rank among the findings, -1 for none.
func Worst(fs []protocol.ParityFinding) int {
	w := -1
	for _, f := range fs {
		if r := parity.Rank(f.Severity); r > w {
			w = r
		}
	}
	return w
}

// PolicyList is the account's policy list from --policy: the default
// policy always runs first (docs/plugins.md), so naming it alone clears
// the list, and naming it among others keeps the place the user gave it.
func PolicyList(names []string) []string {
	if len(names) == 1 && names[0] == "default" {
		return nil
	}
	return names
}

// PoliciesInstalled fails early (pluginhost.ErrPluginNotFound or
// ErrRefused: a command exits 6) when a named policy plugin cannot be
// started, rather than at the first decision.
func PoliciesInstalled(src session.Source, names []string) error {
	for _, n := range names {
		err := src.Lookup(protocol.KindPolicy, n)
		if errors.Is(err, pluginhost.ErrRefused) {
			// There, but others could have written it: never run.
			return fmt.Errorf("--policy %s: %w", n, err)
		}
		if err != nil {
			return hint(fmt.Errorf("--policy %s: no policy plugin of that name (cusax-plugin-policy-%s): %w", n, n, pluginhost.ErrPluginNotFound),
				"put the executable in a plugin directory (see cusax plugins) or give --plugin-dir")
		}
	}
	return nil
}
