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

// Media keying methods (CallEvent.MediaKeying, AnswerEvent.MediaKeying).
const (
	KeyingSDES = "sdes" // RFC 4568 a=crypto, over TLS signalling only
	KeyingDTLS = "dtls" // RFC 5763/5764 DTLS-SRTP
)

// ErrMediaInsecure: media encryption was required (Encryption "srtp") and
// the peer would not, or could not, protect the media, so the call was
// refused (CANCEL/BYE, or 488 for an incoming one), or SRTP could not be
// keyed safely (signalling not over TLS).
var ErrMediaInsecure = errors.New("media not protected")
