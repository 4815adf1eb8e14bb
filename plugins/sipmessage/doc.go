// Package sipmessage is an IMPP backend for cusax that carries instant
// messages over SIP MESSAGE (RFC 3428) instead of XMPP, on emiago/sipgo.
// It is written the way a third party writes a backend: it imports the SDK
// (pkg/protocol/...) and third-party libraries only, never pkg/core, and not
// the built-in SIP backend either.
//
// Connect registers the account's address of record (RFC 3261 §10) over one
// TCP or TLS flow to the outbound proxy (or the AOR's domain), answering
// digest challenges with the strongest algorithm offered (RFC 8760), so the
// registrar can relay MESSAGE requests to it. TLS is verified with
// pkg/protocol/certid against the SIP domain (RFC 5922), as the built-in
// SIP backend does. Send is one MESSAGE with a text/plain body (RFC 3428
// §4): a 2xx means sent, nothing more (RFC 3428 §7 has no delivery
// receipts). Incoming MESSAGEs arrive on that flow and are answered only
// once a reader took them (Messages) or acknowledged them (AckedMessages);
// with no reader they are refused with 480, never dropped silently.
//
// Roster, vCards, presence, MUC, disco and reachability are not part of
// SIP MESSAGE: they answer protocol.ErrUnsupported, and Info declares only
// login, message and message-stream. docs/sipmessage-backend.md says more.
package sipmessage
