// Package certid verifies a TLS server's certificate chain and identity the
// way XMPP and SIP require, which is more than crypto/x509 knows:
//
//   - XMPP (RFC 6120 §13.7.1.2, RFC 6125 §6): a DNS-ID, an SRV-ID
//     (_xmpp-client./_xmpps-client.<domain>) or an XmppAddr naming the JID's
//     domain. crypto/x509 only knows DNS-IDs; the other two are otherName
//     SANs parsed here.
//   - SIP (RFC 5922 §7.1): a sip: URI SAN without user part naming the SIP
//     domain, else a dNSName; no wildcards (RFC 5922 §7.2).
//
// The identity is always checked against the service domain (the JID's or
// the AOR's domain), also when the server was dialled by IP address. The
// tls.Config returned sets InsecureSkipVerify only because the chain and
// identity are verified in VerifyConnection instead of by crypto/tls's
// DNS-only check; a failure there aborts the handshake, so nothing is ever
// sent over an unverified connection.
package certid
