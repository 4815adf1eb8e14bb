package protocol

import (
	"encoding/json"
	"fmt"
	"time"
)

// Aspect names one half of a CUSAX service. RFC 7081 §2 (strategy 9)
// suggests presenting XMPP as "Chat" and SIP as "Telephony"; Label does that.
type Aspect string

// The two aspects.
const (
	AspectChat      Aspect = "chat"      // the IMPP backend (XMPP)
	AspectTelephony Aspect = "telephony" // the telephony backend (SIP)
)

// Label is the user-facing name of the aspect.
func (a Aspect) Label() string {
	switch a {
	case AspectChat:
		return "Chat"
	case AspectTelephony:
		return "Telephony"
	}
	return string(a)
}

// ConnectRequest asks a backend to log in one aspect of an account.
//
// Password is a secret: it is never logged, printed or put in an error, and
// Format/String redact it.
type ConnectRequest struct {
	// Address is the account's own address: a bare JID for IMPP, a SIP AOR
	// (sip:alice@example.com) for telephony.
	Address string
	// Username overrides the authentication user (default: the local part).
	Username string
	Password string
	// Server is an explicit server: host:port for XMPP, a SIP URI for the
	// outbound proxy (sip:host:port;transport=tls). Empty: DNS (XMPP SRV
	// incl. XEP-0368; SIP RFC 3263).
	Server string
	// DirectTLS asks for XEP-0368 direct TLS instead of STARTTLS (XMPP).
	DirectTLS bool
	// CAPEM is extra trusted roots in PEM (the account's --ca-file). The
	// system roots are trusted too.
	CAPEM []byte
	// AllowPlaintext permits authenticating without TLS. Off by default:
	// without it a backend refuses to send a password (or anything from
	// which it can be recovered, like SASL PLAIN) in the clear and returns
	// ErrInsecure. SIP digest over UDP/TCP is allowed without it, because
	// digest never reveals the password; the report then says
	// Encrypted=false and the core flags the parity gap (RFC 7081 §7).
	AllowPlaintext bool
	// Mechanisms overrides the SASL mechanism preference (XMPP).
	Mechanisms []string
	// Resource is the requested XMPP resource ("" = server-assigned).
	Resource string
	// MinTLS is the lowest TLS version accepted: "1.2" (default) or "1.3".
	// `cusax login --min-tls 1.3` sets it on both aspects so that they are
	// protected alike (RFC 7081 §7).
	MinTLS string
	// Timeout bounds the whole connect; 0 means the backend default.
	Timeout time.Duration
	// Options carries backend-specific settings as data.
	Options map[string]string
}

// String redacts the password.
func (r ConnectRequest) String() string {
	return fmt.Sprintf("ConnectRequest{Address:%q Server:%q DirectTLS:%v AllowPlaintext:%v Password:<redacted>}",
		r.Address, r.Server, r.DirectTLS, r.AllowPlaintext)
}

// GoString redacts the password in %#v too.
func (r ConnectRequest) GoString() string { return r.String() }

// Format makes every verb (%v, %+v, %#v, %s) redact the password.
func (r ConnectRequest) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// ConnectionReport is what a login established, for RFC 7590 §3.6 (human
// factors: encrypted?, TLS version, cipher, how the server was
// authenticated, the certificate) and RFC 7081 §7 (security parity).
type ConnectionReport struct {
	Aspect  Aspect `json:"aspect"`
	Backend string `json:"backend"`
	// State is "connected" (XMPP session bound), "registered" (SIP), or
	// "failed".
	State string `json:"state"`
	// Address is the bound full JID or the registered contact.
	Address string `json:"address,omitempty"`
	// Server is the remote endpoint actually used (host:port).
	Server string `json:"server,omitempty"`
	// Transport is how the connection was made: "tcp+starttls",
	// "direct-tls", "tcp", "udp", "tls".
	Transport string `json:"transport"`
	// Encrypted is true when the signalling ran over TLS.
	Encrypted bool     `json:"encrypted"`
	TLS       *TLSInfo `json:"tls,omitempty"`
	// AuthMechanism is how the client authenticated: "SCRAM-SHA-1",
	// "digest SHA-256", ….
	AuthMechanism string `json:"auth_mechanism,omitempty"`
	// AuthOffered lists what the server offered (SASL mechanisms, digest
	// algorithms), strongest first as the server sent them.
	AuthOffered []string `json:"auth_offered,omitempty"`
	// StartTLSAdvertised and StartTLSAttempted record RFC 7590 §3.1: the
	// client attempts STARTTLS even when it was not advertised.
	StartTLSAdvertised bool `json:"starttls_advertised,omitempty"`
	StartTLSAttempted  bool `json:"starttls_attempted,omitempty"`
	// Expires is the registration lifetime the registrar granted (SIP).
	// In JSON: expires_ms (see MarshalJSON).
	Expires time.Duration `json:"-"`
	// Elapsed is the wall time of the connect. In JSON: elapsed_ms.
	Elapsed time.Duration `json:"-"`
	// Notes carries human-readable remarks from the backend.
	Notes []string `json:"notes,omitempty"`
}

