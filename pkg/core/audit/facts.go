package audit

import "time"

// Tri is an observation that may not have been made: the zero value Unknown
// means "not probed", which makes the depending check Skipped rather than
// passed or failed.
type Tri int8

// Tri values.
const (
	Unknown Tri = iota
	Yes
	No
)

// TriOf turns a bool into Yes or No.
func TriOf(b bool) Tri {
	if b {
		return Yes
	}
	return No
}

// TLS and SSL protocol versions as on the wire (crypto/tls's VersionTLS10
// etc.; SSL 2.0 and 3.0 are not in crypto/tls).
const (
	VersionSSL20 uint16 = 0x0002
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// Transport says how an endpoint's TLS is reached.
type Transport string

// Transports.
const (
	// StartTLS: XMPP on _xmpp-client._tcp (5222), TLS after <starttls/>.
	StartTLS Transport = "starttls"
	// DirectTLS: XMPP on _xmpps-client._tcp (XEP-0368) or SIP on
	// _sips._tcp (5061): TLS from the first byte.
	DirectTLS Transport = "direct-tls"
)

// AccountFacts is everything the prober observed for one account. Evaluate
// reads it and nothing else, so it is also the contract with the prober:
// fill what was observed, leave the rest at its zero value (Unknown, nil,
// empty), and the depending checks are skipped.
type AccountFacts struct {
	// Account names the account (or "domain pair" for --domain audits).
	Account string
	// ObservedAt is when the probes ran; certificate validity windows are
	// judged at this instant, which keeps Evaluate a pure function.
	ObservedAt time.Time
	Chat       AspectFacts
	Telephony  AspectFacts
	// Media is how the account protects call media; nil for targets that
	// are not accounts (domains) and accounts without a SIP aspect.
	Media *MediaFacts
	// Unresolved is set when no host name of the target resolves (the
	// domain does not exist, or DNS fails): nothing could be probed, and
	// Evaluate reports that one fact (disc.resolve) instead of every check.
	Unresolved *Unresolved
}

// Unresolved says which host names of a target did not resolve, and why.
type Unresolved struct {
	Hosts []string
	// Error is the resolver's answer ("no such host", a timeout).
	Error string
}

// MediaFacts is what decides how an account's call media is protected
// (cusax.media-encryption): the client's setting, the transport of its SIP
// flow and what its telephony backend declares. It is the client's side
// of RFC 7081 §7; no server is asked.
type MediaFacts struct {
	// Setting is the account's [account.sip] media_encryption ("" is the
	// default: SRTP over TLS).
	Setting string
	// SIPTransport is how the account's SIP flow is carried: "tls", or
	// "udp"/"tcp" (a proxy with that transport).
	SIPTransport string
	// Backend names the telephony plugin.
	Backend string
	// BackendSRTP: the backend declares protocol.CapSRTP; Unknown when it
	// was not asked, or could not be (BackendError says why).
	BackendSRTP  Tri
	BackendError string
}

// AspectFacts covers one aspect of the account.
type AspectFacts struct {
	// Domain is the service domain: the JID's domain for chat, the AOR's
	// domain for telephony. It is the reference identity for certificates.
	Domain    string
	Discovery Discovery
	// Endpoints are the endpoints probed for this aspect.
	Endpoints []EndpointFacts
	// PlaintextTransports lists transports on which the service answered
	// without TLS: for telephony "udp" and "tcp" if SIP answered there. For
	// chat it is unused: plaintext XMPP is judged from the stream features
	// (StreamFacts.StartTLSRequired).
	PlaintextTransports []string
}

// Discovery is the DNS part of one aspect.
type Discovery struct {
	// Method is how the endpoints were found: "srv" (SRV or NAPTR→SRV
	// records), "fallback" (no records; domain:port), "configured" (the
	// account names a host) or "endpoint" (HOST:PORT named on the command
	// line); discovery checks are skipped for the last two.
	Method string
	// Records are the records found, for evidence
	// ("_xmpp-client._tcp.example.com. SRV 5 0 5222 xmpp.example.com.").
	Records []string
	// TLSPublished: a TLS-only service record exists: _xmpps-client._tcp for
	// chat; NAPTR SIPS+D2T or _sips._tcp for telephony.
	TLSPublished Tri
	// Error is set when discovery itself failed (SERVFAIL, timeout); the
	// discovery checks then report Error.
	Error string
}

// EndpointFacts covers one endpoint (host, port, transport).
type EndpointFacts struct {
	// ID names the endpoint in findings, e.g.
	// "xmpp-starttls:xmpp.example.com:5222". Endpoints shared by accounts
	// keep the same ID, so findings and state entries line up.
	ID        string
	Transport Transport
	Host      string
	Port      int
	// Error is set when the probe could not complete (timeout, connection
	// reset mid-dialog): every check of this endpoint reports Error with
	// this text. A server that refuses TLS is not an error: leave Error
	// empty, TLS nil and say why in NoTLS.
	Error string
	// TLS is nil when no TLS session could be established.
	TLS *TLSFacts
	// NoTLS says why TLS is nil ("connection refused", "<failure/> after
	// <starttls/>", "handshake failure: …").
	NoTLS string
	// SSLOnly is set when TLS is nil but the server accepted SSL 3.0 or
	// 2.0 from a hand-built ClientHello: the evidence (tls.ssl then fails
	// instead of being skipped).
	SSLOnly string
	// Cert is nil when no certificate was seen.
	Cert *CertFacts
	// Stream holds the XMPP stream facts of a STARTTLS endpoint.
	Stream *StreamFacts
	// SIP holds the SIP facts of a SIP endpoint.
	SIP *SIPFacts
}

// TLSFacts is what the TLS probes saw on one endpoint.
type TLSFacts struct {
	// Versions maps each probed version to whether the server accepted a
	// handshake at exactly that version; an absent version was not probed.
	Versions map[uint16]bool
	// NegotiatedVersion and NegotiatedSuite come from one handshake in
	// which the client offered everything it supports (TLS 1.2 and 1.3,
	// all secure suites): what a correct client gets.
	NegotiatedVersion uint16
	// NegotiatedSuite is the IANA name, e.g. "TLS_AES_128_GCM_SHA256".
	NegotiatedSuite string
	// Suites lists the suites accepted across all versions. Meaningful only
	// when SuitesProbed is set.
	Suites       []Suite
	SuitesProbed bool
	// ExtendedMasterSecret: the TLS 1.2 handshake negotiated EMS (RFC 7627).
	ExtendedMasterSecret Tri
	// RenegotiationInfo: the TLS 1.2 ServerHello carried renegotiation_info.
	RenegotiationInfo Tri
	// EncryptThenMAC: the TLS 1.2 ServerHello carried encrypt_then_mac.
	EncryptThenMAC Tri
	// Compression: Yes if the server selected a compression method other
	// than null when offered DEFLATE. CompressionEvidence quotes the
	// server's answer to that offer.
	Compression         Tri
	CompressionEvidence string
	// LegacyEvidence quotes the server's answer to the SSL 2.0 and SSL 3.0
	// ClientHellos, by version (VersionSSL20, VersionSSL30).
	LegacyEvidence map[uint16]string
	// TicketIssued: the server sent a TLS 1.2 NewSessionTicket;
	// TicketLifetimeHint is its lifetime hint (0: unspecified, RFC 5077).
	TicketIssued       Tri
	TicketLifetimeHint time.Duration
}

// Suite is one accepted cipher suite.
type Suite struct {
	// Name is the IANA name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), or
	// "0x…" for a suite the prober cannot name.
	Name string
	// Class is the suite's class; empty means "classify Name" (see
	// ClassifySuite).
	Class SuiteClass
}

// CertFacts describes the certificate chain one endpoint served.
type CertFacts struct {
	// LeafSHA256 and SPKISHA256 are lowercase hex SHA-256 digests of the
	// leaf certificate and of its SubjectPublicKeyInfo.
	LeafSHA256 string
	SPKISHA256 string
	Subject    string
	Issuer     string
	NotBefore  time.Time
	NotAfter   time.Time
	// KeyAlgorithm is "RSA", "ECDSA" or "Ed25519"; KeyBits its size (the
	// modulus for RSA, the curve order for ECDSA).
	KeyAlgorithm string
	KeyBits      int
	// SignatureAlgorithms are the chain's signature algorithms, leaf first,
	// as crypto/x509 names them ("SHA256-RSA", "SHA1-RSA", "MD5-RSA",
	// "ECDSA-SHA1"); a self-signed root's own signature is not included.
	SignatureAlgorithms []string
	// Trusted: the chain validated (PKIX against the roots in use, or DANE
	// or POSH). TrustError says why not.
	Trusted    Tri
	TrustError string
	// AuthenticatedBy says how the server was authenticated: "PKIX",
	// "DANE-EE", "DANE-TA", "POSH", "pinned"; "" when it was not
	// (RFC 7590 §3.6 asks to show it).
	AuthenticatedBy string
	// IdentityMatched: the certificate names the aspect's domain by the
	// rules of the aspect (RFC 6120 §13.7.1.2 / RFC 5922 §7.1–7.2).
	// IdentityBy says which identifier matched ("DNS-ID", "SRV-ID",
	// "XmppAddr", "URI-ID"); IdentityError why nothing did.
	IdentityMatched Tri
	IdentityBy      string
	IdentityError   string
	// ChainComplete: the served chain reaches a trust anchor without
	// fetching intermediates. ChainOrdered: each certificate is followed
	// by its issuer.
	ChainComplete Tri
	ChainOrdered  Tri
}

// StreamFacts is what an XMPP STARTTLS dialog saw (RFC 6120 §5, §6).
type StreamFacts struct {
	// StartTLSOffered: <starttls/> was in the first stream features.
	StartTLSOffered bool
	// StartTLSRequired: <required/> was in <starttls/>, or STARTTLS was the
	// only feature (mandatory-to-negotiate, RFC 6120 §5.3.1).
	StartTLSRequired bool
	// StartTLSAccepted: the server answered <proceed/> and the handshake
	// completed. The prober sends <starttls/> even when not offered
	// (RFC 7590 §3.1).
	StartTLSAccepted Tri
	// PreTLSMechanisms and PostTLSMechanisms are the SASL mechanisms
	// offered before and after TLS. PostTLSMechanisms is nil when TLS
	// failed.
	PreTLSMechanisms  []string
	PostTLSMechanisms []string
	// ChannelBindingTypes are the types advertised per XEP-0440 after TLS
	// ("tls-exporter", "tls-server-end-point", "tls-unique"); nil when the
	// server does not advertise them.
	ChannelBindingTypes []string
}

// SIPFacts is what one SIP endpoint answered to a REGISTER without
// credentials: over TLS, or over the plaintext transport an account uses.
type SIPFacts struct {
	// Answers: a SIP response came back.
	Answers Tri
	// Response is the status line, for evidence ("SIP/2.0 401
	// Unauthorized"), or why nothing came back.
	Response string
	// Challenges are the 401/407 challenges, in the server's order. Nil:
	// no challenge was obtained (no answer, or a 403/5xx); empty: the
	// server accepted the request without asking for credentials (2xx).
	Challenges []Challenge
}

// Challenge is one WWW-Authenticate or Proxy-Authenticate header.
type Challenge struct {
	// Scheme is "Digest" or "Bearer" (RFC 8898).
	Scheme string
	// Algorithm is as sent; "" means MD5 (RFC 2617 §3.2.1).
	Algorithm string
	QOP       []string
}
