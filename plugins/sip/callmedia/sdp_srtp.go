package callmedia

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/pion/sdp/v3"
)

// These helpers prepare SDES-SRTP signalling (RFC 4568 §5, §7.1) for the
// calls placed and answered. Nothing calls them yet: a key may only be
// put in SDP that travels over TLS (RFC 4568 §8.3), and the dial and
// answer paths will choose them only then.

// ErrNoSRTP: an SRTP offer was answered with plain RTP/AVP, or without an
// acceptable a=crypto line.
var ErrNoSRTP = errors.New("the peer did not accept SRTP")

// OfferSRTP is Offer for one audio stream with the RTP/SAVP profile (RFC
// 3711 §1) and one a=crypto line per element of cryptos, in our
// preference order (RFC 4568 §5.1: the answerer picks one). Each line
// should have its own tag and key (NewCrypto). Video is not offered with
// SRTP yet.
func OfferSRTP(sessID uint64, addr netip.Addr, port int, cryptos []Crypto) ([]byte, error) {
	if len(cryptos) == 0 {
		return nil, errors.New("sdp offer: SRTP needs at least one a=crypto line")
	}
	tags := map[uint32]bool{}
	for _, c := range cryptos {
		if n, err := keyLen(c.Suite); err != nil || len(c.Key) != n {
			return nil, fmt.Errorf("sdp offer: invalid a=crypto %s", c)
		}
		if tags[c.Tag] {
			return nil, fmt.Errorf("sdp offer: duplicate a=crypto tag %d (RFC 4568 §9.1)", c.Tag)
		}
		tags[c.Tag] = true
	}
	b, err := Offer(sessID, addr, port, false)
	if err != nil {
		return nil, err
	}
	return toSAVP(b, cryptos)
}

// toSAVP turns the audio m-line of our own SDP b into RTP/SAVP with
// cryptos' a=crypto lines.
func toSAVP(b []byte, cryptos []Crypto) ([]byte, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	m := s.MediaDescriptions[0]
	m.MediaName.Protos = []string{"RTP", "SAVP"}
	attrs := make([]sdp.Attribute, 0, len(cryptos)+len(m.Attributes))
	for _, c := range cryptos {
		attrs = append(attrs, sdp.NewAttribute("crypto", c.Attribute()))
	}
	m.Attributes = append(attrs, m.Attributes...)
	out, err := s.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	return out, nil
}

// cryptoValues are the a=crypto values of m.
func cryptoValues(m *sdp.MediaDescription) []string {
	var v []string
	for _, a := range m.Attributes {
		if a.Key == "crypto" {
			v = append(v, a.Value)
		}
	}
	return v
}

// ParseSRTPAnswer parses the answer to an OfferSRTP made with offered and
// returns the call's media and keys. RFC 4568 §7.1.3: the answer has an
// RTP/SAVP audio line with exactly one a=crypto whose tag and suite are
// those of an offered line; the key in it is the one the answerer sends
// with (§6.1), ours is the offered line's. A plain RTP/AVP answer, or
// none / several / a non-matching a=crypto, is ErrNoSRTP: the caller
// must then end the call or, if allowed, fall back with a warning.
func ParseSRTPAnswer(b []byte, offered []Crypto) (Answer, *SRTPKeys, error) {
	a, m, err := parseAudio(b, "RTP/SAVP")
	if err != nil {
		if _, plainErr := ParseAnswer(b); plainErr == nil {
			return Answer{}, nil, fmt.Errorf("sdp answer: RTP/AVP: %w", ErrNoSRTP)
		}
		return Answer{}, nil, err
	}
	vals := cryptoValues(m)
	if len(vals) != 1 {
		return Answer{}, nil, fmt.Errorf("sdp answer: %d a=crypto lines, want exactly 1 (RFC 4568 §7.1.3): %w", len(vals), ErrNoSRTP)
	}
	c, err := ParseCrypto(vals[0])
	if err != nil {
		return Answer{}, nil, fmt.Errorf("sdp answer: %w: %w", err, ErrNoSRTP)
	}
	for _, o := range offered {
		if o.Tag == c.Tag {
			if o.Suite != c.Suite {
				break
			}
			return a, &SRTPKeys{Suite: c.Suite, LocalKey: o.Key, RemoteKey: c.Key}, nil
		}
	}
	return Answer{}, nil, fmt.Errorf("sdp answer: a=crypto tag %d %s matches no offered line: %w", c.Tag, trunc(c.Suite), ErrNoSRTP)
}

// ParseSRTPOffer parses a caller's RTP/SAVP offer: the media as
// ParseOffer, the a=crypto line we accept (ChooseCrypto: our preference
// order among the lines we can honour) and our own line for the answer,
// with a fresh key. A plain RTP/AVP offer or no acceptable line is
// ErrNoSRTP (with a plain offer the caller uses ParseOffer instead).
func ParseSRTPOffer(b []byte) (Answer, Crypto, Crypto, error) {
	a, m, err := parseAudio(b, "RTP/SAVP")
	if err != nil {
		if _, plainErr := ParseOffer(b); plainErr == nil {
			return Answer{}, Crypto{}, Crypto{}, fmt.Errorf("sdp offer: RTP/AVP: %w", ErrNoSRTP)
		}
		return Answer{}, Crypto{}, Crypto{}, fmt.Errorf("sdp offer: %w", err)
	}
	remote, local, err := ChooseCrypto(cryptoValues(m))
	if err != nil {
		return Answer{}, Crypto{}, Crypto{}, fmt.Errorf("sdp offer: %w: %w", err, ErrNoSRTP)
	}
	return a, remote, local, nil
}

// AnswerSRTP is AnswerSDP with RTP/SAVP and our one a=crypto line
// (RFC 4568 §7.1.2), local from ParseSRTPOffer.
func AnswerSRTP(o Answer, local Crypto, sessID uint64, addr netip.Addr, port int) ([]byte, error) {
	if n, err := keyLen(local.Suite); err != nil || len(local.Key) != n {
		return nil, fmt.Errorf("sdp answer: invalid a=crypto %s", local)
	}
	b, err := AnswerSDP(o, sessID, addr, port)
	if err != nil {
		return nil, err
	}
	return toSAVP(b, []Crypto{local})
}

// MediaKeys are the session keys of an answered SRTP call: we send with
// local (our answer's line), the caller with remote (its offered line).
func MediaKeys(remote, local Crypto) *SRTPKeys {
	return &SRTPKeys{Suite: local.Suite, LocalKey: local.Key, RemoteKey: remote.Key}
}
