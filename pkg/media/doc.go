// Package media is cusax's minimal, in-house media stack for SIP calls
// without a sound card: WAV input and recording, G.711 (PCMU/PCMA)
// framing, RFC 4733 DTMF events, RTP packetization and a small SDP
// offer/answer helper.
//
// It exists because github.com/emiago/diago is not available to this
// project; the research notes (go-libraries.md §3.3) show that a "play a
// WAV, send DTMF, hang up" call needs only pion/rtp, pion/sdp/v3 and
// zaf/g711 plus a few hundred lines of glue, which live here.
//
// Everything in this package is pure logic: nothing opens sockets, reads
// files by name, starts goroutines, sleeps or prints. Callers own the UDP
// socket and the 20 ms pacing (RFC 3551 §4.2: 20 ms default packetization
// for G.711) and hand byte slices in and out. Types are not safe for
// concurrent use unless stated.
//
// SRTP is out of scope: ParseAnswer refuses RTP/SAVP rather than sending
// media in the clear to a peer that expects it encrypted.
package media
