package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// DTLS-SRTP (RFC 5763, RFC 5764) for calls placed and answered: the
// second keying method beside SDES (srtp.go). The SDP carries only the
// fingerprint of a per-call self-signed certificate; the SRTP keys come
// from a DTLS handshake on the call's RTP socket (callmedia.DTLSHandshake).
//
// The signalling rule. No key travels in the SDP, but RFC 5763 §8 rests
// the whole scheme on the fingerprint arriving unaltered: whoever can
// rewrite the SDP can put its own fingerprint there and answer the
// handshake (a man in the middle with valid SRTP keys). So:
//   - "srtp" (and the default, which is "srtp" only over TLS) needs TLS
//     signalling with DTLS as with SDES: the guarantee "SRTP or no call"
//     then means SRTP with the party the TLS-protected signalling named.
//     Over UDP or TCP Dial fails with ErrMediaInsecure before sending,
//     and an incoming DTLS offer gets 488.
//   - "optional" over UDP or TCP may offer (or accept) DTLS-SRTP: it
//     keeps passive listeners out, which plain RTP does not, and the
//     final event's Note says the fingerprint was not integrity-protected.
//   - A handshake that fails or times out, or a certificate that matches
//     no fingerprint (RFC 5763 §5), ends the call with BYE and
//     ErrMediaInsecure, under "optional" too: the peer agreed to
//     DTLS-SRTP and expects nothing else on the port, so there is no
//     honest plain fallback, and no media is sent at all.

// checkKeying validates MediaOptions.Keying.
func checkKeying(k string) error {
	switch k {
	case "", protocol.KeyingSDES, protocol.KeyingDTLS:
		return nil
	}
	return fmt.Errorf("media keying %q: want %s: %w", trunc(k, 32), strings.Join(protocol.Keyings, ", "), protocol.ErrInvalid)
}

// handshakeCertKey is a context key for a *callmedia.DTLSCertificate
// used in the DTLS handshake instead of the one whose fingerprint our SDP
// carries: the backend's own tests use it to play a hostile peer whose
// certificate does not match its fingerprint (RFC 5763 §5).
type handshakeCertKey struct{}

func handshakeCert(ctx context.Context, sdpCert *callmedia.DTLSCertificate) *callmedia.DTLSCertificate {
	if c, ok := ctx.Value(handshakeCertKey{}).(*callmedia.DTLSCertificate); ok && c != nil {
		return c
	}
	return sdpCert
}

// srtpOffered reports whether our current offer asks for SRTP (SDES or
// DTLS), so that a 488 to it falls under the Encryption policy.
func (c *call) srtpOffered() bool { return c.cryptos != nil || c.dtlsCert != nil }

// dtlsOffer makes the UDP/TLS/RTP/SAVP offer (RFC 5763 §5): a fresh
// certificate for this call, its fingerprint and a=setup:actpass.
func (c *call) dtlsOffer() error {
	cert, err := callmedia.NewDTLSCertificate()
	if err != nil {
		return newError(protocol.ErrProtocol, err, "dtls certificate: %v", err)
	}
	offer, err := callmedia.OfferDTLS(c.sessID, c.flow.local.Addr(), c.rtp.conn.LocalAddr().(*net.UDPAddr).Port, cert.Fingerprint())
	if err != nil {
		return newError(protocol.ErrProtocol, err, "%v", err)
	}
	if c.plan.media.Video {
		c.notes = append(c.notes, "video is not offered with SRTP: audio only")
	}
	c.cryptos, c.dtlsCert = nil, cert
	c.setSDP(offer)
	return nil
}

// negotiateDTLS reads the answer to a DTLS offer (RFC 5763 §5). An
// answer without DTLS-SRTP falls under the same policy as SDES: "srtp"
// ends the call, "optional" takes plain RTP with a Note.
func (c *call) negotiateDTLS(body []byte) (*negotiated, error) {
	a, peer, err := callmedia.ParseDTLSAnswer(body)
	if err == nil {
		return &negotiated{ans: a, peer: &peer}, nil
	}
	if c.enc == protocol.MediaEncryptionSRTP {
		return nil, fmt.Errorf("SRTP required and the callee did not accept DTLS-SRTP (%v); hung up, no media sent: %w", err, protocol.ErrMediaInsecure)
	}
	c.notes = append(c.notes, fmt.Sprintf("the callee did not accept DTLS-SRTP (%v): media in clear", err))
	pa, perr := callmedia.ParseAnswer(body)
	return &negotiated{ans: pa, err: perr}, nil
}

