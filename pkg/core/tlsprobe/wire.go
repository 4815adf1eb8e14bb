package tlsprobe

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// TLS record and handshake types (RFC 5246 §6.2.1, §7.4) and extension
// code points.
const (
	recordHandshake = 22

	typeClientHello      = 1
	typeServerHello      = 2
	typeNewSessionTicket = 4

	extRenegotiationInfo    = 0xff01 // RFC 5746
	extExtendedMasterSecret = 0x0017 // RFC 7627
	extSessionTicket        = 0x0023 // RFC 5077
	extSupportedVersions    = 0x002b // RFC 8446 §4.2.1
)

// ServerHello is what the server's plaintext TLS ≤ 1.2 flight shows, read
// off the wire because crypto/tls does not expose it.
type ServerHello struct {
	// Version is the negotiated version (supported_versions for TLS 1.3).
	Version     string `json:"version"`
	CipherSuite string `json:"cipher_suite"`
	// Compression is the compression method; 0 is none.
	Compression uint8 `json:"compression"`
	// Extensions are the ServerHello extension code points, in order.
	Extensions []uint16 `json:"extensions"`
	// SecureRenegotiation: renegotiation_info was answered (RFC 5746).
	SecureRenegotiation bool `json:"secure_renegotiation"`
	// ExtendedMasterSecret: extended_master_secret was answered (RFC 7627).
	ExtendedMasterSecret bool `json:"extended_master_secret"`
	// SessionTicket: the server will issue a ticket (RFC 5077).
	SessionTicket bool `json:"session_ticket"`
	// TicketIssued: a NewSessionTicket was read; TicketLifetimeHint is
	// its lifetime hint in seconds (0 means unspecified, RFC 5077 §3.3).
	TicketIssued       bool   `json:"ticket_issued"`
	TicketLifetimeHint uint32 `json:"ticket_lifetime_hint_s"`
	Evidence           string `json:"evidence"`

	suite   uint16
	version uint16 // as on the wire, SSL 3.0 included
}

// parseServerFlight reads the plaintext handshake messages at the start of
// b, up to the first non-handshake record (ChangeCipherSpec, alert or, in
// TLS 1.3, encrypted records). It returns nil without a ServerHello.
func parseServerFlight(b []byte) *ServerHello {
	var hs []byte
	for len(b) >= 5 && b[0] == recordHandshake {
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			break
		}
		hs = append(hs, b[5:5+n]...)
		b = b[5+n:]
	}
	var sh *ServerHello
	for len(hs) >= 4 {
		typ, n := hs[0], int(hs[1])<<16|int(hs[2])<<8|int(hs[3])
		if len(hs) < 4+n {
			break
		}
		body := hs[4 : 4+n]
		hs = hs[4+n:]
		switch {
		case typ == typeServerHello && sh == nil:
			sh = parseServerHello(body)
			if sh == nil {
				return nil
			}
		case typ == typeNewSessionTicket && sh != nil && len(body) >= 4:
			sh.TicketIssued = true
			sh.TicketLifetimeHint = uint32(body[0])<<24 | uint32(body[1])<<16 | uint32(body[2])<<8 | uint32(body[3])
		}
	}
	if sh != nil {
		sh.Evidence = sh.describe()
	}
	return sh
}

func parseServerHello(b []byte) *ServerHello {
	// legacy_version(2) random(32) session_id<0..32> cipher_suite(2)
	// compression_method(1) extensions<0..2^16-1>
	if len(b) < 35 {
		return nil
	}
	version := uint16(b[0])<<8 | uint16(b[1])
	b = b[34:]
	sid := int(b[0])
	if len(b) < 1+sid+3 {
		return nil
	}
	b = b[1+sid:]
	sh := &ServerHello{suite: uint16(b[0])<<8 | uint16(b[1]), Compression: b[2]}
	b = b[3:]
	if len(b) >= 2 {
		n := int(b[0])<<8 | int(b[1])
		ext := b[2:]
		if len(ext) > n {
			ext = ext[:n]
		}
		for len(ext) >= 4 {
			typ, l := uint16(ext[0])<<8|uint16(ext[1]), int(ext[2])<<8|int(ext[3])
			if len(ext) < 4+l {
				break
			}
			data := ext[4 : 4+l]
			ext = ext[4+l:]
			sh.Extensions = append(sh.Extensions, typ)
			switch typ {
			case extRenegotiationInfo:
				sh.SecureRenegotiation = true
			case extExtendedMasterSecret:
				sh.ExtendedMasterSecret = true
			case extSessionTicket:
				sh.SessionTicket = true
			case extSupportedVersions:
				if len(data) == 2 {
					version = uint16(data[0])<<8 | uint16(data[1])
				}
			}
		}
	}
	sh.version = version
	sh.Version = tls.VersionName(version)
	sh.CipherSuite = tls.CipherSuiteName(sh.suite)
	return sh
}

func (sh *ServerHello) describe() string {
	exts := make([]string, len(sh.Extensions))
	for i, e := range sh.Extensions {
		exts[i] = fmt.Sprintf("0x%04x", e)
	}
	s := fmt.Sprintf("ServerHello %s %s compression=%d extensions=[%s]", sh.Version, sh.CipherSuite, sh.Compression, strings.Join(exts, " "))
	if sh.TicketIssued {
		s += fmt.Sprintf("; NewSessionTicket lifetime_hint=%d", sh.TicketLifetimeHint)
	}
	return s
}

// helloSuites locates the cipher_suites vector of a ClientHello record.
func helloSuites(rec []byte) []byte {
	// record header(5), handshake header(4), version(2), random(32)
	const off = 5 + 4 + 2 + 32
	if len(rec) < off+1 || rec[0] != recordHandshake || rec[5] != typeClientHello {
		return nil
	}
	sid := int(rec[off])
	p := off + 1 + sid
	if len(rec) < p+2 {
		return nil
	}
	n := int(rec[p])<<8 | int(rec[p+1])
	if len(rec) < p+2+n || n%2 != 0 {
		return nil
	}
	return rec[p+2 : p+2+n]
}

// clientHelloSuites returns the suites of a ClientHello record, in order.
func clientHelloSuites(rec []byte) []uint16 {
	v := helloSuites(rec)
	out := make([]uint16, 0, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		out = append(out, uint16(v[i])<<8|uint16(v[i+1]))
	}
	return out
}

// reverseHelloSuites reverses the suite list in place; lengths, and so the
// rest of the record, are unchanged.
func reverseHelloSuites(rec []byte) {
	v := helloSuites(rec)
	for i, j := 0, len(v)-2; i < j; i, j = i+2, j-2 {
		v[i], v[i+1], v[j], v[j+1] = v[j], v[j+1], v[i], v[i+1]
	}
}
