package sip

import (
	"errors"
	"regexp"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// This file decides how the media of a call we answer is protected (issue
// 16): SDES-SRTP (RFC 4568, RFC 3711) when the caller offers it over TLS
// and the account's media_encryption allows it, plain RTP when both sides
// are content with it, 488 otherwise.

// requestOverTLS reports whether req reached us over a TLS flow. sipgo's
// transport layer sets the message's transport from the connection it
// was read from (TransportTCP.Network is "TLS" for its TLS variant), so
// a Via or Request-URI that says otherwise does not count.
func requestOverTLS(req *gosip.Request) bool {
	return strings.EqualFold(req.MessageData.Transport(), "TLS")
}

// checkEncryption validates AnswerRequest.Encryption.
func checkEncryption(setting string) error {
	_, err := effectiveEncryption(setting, false)
	return err
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// answerMedia is how a call is to be answered: the caller's media and,
// for SRTP, our a=crypto line for the answer and the session keys.
type answerMedia struct {
	offer callmedia.Answer
	// local is our answer's a=crypto line (fresh key); keys the session
	// keys; both nil/zero for plain RTP.
	local callmedia.Crypto
	keys  *callmedia.SRTPKeys
	// protection is the suite or protocol.MediaInClear; note, if set,
	// says why the media is in clear (or, for DTLS over UDP/TCP, that
	// the fingerprint was not integrity-protected).
	protection, note string
	// dtlsPeer is set for a DTLS-SRTP offer (dtls.go): the caller's
	// fingerprints and our role; keys and protection are filled in once
	// the handshake (dtls, kept open for the call) has run.
	dtlsPeer *callmedia.DTLSPeer
	dtls     *callmedia.DTLSSession
}

// refusal is a call we refuse with 488 Not Acceptable Here (RFC 3264 §6:
// an offer we cannot or will not answer), with the Note of its final
// event. It never carries key material.
type refusal struct{ note string }

// planAnswer decides, from the caller's offer body, the request's setting
// and whether the INVITE came over TLS, how the call is answered, or
// refuses it. Errors of a plain offer itself (no SDP, no common codec)
// are returned as err, for the caller's existing 488.
func planAnswer(body []byte, setting string, tls bool) (answerMedia, *refusal, error) {
	eff, err := effectiveEncryption(setting, tls)
	if err != nil {
		return answerMedia{}, nil, err
	}
	proto, sdes := offerProfile(body)
	if !strings.Contains(proto, "SAVP") {
		plain, err := callmedia.ParseOffer(body)
		switch {
		case err != nil:
			return answerMedia{}, nil, err
		case eff == protocol.MediaEncryptionSRTP && !tls:
			return answerMedia{}, &refusal{"media encryption srtp cannot be honoured over UDP or TCP signalling (RFC 4568 §8.3: no key may travel there) and the caller offered plain RTP: refused with 488"}, nil
		case eff == protocol.MediaEncryptionSRTP:
			// RFC 3264 §6: an offer without the security we require
			// is not acceptable here.
			return answerMedia{}, &refusal{"the caller offered plain RTP (RTP/AVP) and media encryption is srtp: refused with 488"}, nil
		case eff == protocol.MediaEncryptionOptional:
			return answerMedia{offer: plain, protection: protocol.MediaInClear,
				note: "media not encrypted: the caller offered plain RTP (media encryption optional)"}, nil, nil
		default:
			return answerMedia{offer: plain, protection: protocol.MediaInClear}, nil, nil
		}
	}
	if proto == "UDP/TLS/RTP/SAVP" || proto == "UDP/TLS/RTP/SAVPF" { // RFC 5764 §8
		return planDTLSAnswer(body, eff, tls)
	}
	switch {
	case sdes && !tls:
		// RFC 4568 §8.3: SDES keys are only safe over a secure
		// signalling channel; this one was UDP or TCP, so the key was
		// visible on the path and is never accepted, whatever the
		// setting.
		return answerMedia{}, &refusal{"the caller offered SRTP keys (a=crypto) over signalling that is not TLS: anyone on the path saw them (RFC 4568 §8.3), so the offer is refused with 488"}, nil
	case proto != "RTP/SAVP":
		// The caller's text goes into the note only when it is a plain
		// profile name (e.g. UDP/TLS/RTP/SAVP, DTLS-SRTP).
		name := "an SRTP profile"
		if profileName().MatchString(proto) {
			name = proto
		}
		return answerMedia{}, &refusal{"the caller offered " + name + " (SDES-keyed RTP/SAVP, RFC 4568, and DTLS-SRTP UDP/TLS/RTP/SAVP, RFC 5764, are supported): refused with 488"}, nil
	case !tls:
		return answerMedia{}, &refusal{"the caller offered SRTP (RTP/SAVP) over signalling that is not TLS, where no key may be sent (RFC 4568 §8.3): refused with 488"}, nil
	case eff == protocol.MediaEncryptionNone:
		return answerMedia{}, &refusal{"the caller offered SRTP only (RTP/SAVP) and media encryption is none: refused with 488"}, nil
	}
	offer, remote, local, err := callmedia.ParseSRTPOffer(body)
	switch {
	case errors.Is(err, callmedia.ErrNoCommonCodec):
		return answerMedia{}, &refusal{"no codec in common with the caller's SRTP offer (we take PCMU or PCMA): refused with 488"}, nil
	case err != nil:
		// RFC 4568 §7.1.2: no a=crypto line we can accept is 488. The
		// note is fixed text: the parser's error is never echoed, so no
		// part of a hostile line reaches a log.
		return answerMedia{}, &refusal{"no acceptable a=crypto line in the caller's SRTP offer (we take AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80 or _32, one inline key, no MKI): refused with 488"}, nil
	}
	return answerMedia{offer: offer, local: local, keys: callmedia.MediaKeys(remote, local), protection: local.Suite}, nil, nil
}

// offerProfile is the transport of the offer's first audio m-line (as
// callmedia's parsers take it) and whether that line has an a=crypto
// attribute; "" when there is none or the SDP does not parse.
func offerProfile(body []byte) (proto string, sdes bool) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return "", false
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		for _, a := range m.Attributes {
			sdes = sdes || a.Key == "crypto"
		}
		return strings.ToUpper(strings.Join(m.MediaName.Protos, "/")), sdes
	}
	return "", false
}

// Compiled on first use, not at every cusax start (these regexps are
// linked into every invocation).
// profileName is what an SDP transport protocol name looks like (RFC 4566
// §5.14 proto: tokens separated by "/").
var profileName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{1,8}(/[A-Z0-9]{1,8}){1,4}$`) })

// protect fills an event's MediaProtection and MediaKeying.
func (m answerMedia) protect(ev *protocol.AnswerEvent) {
	ev.MediaProtection = m.protection
	switch {
	case m.dtls != nil:
		ev.MediaKeying = protocol.KeyingDTLS
	case m.keys != nil:
		ev.MediaKeying = protocol.KeyingSDES
	}
}
