package certid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
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
	return &ca{c, key, pool}
}

type leafSpec struct {
	dns      []string
	uris     []string
	ips      []string
	srv      []string
	xmpp     []string
	notAfter time.Time
}

// otherNameSAN builds a subjectAltName extension by hand: crypto/x509
// cannot write otherName entries.
func otherNameSAN(s leafSpec) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, d := range s.dns {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(d)) })
		}
		for _, u := range s.uris {
			b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
		}
		add := func(oid asn1.ObjectIdentifier, tag cbasn1.Tag, v string) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
				})
			})
		}
		for _, v := range s.srv {
			add(oidSRVName, cbasn1.IA5String, v)
		}
		for _, v := range s.xmpp {
			add(oidXMPPAddr, cbasn1.UTF8String, v)
		}
	})
	return pkix.Extension{Id: oidSubjectAltName, Value: b.BytesOrPanic()}
}

func (c *ca) leaf(t *testing.T, s leafSpec) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(time.Now().UnixNano()),
		Subject:         pkix.Name{CommonName: "leaf"},
		NotBefore:       time.Now().Add(-2 * time.Hour),
		NotAfter:        s.notAfter,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{otherNameSAN(s)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestVerifyChain(t *testing.T) {
	good := newCA(t)
	other := newCA(t)
	tests := []struct {
		name    string
		svc     Service
		spec    leafSpec
		signer  *ca
		domain  string
		altHost string
		method  string // want verified with this method; "" = want failure
		errHas  string
	}{
		{name: "xmpp dns-id", svc: XMPPClient, spec: leafSpec{dns: []string{"example.test"}}, domain: "example.test", method: "pkix dns-id example.test"},
		{name: "xmpp dns-id case and trailing dot", svc: XMPPClient, spec: leafSpec{dns: []string{"Example.TEST"}}, domain: "example.test.", method: "pkix dns-id example.test"},
		{name: "xmpp wildcard dns-id", svc: XMPPClient, spec: leafSpec{dns: []string{"*.example.test"}}, domain: "chat.example.test", method: "pkix dns-id chat.example.test"},
		{name: "xmpp wildcard does not match apex", svc: XMPPClient, spec: leafSpec{dns: []string{"*.example.test"}}, domain: "example.test", errHas: "not valid for XMPP domain example.test"},
		{name: "xmpp srv-id only", svc: XMPPClient, spec: leafSpec{srv: []string{"_xmpp-client.example.test"}}, domain: "example.test", method: "pkix srv-id _xmpp-client.example.test"},
		{name: "xmpp srv-id for server-to-server is not enough", svc: XMPPClient, spec: leafSpec{srv: []string{"_xmpp-server.example.test"}}, domain: "example.test", errHas: "SRV:_xmpp-server.example.test"},
		{name: "xmpp xmppaddr only", svc: XMPPClient, spec: leafSpec{xmpp: []string{"example.test"}}, domain: "example.test", method: "pkix xmppaddr example.test"},
		{name: "xmpp wrong name", svc: XMPPClient, spec: leafSpec{dns: []string{"evil.test"}}, domain: "example.test", errHas: "it names DNS:evil.test"},
		{name: "xmpp unknown CA", svc: XMPPClient, spec: leafSpec{dns: []string{"example.test"}}, signer: other, domain: "example.test", errHas: "unknown authority"},
		{name: "xmpp expired", svc: XMPPClient, spec: leafSpec{dns: []string{"example.test"}, notAfter: time.Now().Add(-time.Minute)}, domain: "example.test", errHas: "certificate expired on"},
		{name: "sip uri", svc: SIP, spec: leafSpec{uris: []string{"sip:example.test"}, dns: []string{"proxy.example.test"}}, domain: "example.test", method: "pkix sip-uri sip:example.test"},
		{name: "sip uri with user is not a domain identity", svc: SIP, spec: leafSpec{uris: []string{"sip:alice@example.test"}}, domain: "example.test", errHas: "not valid for SIP domain"},
		{name: "sips uri is not accepted", svc: SIP, spec: leafSpec{uris: []string{"sips:example.test"}}, domain: "example.test", errHas: "not valid for SIP domain"},
		{name: "sip dns-id fallback", svc: SIP, spec: leafSpec{dns: []string{"example.test"}}, domain: "example.test", method: "pkix dns-id example.test"},
		{name: "sip wildcard never matches", svc: SIP, spec: leafSpec{dns: []string{"*.example.test"}}, domain: "sip.example.test", errHas: "not valid for SIP domain"},
		{name: "sip proxy host name accepted", svc: SIP, spec: leafSpec{dns: []string{"proxy.example.test"}}, domain: "example.test", altHost: "proxy.example.test", method: "pkix dns-id proxy.example.test"},
		{name: "sip proxy IP is not an identity", svc: SIP, spec: leafSpec{ips: nil, dns: []string{"other.test"}}, domain: "example.test", altHost: "127.0.0.1", errHas: "not valid for SIP domain example.test (it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := good
			if tt.signer != nil {
				signer = tt.signer
			}
			leaf := signer.leaf(t, tt.spec)
			v := VerifyChain(tt.svc, []*x509.Certificate{leaf}, tt.domain, tt.altHost, PoolTrust(good.pool), time.Now())
			if tt.method != "" {
				if !v.Verified || v.Method != tt.method {
					t.Fatalf("got verified=%v method=%q err=%v, want %q", v.Verified, v.Method, v.Err, tt.method)
				}
				return
			}
			if v.Verified || v.Err == nil {
				t.Fatalf("verified %q, want failure", v.Method)
			}
			if !errors.Is(v.Err, protocol.ErrCertificate) {
				t.Errorf("error %v does not wrap ErrCertificate", v.Err)
			}
			if !strings.Contains(v.Err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", v.Err, tt.errHas)
			}
		})
	}
}

