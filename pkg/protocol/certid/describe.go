package certid

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/cusax/cusax/pkg/protocol"
)

// Describe summarises a certificate for reports.
func Describe(c *x509.Certificate) protocol.CertInfo {
	sum := sha256.Sum256(c.Raw)
	info := protocol.CertInfo{
		Subject:      c.Subject.String(),
		Issuer:       c.Issuer.String(),
		NotBefore:    c.NotBefore.UTC(),
		NotAfter:     c.NotAfter.UTC(),
		SHA256:       hex.EncodeToString(sum[:]),
		DNSNames:     append([]string(nil), c.DNSNames...),
		KeyAlgorithm: keyAlgorithm(c),
		SignatureAlg: c.SignatureAlgorithm.String(),
		IsCA:         c.IsCA,
		DER:          c.Raw,
	}
	for _, u := range c.URIs {
		info.URIs = append(info.URIs, u.String())
	}
	for _, ip := range c.IPAddresses {
		info.IPAddresses = append(info.IPAddresses, ip.String())
	}
	if names, err := otherNames(c); err == nil {
		info.XMPPAddrs = names.xmppAddrs
		info.SRVNames = names.srvNames
	}
	return info
}

// DescribeChain summarises a chain, leaf first.
func DescribeChain(chain []*x509.Certificate) []protocol.CertInfo {
	out := make([]protocol.CertInfo, 0, len(chain))
	for _, c := range chain {
		out = append(out, Describe(c))
	}
	return out
}

func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}
