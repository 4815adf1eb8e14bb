package audit

// Check describes one check: what it requires, where the requirement comes
// from, and how to fix a failure. Severities are not here but in the policy
// profile (Profile), so operators can re-weigh checks without code.
type Check struct {
	ID string
	// Scope is the aspect the check applies to; "" when it applies to
	// endpoints of either aspect (TLS and certificate checks).
	Scope Aspect
	// Title states the requirement; see Finding.Title.
	Title string
	// Ref is the spec section. RFC 7590 and RFC 7081 sections were checked
	// against their texts; RFC 9325 sections follow the research report.
	Ref string
	// Fix is what the server operator changes.
	Fix string
}

// Check IDs. Dotted lowercase, as in the parity package ("parity.encryption").
// An ID never changes meaning once released: profiles and scripts name them.
const (
	// Discovery (per aspect).
	CheckDiscXMPP      = "disc.xmpp"
	CheckDiscXMPPTLS   = "disc.xmpp-direct-tls"
	CheckDiscSIP       = "disc.sip"
	CheckDiscSIPTLS    = "disc.sip-tls"
	CheckResolve       = "disc.resolve"
	CheckXMPPOffered   = "xmpp.starttls-offered"
	CheckXMPPStartTLS  = "xmpp.starttls"
	CheckXMPPRequired  = "xmpp.starttls-required"
	CheckXMPPSASLPre   = "xmpp.sasl-before-tls"
	CheckXMPPPlainPre  = "xmpp.plain-before-tls"
	CheckXMPPMechs     = "xmpp.sasl-mechanisms"
	CheckXMPPCB        = "xmpp.channel-binding"
	CheckXMPPDirect    = "xmpp.direct-tls"
	CheckSIPTLS        = "sip.tls"
	CheckSIPAnswers    = "sip.answers"
	CheckSIPDigestAlg  = "sip.digest-algorithm"
	CheckSIPDigestQOP  = "sip.digest-qop"
	CheckTLSSSL        = "tls.ssl"
	CheckTLS10         = "tls.tls10"
	CheckTLS11         = "tls.tls11"
	CheckTLS13         = "tls.tls13"
	CheckTLS13Pref     = "tls.tls13-preferred"
	CheckSuitesBroken  = "tls.suites-broken"
	CheckSuitesRC4     = "tls.suites-rc4"
	CheckSuites3DES    = "tls.suites-3des"
	CheckSuitesNoFS    = "tls.suites-no-fs"
	CheckSuitesCBC     = "tls.suites-cbc"
	CheckFS            = "tls.forward-secrecy"
	CheckEMS           = "tls.ems"
	CheckRenegInfo     = "tls.renegotiation-info"
	CheckCompression   = "tls.compression"
	CheckTicket        = "tls.ticket-lifetime"
	CheckCertTrust     = "cert.trust"
	CheckCertIDXMPP    = "cert.identity-xmpp"
	CheckCertIDSIP     = "cert.identity-sip"
	CheckCertValidity  = "cert.validity"
	CheckCertSoon      = "cert.expires-soon"
	CheckCertWarn      = "cert.expiry-warning"
	CheckCertLifetime  = "cert.lifetime"
	CheckCertKey       = "cert.key"
	CheckCertKeyBroken = "cert.key-broken"
	CheckCertSig       = "cert.signature"
	CheckCertSigMD5    = "cert.signature-md5"
	CheckCertChain     = "cert.chain"
	CheckCertChanged   = "cert.changed"
	CheckCUSAXEnc      = "cusax.encryption"
	CheckCUSAXPlain    = "cusax.plaintext"
	CheckCUSAXVersions = "cusax.tls-versions"
	CheckCUSAXSuites   = "cusax.suites"
	CheckCUSAXSrvAuth  = "cusax.server-auth"
	CheckCUSAXCliAuth  = "cusax.client-auth"
	CheckCUSAXMedia    = "cusax.media-encryption"
)

