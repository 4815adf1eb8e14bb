package callmedia

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/protocol"
	"github.com/pion/logging"
)

// DTLS-SRTP (RFC 5763, RFC 5764): the SRTP keys of a call come from a
// DTLS handshake on the call's own RTP socket, and the only thing the
// signalling carries is the hash of each side's self-signed certificate
// (a=fingerprint). Nothing here calls the dial or answer paths: they
// call DTLSHandshake once the SDP exchange is done, then Run with the
// keys.

// ErrFingerprintMismatch: the peer's DTLS certificate does not match
// the a=fingerprint in its SDP (RFC 5763 §5: the call must end; someone
// other than the signalled peer is answering the handshake).
var ErrFingerprintMismatch = errors.New("the peer's DTLS certificate does not match its SDP fingerprint")

// DefaultDTLSTimeout bounds DTLSHandshake when DTLSConfig.Timeout is 0.
// Retransmissions start at 1 s and back off (RFC 6347 §4.2.4.1), so 10 s
// leaves room for several lost flights.
const DefaultDTLSTimeout = 10 * time.Second

// exporterLabel is the RFC 5705 exporter label of DTLS-SRTP (RFC 5764 §4.2).
const exporterLabel = "EXTRACTOR-dtls_srtp"

// dtlsProfiles are the use_srtp profiles offered, in our preference
// order (RFC 5764 §4.1.2, RFC 7714 §14.2): authenticated encryption
// first, then the 80-bit tag. The 32-bit tag is not offered: DTLS-SRTP
// peers all have one of these two.
var dtlsProfiles = []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80}

// profileSuite maps a use_srtp profile to our suite name (the SDES
// spelling SRTPKeys.Suite uses).
func profileSuite(p dtls.SRTPProtectionProfile) (string, error) {
	switch p {
	case dtls.SRTP_AEAD_AES_128_GCM:
		return SuiteAEADAES128GCM, nil
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		return SuiteAESCM128SHA1_80, nil
	}
	return "", fmt.Errorf("dtls: unexpected SRTP profile 0x%04x", uint16(p))
}

// DTLSConfig is one call's DTLS-SRTP keying, filled from the SDP
// exchange (ParseDTLSAnswer, ParseDTLSOffer).
type DTLSConfig struct {
	// Conn is the call's RTP socket, the one Run will use (RFC 5764
	// §5.1.2: DTLS and SRTP share the port). DTLSHandshake reads it only
	// while it runs; the caller closes it.
	Conn *net.UDPConn
	// Remote is the peer's RTP address from its SDP. Handshake records
	// go there; they are accepted from its IP on any port, as Run does
	// with RTP.
	Remote netip.AddrPort
	// Setup is our role (RFC 4145 §4, RFC 5763 §5): SetupActive is the
	// DTLS client, SetupPassive the server.
	Setup Setup
	// Certificate is ours; its Fingerprint must be the one in our SDP.
	Certificate *DTLSCertificate
	// PeerFingerprints are the peer's a=fingerprint lines; its
	// certificate must match one of them.
	PeerFingerprints []Fingerprint
	// Timeout bounds the handshake; 0 means DefaultDTLSTimeout.
	Timeout time.Duration
	// maxVersion caps the DTLS version (tests of DTLS 1.2); 0 is 1.3.
	maxVersion protocol.Version
}

// DTLSSession is a finished DTLS-SRTP handshake: the SRTP keys of the
// call and the DTLS association, which stays open during the call so a
// peer that lost our last flight gets it again (RFC 6347 §4.2.4).
type DTLSSession struct {
	conn  *dtls.Conn
	pc    *dtlsPacketConn
	keys  *SRTPKeys
	close sync.Once
}

// Keys are the SRTP keys for SessionConfig.SRTP (RFC 5764 §4.2).
func (s *DTLSSession) Keys() *SRTPKeys { return s.keys }

// HandlePacket gives the session a DTLS datagram that arrived on the RTP
// socket after the handshake (SessionConfig.OnDTLS); the slice is
// copied, and dropped if the session is busy or closed. It never blocks.
func (s *DTLSSession) HandlePacket(b []byte) { s.pc.deliver(b) }

// Close ends the DTLS association (a close_notify alert to the peer,
// RFC 5246 §7.2.1) without closing the socket. Call it when the call
// ends, before closing the socket.
func (s *DTLSSession) Close() error {
	var err error
	s.close.Do(func() { err = s.conn.Close() })
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("dtls: close: %w", err)
	}
	return nil
}

