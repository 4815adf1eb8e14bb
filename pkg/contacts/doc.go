// Package contacts turns what cusax knows about a roster contact into what
// the commands need for calling (RFC 7081, CUSAX):
//
//   - Tels and Derive read a contact's vCard (vcard.Card, as package
//     vcardxml produces it) for the "tel" fields an administrator fills
//     with the contact's SIP URI (§3.1): whether a "Call" option applies and
//     whether video does (§3.3), which address a call uses by default
//     (Preferred), and the two cues §5 asks for: a contact on another
//     domain, and a call that would go to the PSTN rather than to a SIP
//     address.
//   - JudgeReach weighs XEP-0152 reachability addresses, which §3.3 calls
//     mere hints, against the contact's vCard.
//   - Resolve finds the roster entry a CONTACT argument means.
//
// SIP URIs are checked with sipgo's parser; phone numbers are checked
// syntactically only (digits, a leading '+', visual separators): a
// phone-number library costs every plugin process its start-up time, and
// the SIP service decides what it can route anyway.
//
// Error contract: the package never prints and never exits; only Resolve
// returns errors, wrapping ErrNoMatch or ErrAmbiguous.
package contacts