// handshakeDTLS runs the DTLS handshake of an answered DTLS call on its
// RTP socket, bounded by callmedia.DefaultDTLSTimeout and ctx. Any
// failure is ErrMediaInsecure (see the signalling rule above).
func (c *call) handshakeDTLS(ctx context.Context) error {
	n := c.neg
	if n.ans.Direction == "inactive" {
		return fmt.Errorf("the callee accepted DTLS-SRTP with an inactive stream: no handshake, no media: %w", protocol.ErrMediaInsecure)
	}
	ds, err := callmedia.DTLSHandshake(ctx, callmedia.DTLSConfig{
		Conn: c.rtp.conn, Remote: n.ans.Remote, Setup: n.peer.Setup,
		Certificate: handshakeCert(ctx, c.dtlsCert), PeerFingerprints: n.peer.Fingerprints,
	})
	if err != nil {
		return dtlsFailure(err)
	}
	n.dtls, n.keys = ds, ds.Keys()
	if c.keyHook != nil {
		c.keyHook(nil, n.keys)
	}
	c.s.log.Debug("dtls-srtp keyed", "call_id", c.callID, "suite", n.keys.Suite, "role", string(n.peer.Setup))
	return nil
}

// dtlsFailure words a failed handshake for the outcome; it never carries
// key material (the handshake's errors have none).
func dtlsFailure(err error) error {
	if errors.Is(err, callmedia.ErrFingerprintMismatch) {
		return fmt.Errorf("DTLS-SRTP: the peer's certificate does not match the fingerprint in its SDP (RFC 5763 §5); hung up, no media sent: %w", protocol.ErrMediaInsecure)
	}
	return fmt.Errorf("DTLS-SRTP handshake failed (%v); hung up, no media sent: %w", err, protocol.ErrMediaInsecure)
}

// closeDTLS ends the DTLS association (close_notify), before the RTP
// socket is closed.
func (n *negotiated) closeDTLS() {
	if n != nil && n.dtls != nil {
		_ = n.dtls.Close()
	}
}

// planDTLSAnswer decides how a UDP/TLS/RTP/SAVP offer is answered (RFC
// 5763 §5), under the signalling rule above: "none" and "srtp" over
// UDP/TCP refuse it with 488; "optional" over UDP/TCP takes it with a
// Note; a malformed offer (no usable fingerprint, a=setup:holdconn, no
// common codec) is 488 with a Note.
func planDTLSAnswer(body []byte, eff string, tls bool) (answerMedia, *refusal, error) {
	switch {
	case eff == protocol.MediaEncryptionNone:
		return answerMedia{}, &refusal{"the caller offered DTLS-SRTP only (UDP/TLS/RTP/SAVP) and media encryption is none: refused with 488"}, nil
	case eff == protocol.MediaEncryptionSRTP && !tls:
		return answerMedia{}, &refusal{"the caller offered DTLS-SRTP over signalling that is not TLS: its fingerprint was not integrity-protected (RFC 5763 §8), so media encryption srtp cannot be honoured: refused with 488"}, nil
	}
	offer, peer, err := callmedia.ParseDTLSOffer(body)
	switch {
	case errors.Is(err, callmedia.ErrNoCommonCodec):
		return answerMedia{}, &refusal{"no codec in common with the caller's DTLS-SRTP offer (we take PCMU or PCMA): refused with 488"}, nil
	case err != nil:
		// The parser's errors quote at most a truncated attribute; an
		// SDP fingerprint is not secret.
		return answerMedia{}, &refusal{"unusable DTLS-SRTP offer (" + trunc(redactKeys(err.Error()), 200) + "): refused with 488"}, nil
	case offer.Direction == "inactive":
		return answerMedia{}, &refusal{"the caller's DTLS-SRTP offer is inactive: no handshake possible, refused with 488"}, nil
	}
	m := answerMedia{offer: offer, dtlsPeer: &peer}
	if !tls {
		m.note = "DTLS-SRTP fingerprint received over signalling that is not TLS, not integrity-protected (RFC 5763 §8): the media is encrypted but an attacker on the signalling path could have answered the handshake"
	}
	return m, nil, nil
}

// answerDTLS is the DTLS handshake of an answered call, run from the 200
// on (RFC 5763 §5: the answerer, usually active, may start at once; the
// ACK need not be waited for).
type answerDTLS struct {
	cancel context.CancelFunc
	done   chan struct{}
	ds     *callmedia.DTLSSession
	err    error
}

func startAnswerDTLS(ctx context.Context, conn *net.UDPConn, m answerMedia, cert *callmedia.DTLSCertificate) *answerDTLS {
	ctx, cancel := context.WithCancel(ctx)
	h := &answerDTLS{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.ds, h.err = callmedia.DTLSHandshake(ctx, callmedia.DTLSConfig{
			Conn: conn, Remote: m.offer.Remote, Setup: m.dtlsPeer.Setup,
			Certificate: handshakeCert(ctx, cert), PeerFingerprints: m.dtlsPeer.Fingerprints,
		})
	}()
	return h
}

// stop abandons the handshake (or ends the association) and waits for
// it, so nothing reads the socket once the call is over.
func (h *answerDTLS) stop() {
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
	if h.ds != nil {
		_ = h.ds.Close()
	}
}
