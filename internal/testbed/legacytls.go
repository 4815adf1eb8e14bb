package testbed

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"slices"
	"testing"
)

// LegacyTLS is a scripted stand-in for a server that still accepts SSL 3.0
// or TLS compression, as OpenSSL 1.0.x did when built with SSLv3 and zlib
// (before OpenSSL 1.1.0 disabled compression by default). No such server
// can be installed here: Debian's OpenSSL 3.0 is built with no-ssl3 and
// no-zlib (`openssl list -disabled` shows SSL3 and ZLIB), and GnuTLS 3.7
// (gnutls-bin) has SSL 3.0 compiled out and dropped compression in 3.6.
// So the server reads the client's first record and, for a ClientHello
// that asks for what is enabled, answers what such a server answers:
// ServerHello (SSL 3.0, or DEFLATE chosen), Certificate, ServerHelloDone;
// or, for SSL 2.0, a SERVER-HELLO.
// It then waits for the client to give up; the handshake never completes,
// and a prober that completed it would be the one at fault. Any other
// ClientHello is handed to crypto/tls unchanged, so modern clients get
// modern TLS, as from the real server.
type LegacyTLS struct {
	// SSL3 answers an SSL 3.0 ClientHello (client_version 0x0300) with an
	// SSL 3.0 ServerHello.
	SSL3 bool
	// Deflate chooses compression method 1 (DEFLATE, RFC 3749) when a
	// TLS 1.0–1.2 ClientHello offers it.
	Deflate bool
	// SSL2 answers an SSL 2.0 CLIENT-HELLO with an SSL 2.0 SERVER-HELLO.
	SSL2 bool
}

// Serve serves one connection: the scripted answer, or crypto/tls with
// cfg. It returns the TLS connection after a completed handshake, or nil
// when the scripted answer was given or the handshake failed.
func (l LegacyTLS) Serve(c net.Conn, cfg *tls.Config) *tls.Conn {
	first, ok := readFirstRecord(c)
	if !ok {
		return nil
	}
	if flight := l.answer(first, cfg); flight != nil {
		if _, err := c.Write(flight); err == nil {
			_, _ = io.Copy(io.Discard, c)
		}
		return nil
	}
	tc := tls.Server(&replayConn{Conn: c, r: io.MultiReader(bytes.NewReader(first), c)}, cfg)
	if tc.Handshake() != nil {
		return nil
	}
	return tc
}

// ServeLegacyTLS is ServeWeakTLS with l's legacy answers.
func ServeLegacyTLS(tb testing.TB, cfg *tls.Config, l LegacyTLS) string {
	tb.Helper()
	return weakListen(tb, func(c net.Conn) {
		if tc := l.Serve(c, cfg); tc != nil {
			serveSIPChallenges(tc)
		}
	})
}

type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// readFirstRecord reads one TLS record, or an SSL 2.0 record (high bit of
// the first byte set, two-byte header).
func readFirstRecord(r io.Reader) ([]byte, bool) {
	h := make([]byte, 5)
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return nil, false
	}
	if h[0]&0x80 != 0 {
		body := make([]byte, int(h[0]&0x7f)<<8|int(h[1]))
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, false
		}
		return append(h[:2], body...), true
	}
	if _, err := io.ReadFull(r, h[2:]); err != nil {
		return nil, false
	}
	body := make([]byte, int(h[3])<<8|int(h[4]))
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, false
	}
	return append(h, body...), true
}

// helloFields are the parts of a ClientHello the legacy answer depends on.
type helloFields struct {
	version     uint16
	suites      []uint16
	compression []byte
}

func parseClientHelloRecord(rec []byte) (helloFields, bool) {
	var h helloFields
	if len(rec) < 5+4+2+32+1 || rec[0] != 22 || rec[5] != 1 {
		return h, false
	}
	b := rec[9:]
	h.version = uint16(b[0])<<8 | uint16(b[1])
	b = b[34:]
	if len(b) < 1+int(b[0])+2 {
		return h, false
	}
	b = b[1+int(b[0]):]
	n := int(b[0])<<8 | int(b[1])
	if len(b) < 2+n+1 {
		return h, false
	}
	for i := 2; i+1 < 2+n; i += 2 {
		h.suites = append(h.suites, uint16(b[i])<<8|uint16(b[i+1]))
	}
	b = b[2+n:]
	if len(b) < 1+int(b[0]) {
		return h, false
	}
	h.compression = b[1 : 1+int(b[0])]
	return h, true
}

