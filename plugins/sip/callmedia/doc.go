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
package callmedia
