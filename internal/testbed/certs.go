package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"time"
)

// ca is a throwaway certificate authority that lives for one run.
type ca struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// validity is short on purpose: a leaked per-run certificate is worthless a day later. notBefore
// is in the past so that small clock differences between processes never matter.
func validity() (notBefore, notAfter time.Time) {
	now := time.Now()
	return now.Add(-time.Hour), now.Add(24 * time.Hour)
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux; if it does nothing here is safe
	}
	return hex.EncodeToString(b)
}

// newCA makes a self-signed CA whose name is unique per run, so that a certificate from another
// run (or the "other" CA) can never be mistaken for one of ours.
func newCA(label string) (*ca, error) {
	nb, na := validity()
	return newCAValid(label, nb, na)
}

// newCAValid is newCA for a given validity window.
func newCAValid(label string, nb, na time.Time) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("cusax %s CA %s", label, randomHex(4)), Organization: []string{"cusax test bed"}},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// leaf is a server certificate and its key, both PEM.
type leaf struct {
	certPEM, keyPEM []byte
}

// issue signs a server certificate for the given DNS names and URIs (RFC 5922 §7.1: a SIP
// server's identity is a sip: URI in subjectAltName, or a DNS name when there is none). A
// "DNS name" that is an IP address becomes an IP address SAN (an HTTPS server reached as
// https://127.0.0.1:port/ is checked against those, RFC 2818 §3.1).
func (c *ca) issue(dnsNames []string, uris []string) (*leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	var parsed []*url.URL
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("uri SAN %q: %w", u, err)
		}
		parsed = append(parsed, p)
	}
	var names []string
	var ips []net.IP
	for _, n := range dnsNames {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, n)
		}
	}
	nb, na := validity()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: dnsNames[0], Organization: []string{"cusax test bed"}},
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// Prosody presents this certificate for c2s; Kamailio also uses it as a TLS client.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    names,
		IPAddresses: ips,
		URIs:        parsed,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &leaf{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// write stores the certificate and key; the key is readable by its owner only.
func (l *leaf) write(certFile, keyFile string) error {
	if err := os.WriteFile(certFile, l.certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, l.keyPEM, 0o600)
}
