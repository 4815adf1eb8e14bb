// Package media is the audio both sides of the plugin boundary need: WAV
// files read and written as 16-bit PCM, and resampling to the 8 kHz of
// telephony. The host checks a `cusax call --play` file before a call is
// placed; the SIP backend plays and records with it.
//
// It is pure logic: it reads and writes through io.Reader and io.Writer,
// never opens files by name, sockets or goroutines. What only the SIP
// backend needs (G.711, RFC 4733 DTMF, RTP, SDP and the RTP session, which
// does open a UDP socket) is that backend's own: plugins/sip/callmedia.
package media
