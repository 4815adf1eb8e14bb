// Package answering takes incoming calls for `cusax answer`: for each one
// it judges the caller (pkg/core/callerjudge, the same verdicts as
// whois-caller), asks the account's policy chain through
// JudgeCallerBinding (RFC 7081 §3.5: whether to accept a call is a matter
// of policy), then takes the call with media (protocol.Answerer) or
// rejects it, runs the user's handler and sends the chat notification.
//
// A Handler works behind small interfaces (Telephony, CallerJudge,
// Policies, Prompter, Runner, Notifier) so it is tested with fakes; it
// prints nothing and never exits: every call ends in a Report.
package answering
