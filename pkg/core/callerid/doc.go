// Package callerid decides who is calling from an incoming SIP request,
// proven by the roster's vCards and never by the caller's word (RFC 7081
// §3.5, `cusax whois-caller`):
//
//   - Normalize repairs a captured message (LF-only line ends, a missing
//     final empty line, a Content-Length that does not fit) and refuses
//     hostile ones (size, header count and length, binary junk).
//   - Parse reads the request with sipgo: the caller's address
//     (P-Asserted-Identity only when the caller says it is trusted: from
//     the account's own proxy, which the account declares an RFC 3325
//     §9.1 trust domain; else From, the untrusted assertion kept aside), the Call-Info purpose=impp hints (RFC 6993) and
//     whether the caller is anonymous (RFC 3323, RFC 3325).
//   - SameSIPURI compares SIP URIs by RFC 3261 §19.1.4; CallerKey gives
//     the exact form in which an address and a vCard TEL are compared
//     (phone numbers in E.164 through a NumberNormalizer).
//   - NewIndex maps TEL keys to contacts once; Judge returns the verdict:
//     a hint is only a cue, confirmed by that one contact's vCard, and
//     the index is scanned only when there is no hint.
//
// A full phone-number library lives in the sub-package e164, which
// nothing in cusax's start-up path imports: its initialisation costs every
// process (and every plugin re-execution) time.
//
// Error contract: the package never prints, never exits and never uses the
// network. Normalize and Parse return one-line errors wrapping
// protocol.ErrInvalid for input they refuse; Judge always returns a
// verdict. No input makes them panic or take more than linear time in
// its size.
package callerid
