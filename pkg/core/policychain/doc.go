// Package policychain runs one decision through an account's chain of
// policy plugins, in the documented order (docs/plugins.md): the default
// policy first, then the account's `policy = [...]` list. Each policy gets
// the decision so far (protocol.Prior); abstaining keeps it, any other
// verdict replaces it, so the last policy that did not abstain decides and
// a policy chained after the default can still change a call (RFC 7081 §5:
// cost cues the provider or the user adds).
//
// Every policy's answer is bounded by the chain's Timeout, and a plugin
// that hangs or dies mid-decision is an error naming it (wrapping
// pluginhost.ErrFailed), never a hung command. callplan (account, cost),
// login (security parity) and the audit re-weighing all use Run, so the
// order and the bounds are the same for every decision.
package policychain
