// Package sip is cusax's built-in telephony backend: a SIP user agent
// (RFC 3261) on github.com/emiago/sipgo that registers an account at its
// registrar over UDP, TCP or TLS.
//
// What it adds to sipgo, and why:
//
//   - RFC 3263 server location (resolve.go): NAPTR, then SRV (_sips._tcp,
//     _sip._tcp, _sip._udp) in priority/weight order with failover, then
//     A/AAAA, with github.com/miekg/dns. sipgo alone resolves A-first, asks
//     for _sip._tls and uses one address. The result is pinned on every
//     request (SetDestination, SetTransport): a sips: Request-URI alone
//     would make sipgo send over UDP.
//   - RFC 8760 digest (challenge.go): the strongest of all challenges
//     (SHA-512-256, SHA-256, MD5); sipgo's helper reads only the first.
//   - RFC 5922 server identity (via pkg/protocol/certid): the certificate must
//     name the AOR's SIP domain, also when the proxy is an IP address; a
//     proxy configured by host name may present that name. The check runs
//     inside the handshake, so no request, and no digest, is ever written
//     on a connection that failed it.
//   - Input hygiene (validate.go): sipgo writes header values verbatim, so
//     CR, LF and NUL in any user-supplied string are refused with
//     protocol.ErrInvalid before anything is sent.
//   - Explicit From (AOR plus a random tag), Contact (the local address of
//     the flow with its transport) and a User-Agent header, which sipgo
//     does not add.
//   - A connected UDP socket (udp.go), so that ICMP port unreachable ends a
//     REGISTER at once instead of after the timeout; every wait is bounded
//     by the context and ConnectRequest.Timeout (default 10 s), never by
//     UDP's 32 s Timer B.
//   - The UAS side of a call (answer.go, protocol.Answerer): an incoming
//     INVITE taken by Answer gets 180, an SDP answer built from the offer
//     (RFC 3264; 488 without PCMU/PCMA) in a 200 that is retransmitted
//     until the ACK or Timer H (RFC 3261 §13.3.1.4), then the media loop
//     of plugins/sip/callmedia with digits from RFC 4733 or SIP INFO
//     application/dtmf-relay. sipgo leaves the 2xx retransmission, the
//     ACK and the dialog to the application.
//   - SDES-SRTP on calls placed (srtp.go, media.go; RFC 4568, RFC 3711,
//     RFC 7714 for AEAD_AES_128_GCM) as MediaOptions.Encryption asks:
//     over TLS the offer is RTP/SAVP with one a=crypto line and fresh key
//     per suite (GCM, then AES_CM_128_HMAC_SHA1_80, then _32); the
//     answer's line picks the keys for callmedia's SRTP session. A key
//     is never sent over UDP or TCP (RFC 4568 §8.3): "srtp" there fails
//     with protocol.ErrMediaInsecure before anything is sent. A callee
//     that answers "srtp" in clear gets ACK and BYE at once, no media; a
//     488 to the SAVP offer is ErrMediaInsecure, or with "optional" one
//     new INVITE (new Call-ID) with a plain offer. The final CallEvent
//     says MediaProtection, MediaKeying and SRTPAuthFailures. A re-INVITE
//     gets the agreed line back; new keys in a re-offer (RFC 4568 §7.1.4)
//     are not taken up.
//   - Encrypted media on the answered side (srtp_answer.go): an RTP/SAVP
//     offer with a=crypto (RFC 4568) that came over TLS is answered with
//     the caller's tag and suite and a fresh key of ours (§7.1.2), and
//     the media runs as SRTP (RFC 3711; AES_CM_128_HMAC_SHA1_80/_32,
//     AEAD_AES_128_GCM per RFC 7714). AnswerRequest.Encryption "" means
//     srtp when the INVITE came over TLS, none otherwise. 488 Not
//     Acceptable Here (RFC 3264 §6), with a final event that says why,
//     answers: a plain offer under srtp; an SDES offer over UDP or TCP,
//     whatever the setting (RFC 4568 §8.3: the key was visible on the
//     path); an SRTP-only offer under none. optional answers a plain
//     offer in clear with a Note. Events carry MediaProtection (the suite
//     or "none"), MediaKeying "sdes" and, at the end, SRTPAuthFailures;
//     packets that fail authentication are never played or recorded. No
//     key reaches a log line or a Note.
//   - DTLS-SRTP (dtls.go; RFC 5763, RFC 5764), the second keying method:
//     MediaOptions.Keying "dtls" offers UDP/TLS/RTP/SAVP with the
//     fingerprint of a per-call certificate and a=setup:actpass, and an
//     incoming UDP/TLS/RTP/SAVP(F) offer is answered with a=setup:active;
//     the handshake runs on the RTP socket (after the 2xx for a placed
//     call, from our 200 for an answered one) and its exported keys drive
//     callmedia's SRTP session; MediaKeying is "dtls". A failed handshake
//     or a certificate that matches no fingerprint ends the call with BYE
//     (ErrMediaInsecure for Dial), also under "optional". The fingerprint
//     rests on the signalling (RFC 5763 §8): "srtp" with DTLS needs TLS,
//     like SDES; "optional" over UDP/TCP offers and accepts it with a Note.
//
// Signalling over UDP or TCP is allowed, since digest never reveals the
// password, but the report says Encrypted=false and carries a note so that
// the core can weigh security parity with the chat aspect (RFC 7081 §7).
//
// Logging goes to the hclog logger given to New: Debug for what happens,
// Trace for every SIP message with Authorization values and SDES keys
// (a=crypto inline: key material) redacted, in our trace and in what
// sipgo logs. Neither the password nor a media key appears in logs or
// errors.
//
// ConnectRequest.Options keys: "dns-server" (host:port of a DNS server for
// RFC 3263 instead of /etc/resolv.conf) and "display-name" (the From
// display name).
package sip
