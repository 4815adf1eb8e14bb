// Package contactaudit checks what a CUSAX service promises its users in
// the address book (RFC 7081 §3.1, §3.5 and the service strategies of
// §6), for `cusax audit-contacts`:
//
//   - strategy 3: every contact's vCard lists a SIP URI, and the SIP
//     service knows it (one OPTIONS through the account's proxy, RFC 3261
//     §11; never an INVITE);
//   - strategy 4: TYPE=video only where the SIP answer says video works;
//   - RFC 7081 §3.3: XEP-0152 reachability hints confirmed by the vCard;
//   - §3.5: the account's own vCard lists its own AOR, so that the people
//     it calls can match the call to its JID.
//
// Findings use pkg/core/audit's report model (audit.Finding, Report,
// ExitCode), so audit-contacts and audit-tls share one JSON vocabulary and
// one set of monitoring exit codes. Run observes (Facts, with the plugins
// doing all network IO); Evaluate is a pure function of the facts.
package contactaudit
