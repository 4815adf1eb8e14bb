package callmedia

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Fingerprint is a certificate fingerprint as in a=fingerprint (RFC
// 8122 §5): a hash function name and the hash of the DER certificate.
type Fingerprint struct {
	// Hash is the lower-case hash function name: sha-256, sha-384 or
	// sha-512.
	Hash  string
	Value []byte
}

// fingerprintHashes are the hash functions accepted in a=fingerprint,
// with their output length. RFC 8122 §5 keeps MD5 and SHA-1 only for
// old peers; a forged certificate for a weak hash would defeat RFC 5763
// §5's check, so they are refused like any unknown name.
var fingerprintHashes = map[string]int{"sha-256": sha256.Size, "sha-384": sha512.Size384, "sha-512": sha512.Size}

// ErrFingerprintHash: an a=fingerprint names a hash function cusax does
// not accept (only sha-256, sha-384, sha-512).
var ErrFingerprintHash = errors.New("unsupported a=fingerprint hash (want sha-256, sha-384 or sha-512)")

// CertFingerprint is the fingerprint of a DER certificate with hash
// (sha-256, sha-384 or sha-512); other names are ErrFingerprintHash.
func CertFingerprint(hash string, der []byte) (Fingerprint, error) {
	var sum []byte
	switch strings.ToLower(hash) {
	case "sha-256":
		s := sha256.Sum256(der)
		sum = s[:]
	case "sha-384":
		s := sha512.Sum384(der)
		sum = s[:]
	case "sha-512":
		s := sha512.Sum512(der)
		sum = s[:]
	default:
		return Fingerprint{}, fmt.Errorf("%w: %q", ErrFingerprintHash, trunc(hash))
	}
	return Fingerprint{Hash: strings.ToLower(hash), Value: sum}, nil
}

// Matches reports whether der is the certificate f is a fingerprint of.
func (f Fingerprint) Matches(der []byte) bool {
	g, err := CertFingerprint(f.Hash, der)
	return err == nil && len(f.Value) == len(g.Value) && subtle.ConstantTimeCompare(f.Value, g.Value) == 1
}

// Attribute is the value of a=fingerprint (RFC 8122 §5: upper-case hex
// pairs separated by colons).
func (f Fingerprint) Attribute() string {
	h := strings.ToUpper(hex.EncodeToString(f.Value))
	var b strings.Builder
	b.Grow(len(f.Hash) + 1 + len(h)*3/2)
	b.WriteString(f.Hash)
	b.WriteByte(' ')
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func (f Fingerprint) String() string { return f.Attribute() }

// ParseFingerprint parses an a=fingerprint value (RFC 8122 §5:
// hash-func SP fingerprint, fingerprint = 2UHEX *(":" 2UHEX)). The hash
// name is case-insensitive; lower-case hex is accepted too, as many
// peers send it. Errors: a malformed value, ErrFingerprintHash, or a
// length that is not the hash's.
func ParseFingerprint(v string) (Fingerprint, error) {
	hash, hx, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Fingerprint{}, fmt.Errorf("a=fingerprint %q: want \"hash-func XX:XX:…\"", trunc(v))
	}
	hash = strings.ToLower(hash)
	size, ok := fingerprintHashes[hash]
	if !ok {
		return Fingerprint{}, fmt.Errorf("a=fingerprint: %w: %q", ErrFingerprintHash, trunc(hash))
	}
	hx = strings.TrimSpace(hx)
	if len(hx) != size*3-1 {
		return Fingerprint{}, fmt.Errorf("a=fingerprint: %s needs %d colon-separated bytes", hash, size)
	}
	val := make([]byte, size)
	for i := range size {
		p := hx[i*3:]
		if i > 0 && hx[i*3-1] != ':' {
			return Fingerprint{}, fmt.Errorf("a=fingerprint: %s needs %d colon-separated bytes", hash, size)
		}
		if _, err := hex.Decode(val[i:i+1], []byte(p[:2])); err != nil {
			return Fingerprint{}, fmt.Errorf("a=fingerprint: invalid hex %q", trunc(p[:2]))
		}
	}
	return Fingerprint{Hash: hash, Value: val}, nil
}

// DTLSCertificate is our side's self-signed DTLS certificate, made per
// call (RFC 5763 §5: self-signed; the fingerprint in SDP, not a CA,
// vouches for it). A fresh key per call means two calls cannot be
// linked by the certificate.
type DTLSCertificate struct {
	cert tls.Certificate
	fp   Fingerprint
}

// NewDTLSCertificate makes an ECDSA P-256 key and a self-signed
// certificate valid from an hour ago (clock skew) for 30 days.
func NewDTLSCertificate() (*DTLSCertificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "cusax"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	fp, _ := CertFingerprint("sha-256", der)
	return &DTLSCertificate{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, fp: fp}, nil
}

// Fingerprint is the sha-256 fingerprint for our a=fingerprint line.
func (c *DTLSCertificate) Fingerprint() Fingerprint { return c.fp }

// checkFingerprint is RFC 5763 §5: the peer's end-entity certificate
// must match one of the fingerprints from its SDP.
func checkFingerprint(raw [][]byte, fps []Fingerprint) error {
	if len(raw) == 0 {
		return fmt.Errorf("no certificate: %w", ErrFingerprintMismatch)
	}
	for _, fp := range fps {
		if fp.Matches(raw[0]) {
			return nil
		}
	}
	return ErrFingerprintMismatch
}
