// Package audit turns what the TLS probes observed about a CUSAX account
// into findings, reports and exit codes for `cusax audit-tls`. It does no
// IO of its own except the certificate-change state file; the probing is
// another package's job, and its results reach this one as plain structs
// (AccountFacts), so the rules can be table-tested without a network.
//
// The pieces:
//
//   - The catalogue (Checks): every check's ID, requirement, spec section
//     and fix. IDs are stable; profiles and scripts name them. A failed
//     finding is titled by what failed (failtitle.go), any other by the
//     requirement, which every finding also carries.
//   - Profiles: data, not code. The built-in "bcp195" profile
//     (profiles/bcp195.toml, embedded) gives every check a severity by the
//     RFC 2119 keyword it enforces; user profiles (LoadProfile) override
//     entries strictly (Profile.Override).
//   - Reweigh: a policy plugin's severity changes (protocol.AuditJudge,
//     run by pkg/core/session.ReweighAudit) applied to a report, each
//     changed finding recording the policy and its reason (Override).
//   - Evaluate: the rules, pure functions of AccountFacts and a Profile.
//     Unobserved facts make checks Skipped; a failed probe is one Error
//     per endpoint (its other checks Skipped), a target none of whose
//     names resolve one Error (disc.resolve); nothing unobserved is ever
//     reported as passed.
//   - State: the last certificate seen per endpoint and identity, in
//     $XDG_STATE_HOME/cusax/audit-state.json, for RFC 7590 §3.6's "be
//     warned if the certificate changes".
//   - Report, WriteNDJSON and ExitCode: the "cusax.audit-tls/v1" JSON
//     document, one finding per line, and the monitoring-plugin exit code
//     (see ExitCode for how it fits cusax's global exit-code table).
//
// Spec references: RFC 7590 and RFC 7081 section numbers were checked
// against their texts; RFC 9325 (BCP 195) section numbers follow the
// project's research report. Severities deviate from testssl.sh where
// BCP 195 says otherwise (TLS 1.0/1.1 are high: RFC 9325 §3.1.1 MUST NOT).
package audit
