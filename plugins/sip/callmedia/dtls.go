package callmedia

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/protocol"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/deadline"
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

// Fingerprint is a certificate fingerprint as in a=fingerprint (RFC
// 8122 §5): a hash function name and the hash of the DER certificate.
type Fingerprint struct {
	// Hash is the lower-case hash function name: sha-256, sha-384 or
	// sha-512.
	Hash  string
	Value []byte
}

// fingerprintHashes are the hash functions accepted in a=fingerprint,
// with their output length. RFC 8122 §5 keeps MD5 and SHA-1 only for
// old peers; a forged certificate for a weak hash would defeat RFC 5763
// §5's check, so they are refused like any unknown name.
var fingerprintHashes = map[string]int{"sha-256": sha256.Size, "sha-384": sha512.Size384, "sha-512": sha512.Size}

// ErrFingerprintHash: an a=fingerprint names a hash function cusax does
// not accept (only sha-256, sha-384, sha-512).
var ErrFingerprintHash = errors.New("unsupported a=fingerprint hash (want sha-256, sha-384 or sha-512)")

// CertFingerprint is the fingerprint of a DER certificate with hash
// (sha-256, sha-384 or sha-512); other names are ErrFingerprintHash.
func CertFingerprint(hash string, der []byte) (Fingerprint, error) {
	var sum []byte
	switch strings.ToLower(hash) {
	case "sha-256":
		s := sha256.Sum256(der)
		sum = s[:]
	case "sha-384":
		s := sha512.Sum384(der)
		sum = s[:]
	case "sha-512":
		s := sha512.Sum512(der)
		sum = s[:]
	default:
		return Fingerprint{}, fmt.Errorf("%w: %q", ErrFingerprintHash, trunc(hash))
	}
	return Fingerprint{Hash: strings.ToLower(hash), Value: sum}, nil
}

// Matches reports whether der is the certificate f is a fingerprint of.
func (f Fingerprint) Matches(der []byte) bool {
	g, err := CertFingerprint(f.Hash, der)
	return err == nil && len(f.Value) == len(g.Value) && subtle.ConstantTimeCompare(f.Value, g.Value) == 1
}

// Attribute is the value of a=fingerprint (RFC 8122 §5: upper-case hex
// pairs separated by colons).
func (f Fingerprint) Attribute() string {
	h := strings.ToUpper(hex.EncodeToString(f.Value))
	var b strings.Builder
	b.Grow(len(f.Hash) + 1 + len(h)*3/2)
	b.WriteString(f.Hash)
	b.WriteByte(' ')
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func (f Fingerprint) String() string { return f.Attribute() }

// ParseFingerprint parses an a=fingerprint value (RFC 8122 §5:
// hash-func SP fingerprint, fingerprint = 2UHEX *(":" 2UHEX)). The hash
// name is case-insensitive; lower-case hex is accepted too, as many
// peers send it. Errors: a malformed value, ErrFingerprintHash, or a
// length that is not the hash's.
func ParseFingerprint(v string) (Fingerprint, error) {
	hash, hx, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Fingerprint{}, fmt.Errorf("a=fingerprint %q: want \"hash-func XX:XX:…\"", trunc(v))
	}
	hash = strings.ToLower(hash)
	size, ok := fingerprintHashes[hash]
	if !ok {
		return Fingerprint{}, fmt.Errorf("a=fingerprint: %w: %q", ErrFingerprintHash, trunc(hash))
	}
	hx = strings.TrimSpace(hx)
	if len(hx) != size*3-1 {
		return Fingerprint{}, fmt.Errorf("a=fingerprint: %s needs %d colon-separated bytes", hash, size)
	}
	val := make([]byte, size)
	for i := range size {
		p := hx[i*3:]
		if i > 0 && hx[i*3-1] != ':' {
			return Fingerprint{}, fmt.Errorf("a=fingerprint: %s needs %d colon-separated bytes", hash, size)
		}
		if _, err := hex.Decode(val[i:i+1], []byte(p[:2])); err != nil {
			return Fingerprint{}, fmt.Errorf("a=fingerprint: invalid hex %q", trunc(p[:2]))
		}
	}
	return Fingerprint{Hash: hash, Value: val}, nil
}

// DTLSCertificate is our side's self-signed DTLS certificate, made per
// call (RFC 5763 §5: self-signed; the fingerprint in SDP, not a CA,
// vouches for it). A fresh key per call means two calls cannot be
// linked by the certificate.
type DTLSCertificate struct {
	cert tls.Certificate
	fp   Fingerprint
}

