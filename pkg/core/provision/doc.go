// Package provision fetches, checks and applies a CUSAX provisioning
// document: one JSON file from the provider that sets up both aspects of an
// account (XMPP for chat, SIP for calls) from a user ID and password.
// RFC 7081 §2 asks CUSAX services for exactly this ("online provisioning,
// typically by means of a web-based service at an HTTPS URL") and leaves
// the format open; docs/provisioning.md defines version 1.
//
// The pieces, in the order `cusax login` uses them:
//
//   - Discover finds the document's URL by WebFinger (RFC 7033) on the
//     domain of the user's address.
//   - Fetch gets it over verified HTTPS (never plain HTTP, never across an
//     https→http redirect, credentials never forwarded to another host)
//     and parses it.
//   - Parse checks it strictly: size, syntax, one JSON value, no duplicate
//     or unknown keys, version 1, and every field; all bad fields are
//     reported at once, each by its JSON path.
//   - Apply builds the account (and the cost-gate settings) the document
//     describes into a copy of the config, keeping what is the user's own
//     (password commands, plugins, ca_file, policies).
//   - Diff lists what a refresh changed, for `cusax login --refresh`.
//
// What a document cannot do, by design: carry a password or token (it
// would be cached and logged along the way), add trust anchors (a provider
// must not make the client trust arbitrary certificates), allow plaintext
// authentication, or choose plugins and password commands.
//
// Error contract: the package never prints and never exits. A bad document
// is a *DocumentError (errors.Is ErrBadDocument and protocol.ErrProtocol);
// transport failures wrap the protocol sentinels ErrInsecure (plain HTTP),
// ErrCertificate, ErrAuth (401), ErrNotFound (404, no WebFinger link),
// ErrUnreachable, ErrTimeout and ErrProtocol, so the CLI can map exit
// codes. No error or warning ever contains a password or token.
package provision