// MarshalJSON writes the report with its durations as integer
// milliseconds, expires_ms and elapsed_ms: cusax's JSON has one unit of
// time (docs/json.md).
func (r ConnectionReport) MarshalJSON() ([]byte, error) {
	type plain ConnectionReport // no MarshalJSON: no recursion
	return marshalNoEscape(struct {
		plain
		ExpiresMS int64 `json:"expires_ms,omitempty"`
		ElapsedMS int64 `json:"elapsed_ms"`
	}{plain(r), r.Expires.Milliseconds(), r.Elapsed.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *ConnectionReport) UnmarshalJSON(b []byte) error {
	type plain ConnectionReport // no UnmarshalJSON: no recursion
	v := struct {
		*plain
		ExpiresMS int64 `json:"expires_ms"`
		ElapsedMS int64 `json:"elapsed_ms"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Expires, r.Elapsed = time.Duration(v.ExpiresMS)*time.Millisecond, time.Duration(v.ElapsedMS)*time.Millisecond
	return nil
}

// TLSInfo describes the TLS layer of a connection.
type TLSInfo struct {
	Version     string `json:"version"`      // "TLS 1.3"
	CipherSuite string `json:"cipher_suite"` // "TLS_AES_128_GCM_SHA256"
	ServerName  string `json:"server_name"`  // the name sent in SNI
	ALPN        string `json:"alpn,omitempty"`
	// Verified is true when the chain and the identity checked out.
	Verified bool `json:"verified"`
	// ServerAuth says how the server was authenticated, e.g.
	// "pkix dns-id example.com", "pkix srv-id _xmpp-client.example.com",
	// "pkix xmppaddr example.com", "pkix sip-uri sip:example.com".
	ServerAuth string `json:"server_auth"`
	// Chain is the peer's certificate chain, leaf first.
	Chain []CertInfo `json:"chain"`
}

// Leaf returns the peer certificate, or the zero CertInfo.
func (t *TLSInfo) Leaf() CertInfo {
	if t == nil || len(t.Chain) == 0 {
		return CertInfo{}
	}
	return t.Chain[0]
}

// CertInfo summarises one certificate.
type CertInfo struct {
	Subject      string    `json:"subject"`
	Issuer       string    `json:"issuer"`
	NotBefore    time.Time `json:"not_before"`
	NotAfter     time.Time `json:"not_after"`
	SHA256       string    `json:"sha256"` // hex of the DER, lower case
	DNSNames     []string  `json:"dns_names,omitempty"`
	URIs         []string  `json:"uris,omitempty"`
	IPAddresses  []string  `json:"ip_addresses,omitempty"`
	XMPPAddrs    []string  `json:"xmpp_addrs,omitempty"` // id-on-xmppAddr (RFC 6120 §13.7.1.4)
	SRVNames     []string  `json:"srv_names,omitempty"`  // SRVName (RFC 4985)
	KeyAlgorithm string    `json:"key_algorithm"`        // "ECDSA P-256", "RSA 2048"
	SignatureAlg string    `json:"signature_algorithm"`
	IsCA         bool      `json:"is_ca,omitempty"`
	DER          []byte    `json:"-"`
}

// TLSVersion maps MinTLS to a crypto/tls version constant (TLS 1.2 when
// empty); ok is false for an unknown value.
func TLSVersion(minTLS string) (v uint16, ok bool) {
	switch minTLS {
	case "", "1.2":
		return 0x0303, true
	case "1.3":
		return 0x0304, true
	}
	return 0, false
}
