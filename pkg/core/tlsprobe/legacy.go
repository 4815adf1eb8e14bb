package tlsprobe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Legacy probes: SSL 2.0, SSL 3.0 and TLS compression. crypto/tls can
// offer none of them (it implements neither SSL nor compression), so these
// ClientHellos are built by hand, sent on a fresh connection (after the
// XMPP STARTTLS dialog for ModeXMPPStartTLS), and only the server's first
// answer is read: a ServerHello, an alert, or the connection closing. The
// handshake is never completed; no key is exchanged and nothing else is
// sent. RFC 9325 §3.1.1 forbids SSL 2/3 (RFC 6176, RFC 7568), RFC 9325
// §3.3 and RFC 7590 §3.2 (via RFC 7525) forbid TLS-level compression
// (CRIME, RFC 7457 §2.6).

// Legacy holds the three legacy probes of an endpoint.
type Legacy struct {
	SSL2        LegacyProbe `json:"ssl2"`
	SSL3        LegacyProbe `json:"ssl3"`
	Compression LegacyProbe `json:"compression"`
}

// The answers a legacy probe can get (LegacyProbe.Answer).
const (
	// AnswerServerHello: a TLS/SSL 3 ServerHello (see Version, Compression).
	AnswerServerHello = "server-hello"
	// AnswerSSL2ServerHello: an SSL 2.0 SERVER-HELLO.
	AnswerSSL2ServerHello = "ssl2-server-hello"
	// AnswerSSL2Error: an SSL 2.0 ERROR message.
	AnswerSSL2Error = "ssl2-error"
	// AnswerAlert: a TLS alert record (Evidence names it).
	AnswerAlert = "alert"
	// AnswerClosed: the server closed the connection without a word.
	AnswerClosed = "closed"
	// AnswerUnexpected: bytes that are none of the above.
	AnswerUnexpected = "unexpected"
	// AnswerNone: nothing learnt (connection or STARTTLS failed, timeout):
	// the probe did not decide anything.
	AnswerNone = ""
)

// LegacyProbe is the answer to one hand-built ClientHello.
type LegacyProbe struct {
	// Offered describes the ClientHello ("SSL 3.0", "SSL 2.0", "TLS 1.2
	// with DEFLATE compression").
	Offered string `json:"offered"`
	// Answer is one of the Answer* constants.
	Answer string `json:"answer"`
	// Accepted: the server chose what was offered: SSL 3.0 in its
	// ServerHello, an SSL 2.0 SERVER-HELLO, or compression method 1
	// (DEFLATE). Meaningful only when Decided.
	Accepted bool `json:"accepted"`
	// Version is the ServerHello's version ("SSL 3.0", "TLS 1.2") and
	// Compression its compression method, when one was read.
	Version     string `json:"version,omitempty"`
	Compression *uint8 `json:"compression,omitempty"`
	// Evidence quotes the answer, or the error that prevented one.
	Evidence string `json:"evidence"`
}

// Decided says whether the server answered at all: a ServerHello, an
// alert or an SSL 2.0 message, or closing the connection (a server that
// accepts the offer answers it; closing is refusing, as testssl.sh
// counts it). A failed connection or a timeout decides nothing.
func (l LegacyProbe) Decided() bool { return l.Answer != AnswerNone }

// Wire values of the legacy probes.
const (
	recordAlert     = 21
	wireSSL20       = 0x0002
	wireSSL30       = 0x0300
	wireTLS10       = 0x0301
	wireTLS12       = 0x0303
	compressDeflate = 1 // RFC 3749

	ssl2ClientHello = 1 // SSL 2.0 MSG-CLIENT-HELLO
	ssl2ServerHello = 4 // SSL 2.0 MSG-SERVER-HELLO
	ssl2Error       = 0 // SSL 2.0 MSG-ERROR

	maxLegacyAnswer = 16 << 10
)

// ssl3Suites are suites an SSL 3.0 server may choose (RFC 6101 appendix
// A.6, RFC 4492 for ECDHE), with the renegotiation SCSV (RFC 5746).
var ssl3Suites = []uint16{
	0xc014, 0xc00a, 0xc013, 0xc009, // ECDHE_{RSA,ECDSA}_WITH_AES_{256,128}_CBC_SHA
	0x0039, 0x0033, 0x0035, 0x002f, // (DHE_RSA_)AES_{256,128}_CBC_SHA
	0xc012, 0xc008, 0x0016, 0x000a, // 3DES_EDE_CBC_SHA
	0x0005, 0x0004, 0xc011, 0xc007, // RC4
	0x0015, 0x0009, 0x0003, 0x0006, 0x0008, 0x0014, 0x0011, // DES and EXPORT
	0x00ff,
}

