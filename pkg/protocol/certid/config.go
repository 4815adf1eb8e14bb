package certid

import (
	"crypto/tls"
	"time"
)

// XMPPClientConfig returns a client tls.Config for an XMPP server of domain.
// SNI is the domain (RFC 6120 §13.7.1.2: the identity is the JID's domain,
// whatever address was dialled). The result of verification is stored in v.
func XMPPClientConfig(domain string, roots *Trust, v *Verification) *tls.Config {
	return clientConfig(XMPPClient, domain, "", roots, v)
}

// SIPClientConfig returns a client tls.Config for the SIP domain (RFC 5922).
// proxyHost, when a host name, is also accepted as identity.
func SIPClientConfig(sipDomain, proxyHost string, roots *Trust, v *Verification) *tls.Config {
	return clientConfig(SIP, sipDomain, proxyHost, roots, v)
}

func clientConfig(svc Service, domain, altHost string, roots *Trust, v *Verification) *tls.Config {
	return &tls.Config{
		ServerName: domain,
		MinVersion: tls.VersionTLS12,
		// Verification is done below, for the identities crypto/tls cannot
		// check (SRV-ID, XmppAddr, sip: URI). VerifyConnection runs on every
		// handshake, and an error aborts it before any application data.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			res := VerifyChain(svc, cs.PeerCertificates, domain, altHost, roots, time.Now())
			if v != nil {
				*v = res
			}
			return res.Err
		},
	}
}
