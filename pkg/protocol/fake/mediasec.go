package fake

import (
	"fmt"
	"slices"

	"github.com/cusax/cusax/pkg/protocol"
)

// MediaMode is how a far end of the fake (a callee of Dial, a caller of a
// call handed out by Ring) treats media encryption. It follows the
// contract of protocol.MediaEncryptionSRTP and its siblings, so that a
// command test sees what a real backend would report, without SDP.
type MediaMode int

const (
	// MediaSRTPOrPlain (the default) does SRTP when the other side offers
	// or accepts it, plain RTP otherwise (baresip's mediaenc srtp).
	MediaSRTPOrPlain MediaMode = iota
	// MediaPlain does plain RTP only: it answers an SRTP offer with
	// RTP/AVP and offers RTP/AVP (a sipp peer).
	MediaPlain
	// MediaSRTPOnly does SRTP or nothing: it answers a plain offer 488
	// and offers RTP/SAVP only (baresip's mediaenc srtp-mand).
	MediaSRTPOnly
)

// SRTPSuite is the crypto suite the fake reports for a call it protects
// (RFC 4568 §6.2), with keying protocol.KeyingSDES.
const SRTPSuite = "AES_CM_128_HMAC_SHA1_80"

// CalleeMedia makes target (a URI as dialled: a scripted callee or a
// registered account of the service) treat media encryption as m.
func (s *Service) CalleeMedia(target string, m MediaMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calleeMedia == nil {
		s.calleeMedia = map[string]MediaMode{}
	}
	s.calleeMedia[target] = m
}

// CallerMedia makes the caller of callID (a call handed out by Ring) offer
// media as m. Call it before the call is answered.
func (s *Service) CallerMedia(callID string, m MediaMode) {
	c := s.callerOf(callID)
	c.mu.Lock()
	c.media = m
	c.mu.Unlock()
}

// overTLS reports whether the account at address signals over TLS (the
// default; Account.PlainSignalling says otherwise). Only then may SDES
// keys be sent or accepted (RFC 4568 §8.3).
func (s *Service) overTLS(address string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[key(address)]
	return a == nil || !a.PlainSignalling
}

// mediaSec is how one call's media turned out.
type mediaSec struct {
	refuse     error  // the call is refused after the answer (ACK, BYE): the stream ends with it
	reject     string // the far end answers 488 Not Acceptable Here with this note
	protection string // the suite, or protocol.MediaInClear
	keying     string
	note       string
}

// fill sets the protection on an event that has none yet (a script may
// set its own) and adds the note to the event's (the final event's).
func (m mediaSec) fill(protection, keying, note *string) {
	if *protection == "" {
		*protection, *keying = m.protection, m.keying
	}
	if note != nil {
		*note = joinNote(*note, m.note)
	}
}

// joinNote joins two remarks with "; ", either may be empty.
func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// effective is the setting a backend applies: "" is srtp over TLS, plain
// RTP otherwise (protocol.MediaEncryptionDefault).
func effective(setting string, tls bool) string {
	if setting != protocol.MediaEncryptionDefault {
		return setting
	}
	if tls {
		return protocol.MediaEncryptionSRTP
	}
	return protocol.MediaEncryptionNone
}

// checkEncryption refuses a setting the contract does not know, and
// "srtp" where no key may be sent (before any INVITE, as Dial promises).
func checkEncryption(setting string, tls bool) error {
	if setting != "" && !slices.Contains(protocol.MediaEncryptions, setting) {
		return fmt.Errorf("media encryption %q: %w", setting, protocol.ErrInvalid)
	}
	if effective(setting, tls) == protocol.MediaEncryptionSRTP && !tls {
		return fmt.Errorf("media_encryption = srtp needs SIP over TLS: SDES keys are never sent over UDP or TCP (RFC 4568 §8.3): %w", protocol.ErrMediaInsecure)
	}
	return nil
}

var (
	protected = mediaSec{protection: SRTPSuite, keying: protocol.KeyingSDES}
	plain     = mediaSec{protection: protocol.MediaInClear}
)

// dialMedia is what a call placed with setting over a flow (tls or not)
// gets from a callee in mode m.
func dialMedia(setting string, tls bool, m MediaMode) mediaSec {
	eff := effective(setting, tls)
	if tls && eff != protocol.MediaEncryptionNone { // RTP/SAVP with a=crypto offered
		if m != MediaPlain {
			return protected
		}
		if eff == protocol.MediaEncryptionSRTP {
			return mediaSec{refuse: fmt.Errorf("the callee answered plain RTP (RTP/AVP without a=crypto) and media_encryption = srtp: %w", protocol.ErrMediaInsecure)}
		}
		r := plain
		r.note = "the callee did not accept SRTP: media in plain RTP"
		return r
	}
	if m == MediaSRTPOnly {
		return mediaSec{reject: "the callee takes SRTP only and none was offered"}
	}
	r := plain
	if !tls && setting != protocol.MediaEncryptionNone { // optional, or the default off TLS
		r.note = "SRTP not offered: SIP is not over TLS (RFC 4568 §8.3)"
	}
	return r
}

// answerMedia is what a call answered with setting over a flow (tls or
// not) gets from a caller offering as m.
func answerMedia(setting string, tls bool, m MediaMode) mediaSec {
	eff := effective(setting, tls)
	switch m {
	case MediaPlain:
		switch eff {
		case protocol.MediaEncryptionSRTP:
			return mediaSec{reject: "the caller offered plain RTP only and media_encryption = srtp"}
		case protocol.MediaEncryptionOptional:
			r := plain
			r.note = "the caller did not offer SRTP: media in plain RTP"
			return r
		}
		return plain
	case MediaSRTPOnly:
		switch {
		case !tls:
			return mediaSec{reject: "SDES keys offered over SIP that is not TLS: refused (RFC 4568 §8.3)"}
		case eff == protocol.MediaEncryptionNone:
			return mediaSec{reject: "the caller offered SRTP only and media_encryption = none"}
		}
		return protected
	}
	if tls && eff != protocol.MediaEncryptionNone {
		return protected
	}
	r := plain
	if !tls && eff == protocol.MediaEncryptionOptional {
		r.note = "SRTP not used: SIP is not over TLS (RFC 4568 §8.3)"
	}
	return r
}