var catalogue = []Check{
	// Discovery.
	{CheckDiscXMPP, Chat, "XMPP client service published in DNS (_xmpp-client._tcp SRV)", "RFC 6120 §3.2.1",
		"publish _xmpp-client._tcp.<domain> SRV records"},
	{CheckDiscXMPPTLS, Chat, "Direct TLS published (_xmpps-client._tcp SRV)", "RFC 9325 §3.2; XEP-0368",
		"offer direct TLS and publish _xmpps-client._tcp.<domain>; it cannot be stripped like STARTTLS"},
	{CheckDiscSIP, Telephony, "SIP service published in DNS (NAPTR/SRV)", "RFC 3263 §4",
		"publish NAPTR and SRV records for the SIP domain"},
	{CheckDiscSIPTLS, Telephony, "SIP over TLS published (NAPTR SIPS+D2T or _sips._tcp SRV)", "RFC 3263 §4.1",
		"publish _sips._tcp.<domain> (and a SIPS+D2T NAPTR) so clients choose TLS"},

	// A target none of whose names resolve: one finding, not one per check.
	{CheckResolve, "", "Target host names resolve", "RFC 1035 §4.1.1 (RCODE 3, name error)",
		"check the name (a typo?), or publish its A/AAAA records"},

	// XMPP stream (STARTTLS endpoints).
	{CheckXMPPOffered, Chat, "STARTTLS offered in the stream features", "RFC 7590 §3.1",
		"advertise <starttls/> (a server that honours STARTTLS without advertising it looks stripped)"},
	{CheckXMPPStartTLS, Chat, "STARTTLS negotiated (attempted even when not offered)", "RFC 7590 §3.1",
		"enable TLS on the c2s listener (Prosody: ssl = {…}; ejabberd: starttls: true)"},
	{CheckXMPPRequired, Chat, "STARTTLS required before anything else (<required/>)", "RFC 6120 §5.3.1; RFC 9325 §3.2",
		"require encryption on c2s (Prosody: c2s_require_encryption = true; ejabberd: starttls_required: true)"},
	{CheckXMPPSASLPre, Chat, "No SASL mechanisms offered before TLS", "RFC 6120 §5.3.4",
		"offer SASL only after TLS (require encryption on c2s)"},
	{CheckXMPPPlainPre, Chat, "No PLAIN or LOGIN offered before TLS", "RFC 6120 §13.8",
		"never offer password mechanisms on an unencrypted stream (require encryption on c2s)"},
	{CheckXMPPMechs, Chat, "SCRAM offered after TLS; no DIGEST-MD5 or CRAM-MD5", "RFC 6120 §13.8; RFC 6331; RFC 7677",
		"offer SCRAM-SHA-256(-PLUS) and SCRAM-SHA-1(-PLUS); remove DIGEST-MD5 and CRAM-MD5"},
	{CheckXMPPCB, Chat, "Channel binding usable for the -PLUS mechanisms offered", "RFC 9266; RFC 7627; XEP-0440",
		"negotiate TLS 1.3 or extended master secret and advertise tls-exporter (XEP-0440)"},
	{CheckXMPPDirect, Chat, "Direct TLS handshake succeeds on the published xmpps endpoint", "XEP-0368",
		"fix the direct TLS listener or remove its _xmpps-client._tcp record"},

	// SIP.
	{CheckSIPTLS, Telephony, "SIP over TLS reachable", "RFC 3261 §26.2.1; RFC 7081 §7",
		"enable a TLS listener (port 5061) on the SIP server"},
	{CheckSIPAnswers, Telephony, "SIP answers over TLS", "RFC 3261 §26.2.1",
		"route SIP over the TLS listener (Kamailio: enable_tls=yes and listen=tls:…)"},
	{CheckSIPDigestAlg, Telephony, "Digest challenge offers SHA-256 or SHA-512-256", "RFC 8760",
		"offer algorithm=SHA-256 (RFC 8760) before MD5 in the 401/407 challenge"},
	{CheckSIPDigestQOP, Telephony, "Digest challenge sets qop", "RFC 3261 §22.4; RFC 8760",
		"send qop=\"auth\" in digest challenges"},

	// TLS, per endpoint.
	{CheckTLSSSL, "", "SSL 2.0 and 3.0 not accepted", "RFC 9325 §3.1.1",
		"disable SSLv2 and SSLv3"},
	{CheckTLS10, "", "TLS 1.0 not accepted", "RFC 9325 §3.1.1; RFC 8996",
		"set the minimum protocol version to TLS 1.2"},
	{CheckTLS11, "", "TLS 1.1 not accepted", "RFC 9325 §3.1.1; RFC 8996",
		"set the minimum protocol version to TLS 1.2"},
	{CheckTLS13, "", "TLS 1.3 supported", "RFC 9325 §3.1.1",
		"enable TLS 1.3 (OpenSSL ≥ 1.1.1)"},
	{CheckTLS13Pref, "", "TLS 1.3 negotiated when the client offers it", "RFC 9325 §3.1.1",
		"do not cap the maximum protocol version below TLS 1.3"},
	{CheckSuitesBroken, "", "No NULL, anonymous, EXPORT or DES suites accepted", "RFC 9325 §4.1",
		"restrict the cipher list (e.g. OpenSSL \"ECDHE+AESGCM:ECDHE+CHACHA20\")"},
	{CheckSuitesRC4, "", "No RC4 suites accepted", "RFC 9325 §4.1; RFC 7465",
		"remove RC4 from the cipher list"},
	{CheckSuites3DES, "", "No 3DES suites accepted", "RFC 9325 §4.1",
		"remove 3DES from the cipher list"},
	{CheckSuitesNoFS, "", "No suites without forward secrecy accepted (static RSA/DH)", "RFC 9325 §4.1",
		"remove static-RSA and static-DH suites (kRSA) from the cipher list"},
	{CheckSuitesCBC, "", "No CBC suites accepted without encrypt_then_mac", "RFC 9325 §4.2",
		"prefer AEAD suites (AES-GCM, ChaCha20-Poly1305) and drop CBC"},
	{CheckFS, "", "Forward-secret suite negotiated (forward secrecy preferred)", "RFC 9325 §4.1",
		"order ECDHE suites first and honour the server's order"},
	{CheckEMS, "", "TLS 1.2 negotiates extended master secret", "RFC 9325 §3.5; RFC 7627",
		"upgrade the TLS library (OpenSSL ≥ 1.1.0 supports EMS)"},
	{CheckRenegInfo, "", "TLS 1.2 acknowledges renegotiation_info", "RFC 9325 §3.5; RFC 5746",
		"upgrade the TLS library (secure renegotiation, RFC 5746)"},
	{CheckCompression, "", "TLS compression not negotiated", "RFC 9325 §3.3",
		"disable TLS compression (CRIME)"},
	{CheckTicket, "", "Session ticket lifetime limited", "RFC 9325 §3.4",
		"limit ticket lifetime (e.g. half the weekly ticket-key rotation)"},

	// Certificates, per endpoint.
	{CheckCertTrust, "", "Certificate chain trusted (PKIX, or DANE/POSH)", "RFC 7590 §3.4; RFC 6120 §13.7.2; RFC 5280 §6",
		"serve a certificate from a trusted CA with its full intermediate chain"},
	{CheckCertIDXMPP, Chat, "Certificate names the XMPP domain (DNS-ID, SRV-ID _xmpp-client or XmppAddr)", "RFC 6120 §13.7.1.2; RFC 7590 §3.4",
		"issue the certificate for the JID's domain (a DNS-ID, or the SRV-ID _xmpp-client.<domain>)"},
	{CheckCertIDSIP, Telephony, "Certificate names the SIP domain (sip: URI SAN, else DNS-ID; no wildcard)", "RFC 5922 §7.1; RFC 5922 §7.2",
		"issue the certificate with subjectAltName URI sip:<domain> or DNS <domain> (no wildcard)"},
	{CheckCertValidity, "", "Certificate within its validity period", "RFC 5280 §4.1.2.5",
		"renew the certificate"},
	{CheckCertSoon, "", "Certificate does not expire within the urgent window (default 14 days)", "RFC 5280 §4.1.2.5",
		"renew the certificate now"},
	{CheckCertWarn, "", "Certificate does not expire within the warning window (default 30 days)", "RFC 5280 §4.1.2.5",
		"schedule renewal (automate it with ACME)"},
	{CheckCertLifetime, "", "Certificate lifetime at most 398 days", "CA/Browser Forum BR §6.3.2",
		"issue shorter-lived certificates and automate renewal"},
	{CheckCertKey, "", "Key at least 2048-bit RSA or 224-bit EC", "RFC 9325 §4.5",
		"reissue with RSA ≥ 2048 or ECDSA P-256"},
	{CheckCertKeyBroken, "", "RSA key at least 1024 bits", "RFC 9325 §4.5",
		"reissue with RSA ≥ 2048 or ECDSA P-256"},
	{CheckCertSig, "", "No SHA-1 signatures in the chain", "RFC 9325 §4.5; RFC 9155",
		"reissue the certificate (and intermediates) with SHA-256 signatures"},
	{CheckCertSigMD5, "", "No MD5 signatures in the chain", "RFC 9325 §4.5; RFC 9155",
		"reissue the certificate with SHA-256 signatures"},
	{CheckCertChain, "", "Chain complete and in order (leaf first)", "RFC 8446 §4.4.2; RFC 5246 §7.4.2",
		"serve leaf, then each issuer in order, with all intermediates"},
	{CheckCertChanged, "", "Certificate unchanged since the last audit", "RFC 7590 §3.6",
		"confirm the change was intended (renewal) and re-run the audit"},

	// Cross-aspect, per account.
	{CheckCUSAXEnc, CUSAX, "Both aspects encrypted, or neither", "RFC 7081 §7",
		"enable TLS on the unencrypted aspect; users otherwise think the whole session is protected"},
	{CheckCUSAXPlain, CUSAX, "Both aspects require TLS alike (no plaintext path on one side only)", "RFC 7081 §7; RFC 9325 §3.9",
		"require TLS on both aspects (disable plain SIP over UDP/TCP; require STARTTLS on c2s)"},
	{CheckCUSAXVersions, CUSAX, "Both aspects accept the same TLS versions", "RFC 7081 §3.2; RFC 7081 §7; RFC 9325 §3.9",
		"configure the same minimum and maximum TLS version on the XMPP and SIP servers"},
	{CheckCUSAXSuites, CUSAX, "Both aspects accept the same cipher suite classes", "RFC 7081 §3.2; RFC 7081 §7; RFC 9325 §3.9",
		"use one cipher policy for the XMPP and SIP servers"},
	{CheckCUSAXSrvAuth, CUSAX, "Both aspects authenticate the server alike", "RFC 7081 §7; RFC 6120 §13.7; RFC 5922 §7",
		"serve certificates from the same trusted CA naming the domain on both aspects"},
	{CheckCUSAXCliAuth, CUSAX, "Client authentication of similar strength on both aspects", "RFC 7081 §7; RFC 8760",
		"offer SIP digest with SHA-256 (RFC 8760) or mutual TLS to match SCRAM on XMPP"},
	// The client's side of RFC 7081 §7: an account whose SIP runs over TLS
	// protects its calls' media too (SDES keys travel only over TLS, RFC
	// 4568 §8.3). The finding's fix names the account (parity.CheckMedia).
	{CheckCUSAXMedia, CUSAX, "Call media protected like its signalling (SRTP when SIP runs over TLS)", "RFC 7081 §7; RFC 4568 §8.3",
		`set media_encryption = "srtp" in the account's [account.sip] table (or remove the line), with a telephony backend that declares "srtp"`},
}

var catalogueIndex = func() map[string]int {
	m := make(map[string]int, len(catalogue))
	for i, c := range catalogue {
		m[c.ID] = i
	}
	return m
}()

// Checks returns the catalogue, in report order. The slice is a copy.
func Checks() []Check { return append([]Check(nil), catalogue...) }

// LookupCheck returns the check with the given ID.
func LookupCheck(id string) (Check, bool) {
	i, ok := catalogueIndex[id]
	if !ok {
		return Check{}, false
	}
	return catalogue[i], true
}
