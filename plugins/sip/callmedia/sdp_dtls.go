package callmedia

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/sdp/v3"
)

// These helpers make and parse DTLS-SRTP offers and answers (RFC 5763
// §5, RFC 5764 §8): the UDP/TLS/RTP/SAVP transport, a=fingerprint (RFC
// 8122 §5) and a=setup (RFC 4145 §4). Our DTLS SDP never carries
// a=crypto: keys for SDES would travel in the signalling, which DTLS-SRTP
// exists to avoid, and an answerer picking SDES would skip the
// fingerprint check; a=crypto in the peer's DTLS SDP is ignored.

// protoDTLS is the DTLS-SRTP transport (RFC 5764 §8).
const protoDTLS = "UDP/TLS/RTP/SAVP"

// protoDTLSF is DTLS-SRTP with the RTCP feedback profile (RFC 5764 §8,
// RFC 5124), what WebRTC-minded phones (baresip among them) offer. An
// offer of it is answered with it (RFC 3264 §6: the answer's transport
// is the offer's); we send no RTCP at all, so AVPF's RTCP timing rules
// (RFC 4585 §3) constrain nothing we do, and we add no a=rtcp-fb.
const protoDTLSF = "UDP/TLS/RTP/SAVPF"

// ErrNoDTLS: a DTLS-SRTP offer was answered without DTLS-SRTP (another
// transport, no usable a=fingerprint, or an impossible a=setup), or an
// offer is not DTLS-SRTP. The call must end, or fall back if allowed.
var ErrNoDTLS = errors.New("the peer did not accept DTLS-SRTP")

// Setup is an a=setup value (RFC 4145 §4): which end starts the
// connection, here the DTLS handshake (RFC 5763 §5: active is the DTLS
// client).
type Setup string

// a=setup values (RFC 4145 §4).
const (
	SetupActive   Setup = "active"
	SetupPassive  Setup = "passive"
	SetupActPass  Setup = "actpass"
	SetupHoldConn Setup = "holdconn"
)

// ParseSetup parses an a=setup value; names are case-insensitive (RFC
// 4145 §4 uses tokens).
func ParseSetup(v string) (Setup, error) {
	switch s := Setup(strings.ToLower(strings.TrimSpace(v))); s {
	case SetupActive, SetupPassive, SetupActPass, SetupHoldConn:
		return s, nil
	}
	return "", fmt.Errorf("a=setup %q: want active, passive, actpass or holdconn", trunc(v))
}

// DTLSPeer is what the peer's SDP says about DTLS-SRTP.
type DTLSPeer struct {
	// Fingerprints are its a=fingerprint lines with a hash cusax
	// accepts (DTLSConfig.PeerFingerprints).
	Fingerprints []Fingerprint
	// Setup is OUR role, resolved from the peer's a=setup: SetupActive
	// (we are the DTLS client) or SetupPassive (DTLSConfig.Setup; for an
	// answerer also its a=setup line, AnswerDTLS).
	Setup Setup
	// Proto is the peer's transport, UDP/TLS/RTP/SAVP or
	// UDP/TLS/RTP/SAVPF; AnswerDTLS answers with it ("" is the former).
	Proto string
}

// OfferDTLS is Offer for one audio stream with UDP/TLS/RTP/SAVP, our
// certificate's fingerprint and a=setup:actpass (RFC 5763 §5: the
// offerer must let the answerer choose).
func OfferDTLS(sessID uint64, addr netip.Addr, port int, fp Fingerprint) ([]byte, error) {
	if _, ok := fingerprintHashes[fp.Hash]; !ok || len(fp.Value) != fingerprintHashes[fp.Hash] {
		return nil, errors.New("sdp offer: invalid fingerprint")
	}
	b, err := Offer(sessID, addr, port, false)
	if err != nil {
		return nil, err
	}
	return toDTLS(b, protoDTLS, fp, SetupActPass)
}

// toDTLS turns the audio m-line of our own SDP b into DTLS-SRTP.
func toDTLS(b []byte, proto string, fp Fingerprint, setup Setup) ([]byte, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	m := s.MediaDescriptions[0]
	m.MediaName.Protos = strings.Split(proto, "/")
	m.Attributes = append([]sdp.Attribute{
		sdp.NewAttribute("fingerprint", fp.Attribute()),
		sdp.NewAttribute("setup", string(setup)),
	}, m.Attributes...)
	out, err := s.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	return out, nil
}

// ParseDTLSAnswer parses the answer to an OfferDTLS: the call's media,
// the peer's fingerprints and our role. RFC 5763 §5: the answer must be
// active or passive (actpass or holdconn is ErrNoDTLS); an absent
// a=setup is passive in an answer (RFC 4145 §4.1), making us active.
// An answer with another transport, or whose fingerprints are missing
// or all use a hash other than sha-256/384/512, is ErrNoDTLS.
func ParseDTLSAnswer(b []byte) (Answer, DTLSPeer, error) {
	a, peer, setup, err := parseDTLS(b, "sdp answer")
	if err != nil {
		return Answer{}, DTLSPeer{}, err
	}
	switch setup {
	case SetupActive:
		peer.Setup = SetupPassive
	case SetupPassive, "":
		peer.Setup = SetupActive
	default:
		return Answer{}, DTLSPeer{}, fmt.Errorf("sdp answer: a=setup:%s in an answer (RFC 5763 §5: active or passive): %w", setup, ErrNoDTLS)
	}
	return a, peer, nil
}

