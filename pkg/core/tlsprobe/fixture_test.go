package tlsprobe

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// One RSA key for every test leaf: RSA suites (static RSA, ECDHE_RSA, RC4,
// 3DES) need an RSA certificate, and generating one per test is slow.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tlsprobe test CA"},
		NotBefore:             time.Now().Add(-48 * time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &testCA{c, key, pool}
}

type leafSpec struct {
	dns, uris, srv []string
	notBefore      time.Time
	notAfter       time.Time
	selfSigned     bool
}

// sanExtension writes the subjectAltName by hand: crypto/x509 cannot
// write otherName (SRVName, RFC 4985) entries.
func sanExtension(s leafSpec) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, d := range s.dns {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(d)) })
		}
		for _, u := range s.uris {
			b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
		}
		for _, v := range s.srv {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 7})
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
				})
			})
		}
	})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: b.BytesOrPanic()}
}

func (ca *testCA) leaf(t *testing.T, s leafSpec) tls.Certificate {
	t.Helper()
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		Subject:         pkix.Name{CommonName: "tlsprobe test leaf"},
		NotBefore:       s.notBefore,
		NotAfter:        s.notAfter,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtraExtensions: []pkix.Extension{sanExtension(s)},
	}
	key := rsaKey()
	parent, signer := ca.cert, crypto.Signer(ca.key)
	if s.selfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// listen serves each connection with handle on loopback until the test
// ends.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// serveTLS is a direct TLS server: handshake, then drain until the client
// closes.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	return listen(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		_, _ = io.Copy(io.Discard, tc)
	})
}

// xmppServer is just enough of an XMPP server for the STARTTLS dialog.
type xmppServer struct {
	advertise bool     // list <starttls/> in the features
	required  bool     // with <required/>
	refuse    bool     // answer <starttls/> with <failure/>
	preTLS    []string // SASL mechanisms before TLS
	postTLS   []string // SASL mechanisms after TLS
	tls       *tls.Config
}

func mechanisms(m []string) string {
	if len(m) == 0 {
		return ""
	}
	s := "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	for _, v := range m {
		s += "<mechanism>" + v + "</mechanism>"
	}
	return s + "</mechanisms>"
}

const testStreamHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='example.test' id='s1' version='1.0'>"

// readUntil reads one byte at a time (so nothing of the TLS handshake is
// consumed) until the bytes read end with suffix.
func readUntil(r io.Reader, suffix string) (string, bool) {
	var sb strings.Builder
	b := make([]byte, 1)
	for sb.Len() < 4096 {
		if _, err := io.ReadFull(r, b); err != nil {
			return sb.String(), false
		}
		sb.WriteByte(b[0])
		if strings.HasSuffix(sb.String(), suffix) {
			return sb.String(), true
		}
	}
	return sb.String(), false
}

func (x xmppServer) serve(t *testing.T) string {
	return listen(t, func(c net.Conn) {
		if _, ok := readUntil(c, "version='1.0'>"); !ok {
			return
		}
		feat := "<stream:features>"
		if x.advertise {
			feat += "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
			if x.required {
				feat += "<required/>"
			}
			feat += "</starttls>"
		}
		feat += mechanisms(x.preTLS) + "</stream:features>"
		if _, err := io.WriteString(c, testStreamHeader+feat); err != nil {
			return
		}
		if _, ok := readUntil(c, "xmpp-tls'/>"); !ok {
			return
		}
		if x.refuse {
			_, _ = io.WriteString(c, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
			return
		}
		if _, err := io.WriteString(c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); err != nil {
			return
		}
		tc := tls.Server(c, x.tls)
		if tc.Handshake() != nil {
			return
		}
		if _, ok := readUntil(tc, "version='1.0'>"); !ok {
			return
		}
		feat = "<stream:features>" + mechanisms(x.postTLS) +
			"<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding></stream:features>"
		_, _ = io.WriteString(tc, testStreamHeader+feat)
		_, _ = io.Copy(io.Discard, tc)
	})
}
