package protocol

import "errors"

// CapSRTP: the telephony backend protects call media with SRTP (RFC 3711)
// as MediaOptions.Encryption and AnswerRequest.Encryption ask, and says
// how each call's media was protected (CallEvent.MediaProtection,
// AnswerEvent.MediaProtection). A backend without it sends media in
// clear; the host refuses Encryption "srtp" for it before dialling.
const CapSRTP Capability = "srtp"

// Media encryption settings (MediaOptions.Encryption,
// AnswerRequest.Encryption): the account's media_encryption. RFC 7081 §7
// asks that both aspects of an account be protected alike; media keys
// carried in SDP (SDES, RFC 4568 §8.3) are only ever sent or accepted
// over TLS signalling, whatever the setting.
const (
	// MediaEncryptionDefault: SRTP when the SIP flow is TLS (as
	// MediaEncryptionSRTP), plain RTP otherwise.
	MediaEncryptionDefault = ""
	// MediaEncryptionSRTP: SRTP or no call. A peer that answers (or
	// offers) without it is refused: a placed call ends with
	// ErrMediaInsecure (CANCEL or BYE), an incoming one gets 488. Over
	// UDP or TCP signalling it cannot be honoured (no key may be sent
	// there), so Dial fails with ErrMediaInsecure before sending.
	MediaEncryptionSRTP = "srtp"
	// MediaEncryptionOptional: SRTP when the peer does it, plain RTP
	// otherwise, with the final event's MediaProtection "none" and a Note.
	MediaEncryptionOptional = "optional"
	// MediaEncryptionNone: plain RTP; SRTP is not offered, and an
	// SRTP-only offer gets 488.
	MediaEncryptionNone = "none"
)

// MediaEncryptions lists the valid settings, for validation and help.
var MediaEncryptions = []string{MediaEncryptionSRTP, MediaEncryptionOptional, MediaEncryptionNone}

// MediaInClear is the MediaProtection of a call whose media went as plain
// RTP. An empty MediaProtection means the backend did not say (one
// without CapSRTP): the host treats it as in clear.
const MediaInClear = "none"

// Media keying methods (MediaOptions.Keying, the account's media_keying;
// CallEvent.MediaKeying, AnswerEvent.MediaKeying).
const (
	// KeyingSDES (also MediaOptions.Keying ""): the SRTP keys travel in
	// the SDP (RFC 4568 a=crypto), so only over TLS signalling.
	KeyingSDES = "sdes"
	// KeyingDTLS: DTLS-SRTP (RFC 5763/5764). The offer carries
	// UDP/TLS/RTP/SAVP with the fingerprint of a per-call certificate
	// and a=setup:actpass; the keys come from a DTLS handshake on the
	// RTP socket, never from the SDP. The fingerprint itself is only as
	// trustworthy as the signalling that carried it (RFC 5763 §8), so
	// Encryption "srtp" (or the default over TLS) with DTLS still needs
	// TLS signalling; "optional" offers DTLS over UDP or TCP too, with a
	// Note that the fingerprint was not integrity-protected. A handshake
	// that fails, or a certificate that does not match the fingerprint,
	// ends the call with ErrMediaInsecure: there is no plain fallback
	// once DTLS-SRTP was agreed. Answering follows the caller's offer.
	KeyingDTLS = "dtls"
)

// Keyings lists the valid MediaOptions.Keying settings.
var Keyings = []string{KeyingSDES, KeyingDTLS}

// ErrMediaInsecure: media encryption was required (Encryption "srtp") and
// the peer would not, or could not, protect the media, so the call was
// refused (CANCEL/BYE, or 488 for an incoming one), or SRTP could not be
// keyed safely (signalling not over TLS).
var ErrMediaInsecure = errors.New("media not protected")