// ParseDTLSOffer parses a caller's DTLS-SRTP offer. Our role: active
// for actpass (RFC 5763 §5: the answerer should be the client), the
// opposite of active or passive (an absent a=setup is active in an
// offer, RFC 4145 §4.1); holdconn is ErrNoDTLS. A
// plain RTP/AVP or SDES offer is ErrNoDTLS (the caller then uses
// ParseOffer or ParseSRTPOffer).
func ParseDTLSOffer(b []byte) (Answer, DTLSPeer, error) {
	a, peer, setup, err := parseDTLS(b, "sdp offer")
	if err != nil {
		return Answer{}, DTLSPeer{}, err
	}
	switch setup {
	case SetupActPass, SetupPassive:
		peer.Setup = SetupActive
	case SetupActive, "":
		peer.Setup = SetupPassive
	default:
		return Answer{}, DTLSPeer{}, fmt.Errorf("sdp offer: a=setup:%s: %w", setup, ErrNoDTLS)
	}
	return a, peer, nil
}

// AnswerDTLS is AnswerSDP with UDP/TLS/RTP/SAVP, our fingerprint and
// a=setup with our role from ParseDTLSOffer.
func AnswerDTLS(o Answer, peer DTLSPeer, sessID uint64, addr netip.Addr, port int, fp Fingerprint) ([]byte, error) {
	if peer.Setup != SetupActive && peer.Setup != SetupPassive {
		return nil, fmt.Errorf("sdp answer: a=setup:%s (RFC 5763 §5: active or passive)", trunc(string(peer.Setup)))
	}
	if _, ok := fingerprintHashes[fp.Hash]; !ok || len(fp.Value) != fingerprintHashes[fp.Hash] {
		return nil, errors.New("sdp answer: invalid fingerprint")
	}
	b, err := AnswerSDP(o, sessID, addr, port)
	if err != nil {
		return nil, err
	}
	proto := protoDTLS
	if peer.Proto == protoDTLSF {
		proto = protoDTLSF
	}
	return toDTLS(b, proto, fp, peer.Setup)
}

// parseDTLS is the part the offer and answer share: the audio stream
// with UDP/TLS/RTP/SAVP, its fingerprints, and the peer's a=setup ("" if
// absent).
func parseDTLS(b []byte, what string) (Answer, DTLSPeer, Setup, error) {
	proto := protoDTLS
	a, m, err := parseAudio(b, protoDTLS)
	if err != nil {
		if af, mf, errf := parseAudio(b, protoDTLSF); errf == nil {
			a, m, err, proto = af, mf, nil, protoDTLSF
		}
	}
	if err != nil {
		if _, _, other := parseAudio(b, "RTP/AVP"); other == nil {
			return Answer{}, DTLSPeer{}, "", fmt.Errorf("%s: RTP/AVP: %w", what, ErrNoDTLS)
		}
		if _, _, other := parseAudio(b, "RTP/SAVP"); other == nil {
			return Answer{}, DTLSPeer{}, "", fmt.Errorf("%s: RTP/SAVP (SDES): %w", what, ErrNoDTLS)
		}
		return Answer{}, DTLSPeer{}, "", fmt.Errorf("%s: %w", what, err)
	}
	var s sdp.SessionDescription
	if err := s.Unmarshal(b); err != nil { // parsed once already
		return Answer{}, DTLSPeer{}, "", fmt.Errorf("%s: %w", what, err)
	}
	fps, setup, err := dtlsAttributes(s.Attributes, m.Attributes)
	if err != nil {
		return Answer{}, DTLSPeer{}, "", fmt.Errorf("%s: %w: %w", what, err, ErrNoDTLS)
	}
	return a, DTLSPeer{Fingerprints: fps, Proto: proto}, setup, nil
}

// dtlsAttributes reads a=fingerprint and a=setup, media level first,
// else session level (RFC 8122 §5, RFC 4145 §4). Fingerprints with a
// hash cusax does not accept are skipped (RFC 8122 §5: a peer may offer
// several hashes), but at least one usable one must remain; a malformed
// line with an accepted hash, or two different a=setup lines, is an
// error.
func dtlsAttributes(session, media []sdp.Attribute) ([]Fingerprint, Setup, error) {
	fps, skipped, err := fingerprints(media)
	if err == nil && len(fps) == 0 && !skipped {
		fps, skipped, err = fingerprints(session)
	}
	if err != nil {
		return nil, "", err
	}
	if len(fps) == 0 {
		if skipped {
			return nil, "", ErrFingerprintHash
		}
		return nil, "", errors.New("no a=fingerprint (RFC 5763 §5)")
	}
	setup, err := setupOf(media)
	if err == nil && setup == "" {
		setup, err = setupOf(session)
	}
	if err != nil {
		return nil, "", err
	}
	return fps, setup, nil
}

// fingerprints are the usable a=fingerprint lines of one level;
// skipped reports lines with a hash cusax does not accept.
func fingerprints(attrs []sdp.Attribute) (fps []Fingerprint, skipped bool, err error) {
	for _, at := range attrs {
		if at.Key != "fingerprint" {
			continue
		}
		fp, err := ParseFingerprint(at.Value)
		if errors.Is(err, ErrFingerprintHash) {
			skipped = true
			continue
		}
		if err != nil {
			return nil, false, err
		}
		fps = append(fps, fp)
	}
	return fps, skipped, nil
}

// setupOf is the a=setup of one level, "" if absent.
func setupOf(attrs []sdp.Attribute) (Setup, error) {
	var setup Setup
	for _, at := range attrs {
		if at.Key != "setup" {
			continue
		}
		s, err := ParseSetup(at.Value)
		if err != nil {
			return "", err
		}
		if setup != "" && setup != s {
			return "", fmt.Errorf("a=setup:%s and a=setup:%s", setup, s)
		}
		setup = s
	}
	return setup, nil
}