// tls12Suites are the suites offered with DEFLATE: every common TLS ≤ 1.2
// suite, so that any server accepting TLS ≤ 1.2 finds one.
var tls12Suites = []uint16{
	0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, // ECDHE AEAD
	0x009e, 0x009f, 0xccaa, // DHE AEAD
	0xc023, 0xc027, 0xc024, 0xc028, 0xc009, 0xc013, 0xc00a, 0xc014, // ECDHE CBC
	0x0067, 0x006b, 0x0033, 0x0039, // DHE CBC
	0x009c, 0x009d, 0x003c, 0x003d, 0x002f, 0x0035, // RSA
	0xc012, 0xc008, 0x000a, 0xc011, 0xc007, 0x0005, 0x0004, // 3DES, RC4
	0x00ff,
}

// ssl2Ciphers are the SSL 2.0 CIPHER-SPECs (3 bytes each).
var ssl2Ciphers = []byte{
	0x01, 0x00, 0x80, // SSL_CK_RC4_128_WITH_MD5
	0x02, 0x00, 0x80, // SSL_CK_RC4_128_EXPORT40_WITH_MD5
	0x03, 0x00, 0x80, // SSL_CK_RC2_128_CBC_WITH_MD5
	0x04, 0x00, 0x80, // SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5
	0x05, 0x00, 0x80, // SSL_CK_IDEA_128_CBC_WITH_MD5
	0x06, 0x00, 0x40, // SSL_CK_DES_64_CBC_WITH_MD5
	0x07, 0x00, 0xc0, // SSL_CK_DES_192_EDE3_CBC_WITH_MD5
}

func be16(b []byte, v int) []byte { return append(b, byte(v>>8), byte(v)) }

// vec16 appends a vector with a 2-byte length.
func vec16(b, v []byte) []byte { return append(be16(b, len(v)), v...) }

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// helloExtensions are the extensions of the legacy ClientHellos: SNI when
// the server name is a host name (RFC 6066 §3), the elliptic curves and
// point formats ECDHE suites need (RFC 8422 §5.1), signature_algorithms
// (RFC 5246 §7.4.1.4.1), renegotiation_info is sent as the SCSV.
func helloExtensions(serverName string) []byte {
	var ext []byte
	if serverName != "" && net.ParseIP(serverName) == nil {
		name := vec16([]byte{0}, []byte(serverName)) // host_name(0)
		ext = be16(ext, 0x0000)
		ext = vec16(ext, vec16(nil, name))
	}
	ext = be16(ext, 0x000a) // supported_groups: x25519, P-256, P-384, P-521
	ext = vec16(ext, vec16(nil, []byte{0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19}))
	ext = be16(ext, 0x000b) // ec_point_formats: uncompressed
	ext = vec16(ext, []byte{1, 0})
	ext = be16(ext, 0x000d) // signature_algorithms
	ext = vec16(ext, vec16(nil, []byte{
		0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06,
		0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x02, 0x03, 0x02, 0x01,
	}))
	return ext
}