// NewDTLSCertificate makes an ECDSA P-256 key and a self-signed
// certificate valid from an hour ago (clock skew) for 30 days.
func NewDTLSCertificate() (*DTLSCertificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "cusax"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	fp, _ := CertFingerprint("sha-256", der)
	return &DTLSCertificate{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, fp: fp}, nil
}

// Fingerprint is the sha-256 fingerprint for our a=fingerprint line.
func (c *DTLSCertificate) Fingerprint() Fingerprint { return c.fp }

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

// checkFingerprint is RFC 5763 §5: the peer's end-entity certificate
// must match one of the fingerprints from its SDP.
func checkFingerprint(raw [][]byte, fps []Fingerprint) error {
	if len(raw) == 0 {
		return fmt.Errorf("no certificate: %w", ErrFingerprintMismatch)
	}
	for _, fp := range fps {
		if fp.Matches(raw[0]) {
			return nil
		}
	}
	return ErrFingerprintMismatch
}

// dtlsPacketConn is the net.PacketConn pion/dtls runs on. A pump
// goroutine reads the RTP socket during the handshake and passes on
// DTLS records from the peer's IP (RFC 7983 §7: first byte 20–63);
// after it, HandlePacket feeds it. Closing it never closes the socket.
type dtlsPacketConn struct {
	conn   *net.UDPConn
	remote netip.AddrPort
	ip     netip.Addr // remote's, unmapped, without zone
	in     chan []byte
	closed chan struct{}
	dead   chan struct{} // closed when the socket failed during the handshake
	once   sync.Once
	rd     *deadline.Deadline

	stopping atomic.Bool
	pumpDone chan struct{}
}

// dtlsQueue is how many datagrams wait for pion/dtls; a handshake
// flight is a handful, so more means a flood and is dropped.
const dtlsQueue = 64

func newDTLSPacketConn(conn *net.UDPConn, remote netip.AddrPort) *dtlsPacketConn {
	c := &dtlsPacketConn{
		conn: conn, remote: remote, ip: remote.Addr().Unmap().WithZone(""),
		in: make(chan []byte, dtlsQueue), closed: make(chan struct{}), dead: make(chan struct{}),
		rd: deadline.New(), pumpDone: make(chan struct{}),
	}
	_ = conn.SetReadDeadline(time.Time{})
	go c.pump()
	return c
}

func (c *dtlsPacketConn) pump() {
	defer close(c.pumpDone)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if c.stopping.Load() {
			return
		}
		if err != nil {
			if transient(err) {
				continue
			}
			// The socket is gone (the caller closed it): fail the
			// handshake now rather than at its timeout.
			close(c.dead)
			return
		}
		if from.Addr().Unmap().WithZone("") == c.ip {
			c.deliver(buf[:n])
		}
	}
}

// stopPump stops the pump and waits for it; the socket is left without
// a read deadline for Run.
func (c *dtlsPacketConn) stopPump() {
	if c.stopping.Swap(true) {
		return
	}
	_ = c.conn.SetReadDeadline(time.Unix(1, 0))
	<-c.pumpDone
	_ = c.conn.SetReadDeadline(time.Time{})
}

// deliver queues a copy of a DTLS datagram; anything else, and
// datagrams beyond the queue, are dropped.
func (c *dtlsPacketConn) deliver(b []byte) {
	if len(b) == 0 || b[0] < 20 || b[0] > 63 {
		return
	}
	select {
	case <-c.closed:
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

func (c *dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case b := <-c.in:
		// Records are accepted from the peer's IP on any port, but
		// they belong to the one association with Remote.
		return copy(p, b), net.UDPAddrFromAddrPort(c.remote), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.dead:
		return 0, nil, net.ErrClosed
	case <-c.rd.Done():
		return 0, nil, timeoutError{}
	}
}

func (c *dtlsPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.conn.WriteTo(p, addr)
}

// Close closes the DTLS side only; the socket belongs to the caller.
func (c *dtlsPacketConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *dtlsPacketConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

func (c *dtlsPacketConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *dtlsPacketConn) SetReadDeadline(t time.Time) error { c.rd.Set(t); return nil }

// SetWriteDeadline is a no-op: a UDP send does not block, and a
// deadline on the shared socket would reach Run's sends.
func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error { return nil }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
