// Package dialtarget reads what the user typed after `cusax call`: a SIP
// or SIPS URI, a tel: URI (RFC 3966), a bare phone number, or anything else,
// which is a contact (a roster name, a JID or an xmpp: URI) for the caller
// to resolve against the roster (package contacts) or to recognise as a MUC
// room.
//
// Parse is the guard between the command line and the SIP stack. sipgo
// does not sanitise what it writes into a request, so a CR or LF that
// reached a Request-URI or a To header would start a header line of the
// user's (or an attacker's) choosing: Parse refuses every control
// character, URI headers (RFC 3261 §19.1.5 turns them into request
// headers), passwords in SIP URIs and unknown schemes before anything else
// looks at the input. URIs are normalised with contacts.Normalize, the same
// normaliser the vCard TELs go through, so a number typed by the user and
// the same number read from a vCard are the same string.
//
// SIPURI maps a phone number onto the account's SIP service (RFC 3261
// §19.1.6); Classify answers the two questions of the cost gate of RFC 7081
// §5 (a phone number? another domain?); ValidatePattern and MatchPattern
// implement the calls.cost_allow patterns that let a number through the
// gate without --yes.
//
// Error contract: the package never prints and never exits. Every error is
// one line that does not repeat the input (it could hold a password) and
// wraps protocol.ErrInvalid, which the CLI maps to the usage exit code.
package dialtarget