// DTLSHandshake runs the DTLS handshake of a DTLS-SRTP call on
// cfg.Conn (RFC 5764 §4) and exports the SRTP keys. It reads the socket
// itself until it returns, so Run must not run yet; afterwards the
// socket has no read deadline and nothing else reading it.
//
// Errors: an invalid config; ErrFingerprintMismatch when the peer's
// certificate matches none of PeerFingerprints (RFC 5763 §5: end the
// call); a timeout (cfg.Timeout or ctx) when the peer does not complete
// the handshake; a peer that does not negotiate use_srtp. On error
// nothing is left running.
func DTLSHandshake(ctx context.Context, cfg DTLSConfig) (*DTLSSession, error) {
	switch {
	case cfg.Conn == nil:
		return nil, errors.New("dtls: no socket")
	case !cfg.Remote.IsValid() || cfg.Remote.Port() == 0 || cfg.Remote.Addr().IsUnspecified():
		return nil, fmt.Errorf("dtls: invalid remote address %v", cfg.Remote)
	case cfg.Certificate == nil:
		return nil, errors.New("dtls: no certificate")
	case len(cfg.PeerFingerprints) == 0:
		return nil, errors.New("dtls: no peer fingerprint (RFC 5763 §5)")
	case cfg.Setup != SetupActive && cfg.Setup != SetupPassive:
		return nil, fmt.Errorf("dtls: our role must be active or passive, not %q", cfg.Setup)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultDTLSTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		return checkFingerprint(raw, cfg.PeerFingerprints)
	}
	remote := net.UDPAddrFromAddrPort(cfg.Remote)
	opts := []dtls.Option{
		dtls.WithCertificates(cfg.Certificate.cert),
		dtls.WithSRTPProtectionProfiles(dtlsProfiles...),
		// RFC 5763 §5: no CA chain; the fingerprint is the trust anchor.
		dtls.WithInsecureSkipVerify(true),
		dtls.WithVerifyPeerCertificate(verify),
		// RFC 7627 is asked for, not required: it guards resumption and
		// renegotiation, which DTLS-SRTP here never uses, and older
		// phones' OpenSSL lacks it.
		dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret),
		// Errors are returned; pion's own log (which PION_LOG_TRACE
		// would open to handshake internals) never reaches stderr.
		dtls.WithLoggerFactory(&logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled, Writer: io.Discard}),
	}
	if cfg.maxVersion != 0 {
		opts = append(opts, dtls.WithMaxVersion(cfg.maxVersion))
	}
	pc := newDTLSPacketConn(cfg.Conn, cfg.Remote)
	var conn *dtls.Conn
	var err error
	if cfg.Setup == SetupActive {
		conn, err = dtls.Client(pc, remote, toClient(opts)...)
	} else {
		// RFC 5763 §5: both ends present a certificate.
		sopts := append(toServer(opts), dtls.WithClientAuth(dtls.RequireAnyClientCert))
		conn, err = dtls.Server(pc, remote, sopts...)
	}
	if err != nil {
		pc.stopPump()
		return nil, fmt.Errorf("dtls: %w", err)
	}
	s := &DTLSSession{conn: conn, pc: pc}
	keys, err := s.handshake(ctx, cfg.PeerFingerprints)
	// Stop reading the socket before returning either way: Run reads it
	// next, and a second reader would steal its packets.
	pc.stopPump()
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.keys = keys
	return s, nil
}

func toClient(opts []dtls.Option) []dtls.ClientOption {
	out := make([]dtls.ClientOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}

func toServer(opts []dtls.Option) []dtls.ServerOption {
	out := make([]dtls.ServerOption, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}

func (s *DTLSSession) handshake(ctx context.Context, fps []Fingerprint) (*SRTPKeys, error) {
	if err := s.conn.HandshakeContext(ctx); err != nil {
		switch {
		case errors.Is(err, ErrFingerprintMismatch):
			return nil, fmt.Errorf("dtls handshake: %w", ErrFingerprintMismatch)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return nil, fmt.Errorf("dtls handshake: no answer from the peer in time: %w", ctx.Err())
		case ctx.Err() != nil:
			return nil, fmt.Errorf("dtls handshake: %w", ctx.Err())
		}
		return nil, fmt.Errorf("dtls handshake: %w", err)
	}
	state, ok := s.conn.ConnectionState()
	if !ok {
		return nil, errors.New("dtls handshake: no connection state")
	}
	// Checked again outside the callback, so no handshake path (such as
	// a resumption) can skip RFC 5763 §5.
	if err := checkFingerprint(state.PeerCertificates, fps); err != nil {
		return nil, fmt.Errorf("dtls handshake: %w", err)
	}
	profile, ok := s.conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, errors.New("dtls handshake: the peer did not negotiate use_srtp (RFC 5764 §4.1)")
	}
	suite, err := profileSuite(profile)
	if err != nil {
		return nil, err
	}
	return exportKeys(&state, suite)
}

// exportKeys derives the SRTP master keys and salts (RFC 5764 §4.2):
// client_write_key | server_write_key | client_write_salt |
// server_write_salt from the exporter; each side sends with its own.
func exportKeys(state *dtls.State, suite string) (*SRTPKeys, error) {
	p, err := suiteProfile(suite)
	if err != nil {
		return nil, err
	}
	kl, err := p.KeyLen()
	if err != nil {
		return nil, err
	}
	sl, err := p.SaltLen()
	if err != nil {
		return nil, err
	}
	m, err := state.ExportKeyingMaterial(exporterLabel, nil, 2*(kl+sl))
	if err != nil {
		return nil, fmt.Errorf("dtls: export SRTP keys: %w", err)
	}
	client := append(append([]byte{}, m[:kl]...), m[2*kl:2*kl+sl]...)
	server := append(append([]byte{}, m[kl:2*kl]...), m[2*kl+sl:]...)
	if state.Role() == dtls.RoleClient {
		return &SRTPKeys{Suite: suite, LocalKey: client, RemoteKey: server}, nil
	}
	return &SRTPKeys{Suite: suite, LocalKey: server, RemoteKey: client}, nil
}
