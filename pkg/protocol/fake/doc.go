// Package fake is an in-memory CUSAX service with backends that satisfy the
// plugin contract (protocol.IMPP, protocol.Telephony, protocol.Policy), for
// anyone's tests: a command, a policy or a host can be exercised against
// accounts, rosters, vCards, messages and calls without a server.
//
// It proves nothing about protocol behaviour: that is the conformance
// suite's job (pkg/protocol/protocoltest, against a real server). It runs
// the same suite's contract checks so that a fake never teaches a test
// something a real backend would not do (wrong password → ErrAuth, CR/LF
// → ErrInvalid, undeclared capability → ErrUnsupported).
//
// A Service holds the accounts; IMPP and Telephony make backends bound to
// it. What the code under test did is read back from the Service (Sent,
// Responses, Dialled, Presences, CallerEnd), and what it should receive is
// injected (Deliver, Ring, PublishPresence; for a call taken with Answer,
// CallerSends and CallerHangsUp script its caller).
package fake