func TestDescribeOtherNames(t *testing.T) {
	c := newCA(t).leaf(t, leafSpec{dns: []string{"a.test"}, srv: []string{"_xmpp-client.a.test"}, xmpp: []string{"a.test"}, uris: []string{"sip:a.test"}})
	info := Describe(c)
	if len(info.SRVNames) != 1 || len(info.XMPPAddrs) != 1 || len(info.URIs) != 1 || info.KeyAlgorithm != "ECDSA P-256" || len(info.SHA256) != 64 {
		t.Fatalf("unexpected %+v", info)
	}
}

// TestHandshake proves the tls.Config aborts the handshake on failure and
// records the verification on success, over a real TLS connection.
func TestHandshake(t *testing.T) {
	good := newCA(t)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: []string{"example.test"},
		URIs: []*url.URL{{Scheme: "sip", Opaque: "example.test"}}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, good.cert, &leafKey.PublicKey, good.key)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: leafKey}}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for _, tc := range []struct {
		name   string
		cfg    func(*Verification) *tls.Config
		wantOK bool
	}{
		{"xmpp right domain via IP", func(v *Verification) *tls.Config { return XMPPClientConfig("example.test", PoolTrust(good.pool), v) }, true},
		{"xmpp wrong domain", func(v *Verification) *tls.Config { return XMPPClientConfig("other.test", PoolTrust(good.pool), v) }, false},
		{"sip right domain", func(v *Verification) *tls.Config {
			return SIPClientConfig("example.test", "127.0.0.1", PoolTrust(good.pool), v)
		}, true},
		{"sip unknown CA", func(v *Verification) *tls.Config {
			return SIPClientConfig("example.test", "", PoolTrust(newCA(t).pool), v)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v Verification
			c, err := tls.Dial("tcp", ln.Addr().String(), tc.cfg(&v))
			if c != nil {
				c.Close()
			}
			if tc.wantOK != (err == nil) || tc.wantOK != v.Verified {
				t.Fatalf("dial err=%v verified=%v method=%q verr=%v", err, v.Verified, v.Method, v.Err)
			}
		})
	}
}

func FuzzOtherNames(f *testing.F) {
	f.Add(otherNameSAN(leafSpec{dns: []string{"a"}, srv: []string{"_xmpp-client.a"}, xmpp: []string{"a"}}).Value)
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, san []byte) {
		c := &x509.Certificate{Extensions: []pkix.Extension{{Id: oidSubjectAltName, Value: san}}}
		_, _ = otherNames(c)
	})
}
