// Package tlsprobe collects facts about one TLS endpoint of an account: the
// XMPP stream before and after STARTTLS, the TLS versions and cipher suites
// the server accepts, the TLS 1.2 extensions it answers with, and its
// certificate with the chain and identity verification results. It makes
// no judgement and assigns no severity: the audit turns these facts into
// findings.
//
// # How it probes
//
// Every probe but the legacy ones (below) is a complete connection with
// crypto/tls as the client: one baseline handshake offering everything Go
// implements (TLS 1.0–1.3, all suites of tls.CipherSuites and
// tls.InsecureCipherSuites), one handshake per TLS version, one per TLS ≤
// 1.2 cipher suite, and two that show whether the server honours its own
// suite order. With Mode
// "xmpp-starttls" every connection repeats the XMPP stream prelude and
// sends <starttls/> whether or not it was advertised (RFC 7590 §3.1: the
// feature may have been stripped). No credentials are ever sent: the probe
// reads the stream features after TLS and closes the stream.
//
// # Verification is recorded, not bypassed
//
// A probe must characterise a server whose certificate is expired,
// self-signed or for another name, so the handshakes set
// InsecureSkipVerify. They never do so silently: every handshake has a
// VerifyConnection callback that records the presented chain, and the
// baseline handshake's chain is verified against Options.Roots and checked
// for the service identity with package certid (XMPP: DNS-ID, SRV-ID
// _xmpp-client/_xmpps-client, XmppAddr, RFC 6120 §13.7.1.2; SIP: sip: URI
// then DNS-ID, RFC 5922 §7.1). The results are in Result.Certificate. Only
// stream headers and <starttls/> are sent after a handshake, never
// credentials or user data, so the unverified connection carries nothing
// to protect.
//
// # What crypto/tls can and cannot show
//
// Observable through crypto/tls: the negotiated version, suite, group and
// ALPN protocol; whether keying material can be exported (TLS 1.3 or
// extended master secret, RFC 9266 tls-exporter). Observable by reading
// the server's plaintext TLS ≤ 1.2 flight off the wire (the "tap"):
// ServerHello extensions (renegotiation_info, extended_master_secret,
// session_ticket), the compression method and the NewSessionTicket
// lifetime hint. The suite order a server honours is found by sending the
// same ClientHello twice with the suite list reversed on the wire (Go
// ignores the client's suite order); the reversed handshake is expected to
// fail at Finished, after the ServerHello was read.
//
// Observable only with hand-built ClientHellos (legacy.go, Result.Legacy),
// because crypto/tls offers neither SSL nor compression: whether the
// server accepts SSL 3.0, SSL 2.0, or TLS compression (DEFLATE offered
// before null). Each is one more connection (after the XMPP STARTTLS
// dialog where the endpoint needs it) on which only the ClientHello is
// sent and only the server's first answer read — a ServerHello, an alert,
// or the connection closing; the handshake is never completed.
//
// Not observable, listed in Result.NotObservable: suites Go does not
// implement (NULL, EXPORT, anonymous, DHE, static DH, CCM, …), TLS 1.3
// suite preference, the TLS 1.3 ticket lifetime (encrypted),
// client-initiated renegotiation, 0-RTT. Go 1.25+ refuses
// SHA-1 handshake signatures in TLS 1.2 and RSA keys under 1024 bits; a
// binary that must see such servers sets //go:debug tlssha1=1 and
// rsa1024min=0 in its main package, otherwise the refusal is recorded as
// the handshake's evidence.
package tlsprobe
