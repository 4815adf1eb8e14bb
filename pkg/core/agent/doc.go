// Package agent is `cusax agent`: one process per user that keeps each
// configured account connected and lends its live sessions to one-liners
// over a private unix socket (package agentapi says where and how it is
// trusted).
//
// Per account it starts the backends through a session.Source and keeps
// both aspects up, SIP first and XMPP after it (RFC 7081 §2, strategy 11):
//   - Telephony: Register, then an IncomingCalls stream held open, so the
//     backend refreshes the binding before it expires (RFC 3261 §10.2.4),
//     sends RFC 5626 §4.4.1 CRLF keep-alives on TCP/TLS flows and registers
//     again when the flow is lost; its Registration events are the
//     aspect's state. Calls no lease listens for get 480 at once, as the
//     backend answers them with nobody listening, and are logged.
//   - Chat: a liveness round trip every ProbeEvery (disco#info on the
//     account's domain; XEP-0199 pings are what Send already uses), a
//     failed call returning protocol.ErrNotConnected, or the probe failing
//     mark it lost; it logs in again with backoff and jitter and sends its
//     last presence again. Its presence has a negative priority unless a
//     lease listens for messages (RFC 6121 §4.7.2.3: messages to the bare
//     JID then go to the user's other clients or offline storage, never to
//     an agent that would not show them).
//
// Each backend plugin runs once for all accounts (sharedSource) and is
// started again when its process dies (aspectPlugin). Every state change
// is reported through Options.Log as one line.
//
// On the socket it serves the Agent control service and the cusax.v1 IMPP
// and Telephony services with lease semantics (see lease_*.go): Connect
// with an account's address returns a lease on its live session, calls wait
// for a reconnecting aspect up to their deadline, and a lease's Close ends
// only its own streams (and waits for them to end). Every connection's peer uid is checked
// (SO_PEERCRED); other users are refused and logged.
package agent
