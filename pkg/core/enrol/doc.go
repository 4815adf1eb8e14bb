// Package enrol sets an account up and proves it before it is saved: from
// what the user gave (cusax login's flags), or from a provider's
// provisioning document (Provision: discover, fetch, apply, refresh). The
// account is then proved live (Prove: log into both aspects, SIP first,
// RFC 7081 §2), its parity is judged by the policy chain (§7), and it is
// saved, with its passwords, only when that works.
//
// It talks to the user only through small interfaces the command
// implements: a Prompter (questions and passwords on the terminal), a
// session.Source (the backends), a secrets.Store and the config path, so
// the whole workflow is testable without a terminal, a plugin process or a
// server (fake backends, a local HTTPS server for the document).
//
// Error contract: it never prints and never exits. Input the user must fix
// (a missing password, a bad CA file, an unknown policy list) is an *Error
// with Usage set; hints travel on *Error too (Hints). Backend, transport
// and document errors wrap the protocol and pluginhost sentinels, so the
// command maps them to exit codes. No error contains a password or token.
package enrol