// clientHello builds a ClientHello record: record version rec, hello
// version hello, the suites and compression methods given.
func clientHello(rec, hello uint16, suites []uint16, compression []byte, serverName string) []byte {
	body := be16(nil, int(hello))
	body = append(body, random(32)...)
	body = append(body, 0) // no session id
	var s []byte
	for _, v := range suites {
		s = be16(s, int(v))
	}
	body = vec16(body, s)
	body = append(body, byte(len(compression)))
	body = append(body, compression...)
	body = vec16(body, helloExtensions(serverName))
	hs := append([]byte{typeClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return vec16([]byte{recordHandshake, byte(rec >> 8), byte(rec)}, hs)
}

// ssl3Hello offers SSL 3.0 only (RFC 6101 §5.6.1.2).
func ssl3Hello(serverName string) []byte {
	return clientHello(wireSSL30, wireSSL30, ssl3Suites, []byte{0}, serverName)
}

// deflateHello offers TLS 1.2 (and below: legacy_version is the maximum)
// with DEFLATE before null compression (RFC 3749 §2). It has no
// supported_versions extension: a TLS 1.3 ClientHello must offer only
// null compression (RFC 8446 §4.1.2).
func deflateHello(serverName string) []byte {
	return clientHello(wireTLS10, wireTLS12, tls12Suites, []byte{compressDeflate, 0}, serverName)
}

// ssl2Hello is an SSL 2.0 CLIENT-HELLO offering version 2 only, in a
// two-byte-header SSL 2.0 record.
func ssl2Hello() []byte {
	msg := []byte{ssl2ClientHello, 0x00, 0x02}
	msg = be16(msg, len(ssl2Ciphers))
	msg = be16(msg, 0)  // session id length
	msg = be16(msg, 16) // challenge length
	msg = append(msg, ssl2Ciphers...)
	msg = append(msg, random(16)...)
	return append([]byte{0x80 | byte(len(msg)>>8), byte(len(msg))}, msg...)
}

// legacyAnswer is what parseLegacyAnswer made of the server's bytes.
type legacyAnswer struct {
	kind    string // Answer*
	version uint16 // ServerHello or SSL 2.0 SERVER-HELLO version
	hello   *ServerHello
	detail  string // alert or unexpected bytes, for evidence
}

// parseLegacyAnswer reads the first answer to a legacy ClientHello from
// b. done is false while more bytes are needed.
func parseLegacyAnswer(b []byte) (a legacyAnswer, done bool) {
	if len(b) == 0 {
		return a, false
	}
	if b[0]&0x80 != 0 {
		// SSL 2.0 record, two-byte header (RFC 6101 appendix E.1;
		// SSL 2.0 specification §2.1).
		if len(b) < 3 {
			return a, false
		}
		n := int(b[0]&0x7f)<<8 | int(b[1])
		switch {
		case n >= 1 && b[2] == ssl2Error:
			return legacyAnswer{kind: AnswerSSL2Error, detail: fmt.Sprintf("SSL 2.0 ERROR % x", b[2:min(len(b), 2+n, 5)])}, true
		case n >= 5 && b[2] == ssl2ServerHello:
			if len(b) < 7 {
				return a, false
			}
			return legacyAnswer{kind: AnswerSSL2ServerHello, version: uint16(b[5])<<8 | uint16(b[6])}, true
		}
		return unexpected(b), true
	}
	var hs []byte
	for len(b) >= 5 {
		n := int(b[3])<<8 | int(b[4])
		switch b[0] {
		case recordAlert:
			if len(b) < 7 {
				return a, false
			}
			return legacyAnswer{kind: AnswerAlert, detail: alertName(b[5], b[6])}, true
		case recordHandshake:
		default:
			return unexpected(b), true
		}
		if len(b) < 5+n {
			return a, false
		}
		hs = append(hs, b[5:5+n]...)
		b = b[5+n:]
		if len(hs) >= 4 {
			typ, m := hs[0], int(hs[1])<<16|int(hs[2])<<8|int(hs[3])
			if typ != typeServerHello {
				return unexpected(hs), true
			}
			if len(hs) >= 4+m {
				sh := parseServerHello(hs[4 : 4+m])
				if sh == nil {
					return unexpected(hs), true
				}
				sh.Evidence = sh.describe()
				return legacyAnswer{kind: AnswerServerHello, version: sh.version, hello: sh}, true
			}
		}
	}
	if len(b) > 0 && b[0] != recordHandshake && b[0] != recordAlert {
		return unexpected(b), true
	}
	return a, false
}

func unexpected(b []byte) legacyAnswer {
	return legacyAnswer{kind: AnswerUnexpected, detail: fmt.Sprintf("unexpected bytes % x", b[:min(len(b), 16)])}
}

// alertName names a TLS alert (RFC 8446 §6, RFC 5246 §7.2).
func alertName(level, desc byte) string {
	names := map[byte]string{
		0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
		30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
		47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
		71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
		109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
	}
	lv := "warning"
	if level == 2 {
		lv = "fatal"
	}
	if n, ok := names[desc]; ok {
		return fmt.Sprintf("alert %s %s (%d)", lv, n, desc)
	}
	return fmt.Sprintf("alert %s %d", lv, desc)
}

// wireVersionName names SSL and TLS wire versions.
func wireVersionName(v uint16) string {
	switch v {
	case wireSSL20:
		return "SSL 2.0"
	case wireSSL30:
		return "SSL 3.0"
	case 0x0301, 0x0302, 0x0303, 0x0304:
		return fmt.Sprintf("TLS 1.%d", v-0x0301)
	}
	return fmt.Sprintf("0x%04x", v)
}

// legacy runs the three legacy probes, each on its own connection.
func (p *prober) legacy(ctx context.Context) *Legacy {
	l := &Legacy{}
	probes := []func(){
		func() { l.SSL3 = p.legacyProbe(ctx, "SSL 3.0", ssl3Hello(p.ep.ServerName), wireSSL30) },
		func() { l.SSL2 = p.legacyProbe(ctx, "SSL 2.0", ssl2Hello(), wireSSL20) },
		func() {
			l.Compression = p.legacyProbe(ctx, "TLS 1.2 with DEFLATE compression", deflateHello(p.ep.ServerName), 0)
		},
	}
	p.parallel(ctx, len(probes), func(i int) { probes[i]() })
	return l
}

// legacyProbe sends hello and judges the answer: want is the version that
// counts as accepted, or 0 for the compression probe (DEFLATE chosen). A
// connection the server closes without a word is tried twice more (as in
// decisive): Kamailio drops a handshake now and then.
func (p *prober) legacyProbe(ctx context.Context, offered string, hello []byte, want uint16) LegacyProbe {
	var lp LegacyProbe
	for range 3 {
		lp = p.legacyOnce(ctx, offered, hello, want)
		if lp.Answer != AnswerClosed || ended(ctx) != nil {
			break
		}
	}
	return lp
}

func (p *prober) legacyOnce(ctx context.Context, offered string, hello []byte, want uint16) LegacyProbe {
	lp := LegacyProbe{Offered: offered}
	ctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	p.conns.Add(1)
	conn, err := p.opts.DialContext(ctx, "tcp", p.ep.Addr)
	if err != nil {
		lp.Evidence = err.Error()
		return lp
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if p.ep.Mode == ModeXMPPStartTLS {
		// RFC 6120 §5.4.3.3: the TLS negotiation starts right after
		// <proceed/>, so the hand-built ClientHello goes there.
		if _, err := xmppStartTLS(conn, p.ep.XMPPDomain); err != nil {
			lp.Evidence = err.Error()
			return lp
		}
	}
	if _, err := conn.Write(hello); err != nil {
		lp.Evidence = "send ClientHello: " + err.Error()
		return lp
	}
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for {
		a, done := parseLegacyAnswer(buf)
		if done {
			judgeLegacy(&lp, a, want)
			return lp
		}
		n, err := conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if len(buf) > maxLegacyAnswer {
			judgeLegacy(&lp, unexpected(buf), want)
			return lp
		}
		if err != nil {
			if a, done := parseLegacyAnswer(buf); done {
				judgeLegacy(&lp, a, want)
				return lp
			}
			if silentClose(err) || errors.Is(err, net.ErrClosed) {
				lp.Answer = AnswerClosed
				lp.Evidence = fmt.Sprintf("closed the connection after %d bytes without a ServerHello or alert (%v)", len(buf), err)
				return lp
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("no answer within %s", p.opts.DialTimeout)
			}
			lp.Evidence = "read answer: " + err.Error()
			return lp
		}
	}
}

func judgeLegacy(lp *LegacyProbe, a legacyAnswer, want uint16) {
	lp.Answer = a.kind
	switch a.kind {
	case AnswerServerHello:
		lp.Version = wireVersionName(a.version)
		c := a.hello.Compression
		lp.Compression = &c
		lp.Evidence = strings.Replace(a.hello.Evidence, "ServerHello "+a.hello.Version, "ServerHello "+lp.Version, 1)
		if want == 0 {
			lp.Accepted = c == compressDeflate
		} else {
			lp.Accepted = a.version == want
		}
	case AnswerSSL2ServerHello:
		lp.Version = wireVersionName(a.version)
		lp.Evidence = "SSL 2.0 SERVER-HELLO version " + lp.Version
		lp.Accepted = want == wireSSL20
	default:
		lp.Evidence = a.detail
	}
}