// answer returns the scripted flight for a legacy ClientHello, or nil.
func (l LegacyTLS) answer(rec []byte, cfg *tls.Config) []byte {
	if rec[0]&0x80 != 0 {
		if l.SSL2 {
			return ssl2ServerHello(rec, cfg)
		}
		return nil
	}
	h, ok := parseClientHelloRecord(rec)
	if !ok {
		return nil
	}
	var version uint16
	var compression byte
	switch {
	case l.SSL3 && h.version == 0x0300:
		version = 0x0300
	case l.Deflate && h.version >= 0x0301 && h.version <= 0x0303 && slices.Contains(h.compression, 1):
		version, compression = h.version, 1
	default:
		return nil
	}
	// The first offered suite the server "has": ECDHE-ECDSA (the weak
	// fixtures' keys are ECDSA), else AES-CBC with RSA key exchange.
	suite := uint16(0)
	for _, s := range h.suites {
		if slices.Contains([]uint16{0xc02b, 0xc02c, 0xc009, 0xc00a, 0x002f, 0x0035}, s) {
			suite = s
			break
		}
	}
	if suite == 0 {
		return alertRecord(version, 40) // handshake_failure
	}
	sh := []byte{byte(version >> 8), byte(version)}
	sh = append(sh, randomBytes(32)...)
	sh = append(sh, 32)
	sh = append(sh, randomBytes(32)...)
	sh = append(sh, byte(suite>>8), byte(suite), compression)
	if slices.Contains(h.suites, 0x00ff) {
		// RFC 5746 §3.6: the SCSV is answered with renegotiation_info.
		sh = append(sh, 0, 5, 0xff, 0x01, 0, 1, 0)
	}
	var certs []byte
	if len(cfg.Certificates) > 0 {
		for _, der := range cfg.Certificates[0].Certificate {
			certs = append(certs, byte(len(der)>>16), byte(len(der)>>8), byte(len(der)))
			certs = append(certs, der...)
		}
	}
	certMsg := append([]byte{byte(len(certs) >> 16), byte(len(certs) >> 8), byte(len(certs))}, certs...)
	var flight []byte
	flight = append(flight, handshakeRecord(version, 2, sh)...)
	flight = append(flight, handshakeRecord(version, 11, certMsg)...)
	return append(flight, handshakeRecord(version, 14, nil)...)
}

func handshakeRecord(version uint16, typ byte, body []byte) []byte {
	hs := append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, byte(version >> 8), byte(version), byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

func alertRecord(version uint16, desc byte) []byte {
	return []byte{21, byte(version >> 8), byte(version), 0, 2, 2, desc}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ssl2ServerHello answers an SSL 2.0 CLIENT-HELLO (version 0x0002) with a
// SERVER-HELLO: no session hit, an X.509 certificate, the first cipher
// spec offered, a 16-byte connection id (SSL 2.0 specification, "Server
// Only Protocol Messages"). Nil for other records.
func ssl2ServerHello(rec []byte, cfg *tls.Config) []byte {
	// header(2) type(1) version(2) cipher_specs_len(2) session_id_len(2)
	// challenge_len(2) cipher_specs…
	if len(rec) < 11 || rec[2] != 1 || rec[3] != 0 || rec[4] != 2 {
		return nil
	}
	specs := int(rec[5])<<8 | int(rec[6])
	if specs < 3 || len(rec) < 11+specs {
		return nil
	}
	var cert []byte
	if len(cfg.Certificates) > 0 && len(cfg.Certificates[0].Certificate) > 0 {
		cert = cfg.Certificates[0].Certificate[0]
	}
	msg := []byte{4, 0, 1, 0x00, 0x02}
	msg = append(msg, byte(len(cert)>>8), byte(len(cert)), 0, 3, 0, 16)
	msg = append(msg, cert...)
	msg = append(msg, rec[11:14]...)
	msg = append(msg, randomBytes(16)...)
	return append([]byte{0x80 | byte(len(msg)>>8), byte(len(msg))}, msg...)
}
