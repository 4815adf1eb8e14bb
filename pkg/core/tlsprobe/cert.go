package tlsprobe

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// The identity services a certificate is checked for.
const (
	ServiceXMPPClient = "xmpp-client" // RFC 6120 §13.7.1.2
	ServiceSIP        = "sip"         // RFC 5922 §7.1
)

// Certificate is the chain the server presented in the baseline handshake
// and what verifying it showed. Chain, identity and the combined verdict
// are recorded separately, so that an expired certificate for the right
// name and a trusted certificate for the wrong name are told apart.
type Certificate struct {
	// ChainDER is the presented chain, leaf first, as sent.
	ChainDER [][]byte `json:"chain_der"`
	// Chain describes each certificate (certid.DescribeChain).
	Chain []protocol.CertInfo `json:"chain"`
	// LeafSHA256 and LeafSPKISHA256 are hex SHA-256 of the leaf and of its
	// public key, for "certificate changed since last audit" (RFC 7590
	// §3.6); an unchanged SPKI with a new certificate is a renewal.
	LeafSHA256     string `json:"leaf_sha256"`
	LeafSPKISHA256 string `json:"leaf_spki_sha256"`
	// KeyType is "RSA", "ECDSA", "Ed25519" or crypto/x509's name; KeyBits
	// the modulus or curve size; Curve the ECDSA curve name.
	KeyType            string    `json:"key_type"`
	KeyBits            int       `json:"key_bits"`
	Curve              string    `json:"curve,omitempty"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	// CheckedAt is the time validity was checked at (Options.Now).
	CheckedAt time.Time `json:"checked_at"`

	// ChainVerified: the chain leads to Options.Roots, is valid at
	// CheckedAt and allows serverAuth. ChainError says why not.
	ChainVerified bool   `json:"chain_verified"`
	ChainError    string `json:"chain_error,omitempty"`

	// Service and ReferenceIdentity are what the identity is checked
	// for: the XMPP domain (RFC 6120 §13.7.2.1) or the SIP domain (RFC 5922
	// §7.1, Endpoint.ServerName).
	Service           string `json:"service"`
	ReferenceIdentity string `json:"reference_identity"`
	// IdentityMatched is certid's identity check of the leaf alone,
	// whatever the chain (the leaf taken as its own anchor, checked within
	// its validity period); IdentityMethod names the matching identity
	// ("pkix srv-id _xmpp-client.example.com"), IdentityError why none did.
	// A leaf that does not allow serverAuth fails here too, with that
	// reason.
	IdentityMatched bool   `json:"identity_matched"`
	IdentityMethod  string `json:"identity_method,omitempty"`
	IdentityError   string `json:"identity_error,omitempty"`

	// Verified is certid.VerifyChain's verdict, chain and identity
	// together: what a cusax client would accept. AuthMethod is how the
	// server was authenticated (RFC 7590 §3.6), VerifyError why not.
	Verified    bool   `json:"verified"`
	AuthMethod  string `json:"auth_method,omitempty"`
	VerifyError string `json:"verify_error,omitempty"`
}

// certificate verifies chain for the endpoint's service; nil without one.
func (p *prober) certificate(chain []*x509.Certificate) *Certificate {
	if len(chain) == 0 {
		return nil
	}
	leaf := chain[0]
	now := p.opts.Now()
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	c := &Certificate{
		Chain:              certid.DescribeChain(chain),
		LeafSHA256:         fingerprint(leaf.Raw),
		LeafSPKISHA256:     hex.EncodeToString(spki[:]),
		SignatureAlgorithm: leaf.SignatureAlgorithm.String(),
		NotBefore:          leaf.NotBefore.UTC(),
		NotAfter:           leaf.NotAfter.UTC(),
		CheckedAt:          now.UTC(),
	}
	for _, cert := range chain {
		c.ChainDER = append(c.ChainDER, cert.Raw)
	}
	c.KeyType, c.KeyBits, c.Curve = keyFacts(leaf)

	roots := p.opts.Roots
	var trust *certid.Trust
	if roots == nil {
		trust, _ = certid.Roots(nil) // only fails on a bad extra PEM
		if sys, err := x509.SystemCertPool(); err == nil {
			roots = sys
		} else {
			roots = x509.NewCertPool()
		}
	} else {
		trust = certid.PoolTrust(roots)
	}
	inter := x509.NewCertPool()
	for _, cert := range chain[1:] {
		inter.AddCert(cert)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	c.ChainVerified = err == nil
	if err != nil {
		c.ChainError = err.Error()
	}

	svc, ref, alt := certid.XMPPClient, p.ep.XMPPDomain, ""
	c.Service = ServiceXMPPClient
	if ref == "" {
		svc, ref, c.Service = certid.SIP, p.ep.ServerName, ServiceSIP
		if p.ep.Identity != "" {
			ref = p.ep.Identity
		}
		// A SIP proxy dialled by host name may present that name (RFC 5922
		// §4), as certid.SIPClientConfig accepts.
		if h, _, err := net.SplitHostPort(p.ep.Addr); err == nil {
			alt = h
		}
	}
	c.ReferenceIdentity = ref

	// Identity alone: certid matches identities only after the chain
	// verifies, so the leaf is made its own anchor and checked mid-validity.
	self := x509.NewCertPool()
	self.AddCert(leaf)
	mid := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
	id := certid.VerifyChain(svc, []*x509.Certificate{leaf}, ref, alt, certid.PoolTrust(self), mid)
	c.IdentityMatched, c.IdentityMethod = id.Verified, id.Method
	if id.Err != nil {
		c.IdentityError = id.Err.Error()
	}

	v := certid.VerifyChain(svc, chain, ref, alt, trust, now)
	c.Verified, c.AuthMethod = v.Verified, v.Method
	if v.Err != nil {
		c.VerifyError = v.Err.Error()
	}
	return c
}

func keyFacts(c *x509.Certificate) (typ string, bits int, curve string) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen(), ""
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize, k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519", 256, ""
	}
	return c.PublicKeyAlgorithm.String(), 0, ""
}
