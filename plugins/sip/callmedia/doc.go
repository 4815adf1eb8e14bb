// Package callmedia is the SIP backend's minimal media stack for calls
// without a sound card: G.711 (PCMU/PCMA) framing, RFC 4733 DTMF events,
// RTP packetization, a small SDP offer/answer helper and the RTP session of
// one call. WAV files come from pkg/media, which the host uses too.
//
// It was written because github.com/emiago/diago was not available to
// this project; the research notes (go-libraries.md §3.3) show that a
// "play a WAV, send DTMF, hang up" call needs only pion/rtp, pion/sdp/v3
// and zaf/g711 plus a few hundred lines of glue, which live here. diago is
// now served by the module proxy: issues 15 and 16 re-evaluate it.
//
// Run does the IO of one call: it reads and writes the UDP socket it is
// given (SessionConfig.Conn, opened and closed by the caller) from a
// goroutine of its own, with the 20 ms pacing (RFC 3551 §4.2: 20 ms
// default packetization for G.711); the rest is pure logic. Types are not safe for concurrent use unless stated.
//
// SRTP (issue 16, first step): sdes.go parses and makes RFC 4568
// a=crypto lines, SessionConfig.SRTP encrypts and authenticates a
// session's RTP with pion/srtp, and sdp_srtp.go builds and parses
// RTP/SAVP offers and answers. Calls do not use them yet (keys may only
// travel in SDP over TLS), so ParseAnswer and ParseOffer still refuse
// RTP/SAVP rather than send media in the clear to a peer that expects it
// encrypted.
//
// DTLS-SRTP (RFC 5763, RFC 5764), the second keying method: dtls.go
// runs the DTLS handshake (pion/dtls/v4, DTLS 1.2 or 1.3) on the call's
// own RTP socket before Run, with a per-call self-signed ECDSA P-256
// certificate (NewDTLSCertificate); the peer's certificate must match
// the a=fingerprint of its SDP (RFC 5763 §5: no CA is involved, and a
// mismatch, ErrFingerprintMismatch, ends the call), and the SRTP keys
// are exported with the "EXTRACTOR-dtls_srtp" label (RFC 5764 §4.2)
// into SRTPKeys for SessionConfig.SRTP. The handshake is bounded by
// DTLSConfig.Timeout. During the call SessionConfig.OnDTLS hands late
// DTLS records (RFC 7983 §7: first byte 20-63) to DTLSSession.HandlePacket,
// so a peer that lost our last flight gets it again. sdp_dtls.go builds
// and parses UDP/TLS/RTP/SAVP offers and answers (a=fingerprint with
// sha-256/384/512, a=setup: actpass in offers, active in answers to
// them); they never carry a=crypto, so no key travels in the
// signalling. The SIP backend's calls use it (plugins/sip/dtls.go).
package callmedia
