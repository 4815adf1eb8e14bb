package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
)

// fakeRegistrar is an in-process sipgo registrar whose answers a test
// scripts, for the cases Kamailio cannot be made to produce (several
// challenges, stale nonces, 423, odd bindings) and for TLS identities.
type fakeRegistrar struct {
	t    *testing.T
	addr string // host:port it listens on

	mu      sync.Mutex
	reqs    []*gosip.Request
	respond func(n int, req *gosip.Request) *gosip.Response
}

// startRegistrar serves UDP, or TLS with cert when cert is non-nil.
func startRegistrar(t *testing.T, cert *tls.Certificate, respond func(n int, req *gosip.Request) *gosip.Response) *fakeRegistrar {
	t.Helper()
	f := &fakeRegistrar{t: t, respond: respond}
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(newSlogLogger(testLogger(t).Named("registrar")))))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *gosip.Request, tx gosip.ServerTransaction) {
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, req.Clone())
		respond := f.respond
		f.mu.Unlock()
		if res := respond(n, req); res != nil {
			_ = tx.Respond(res)
		}
	})
	if cert == nil {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f.addr = pc.LocalAddr().String()
		go func() { _ = srv.ServeUDP(pc) }()
		t.Cleanup(func() { pc.Close() })
	} else {
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
		if err != nil {
			t.Fatal(err)
		}
		f.addr = l.Addr().String()
		go func() { _ = srv.ServeTLS(l) }()
		t.Cleanup(func() { l.Close() })
	}
	t.Cleanup(func() { _ = ua.Close() })
	return f
}

func (f *fakeRegistrar) requests() []*gosip.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*gosip.Request(nil), f.reqs...)
}

// ok answers 200 listing the request's Contact with the given expiry.
func ok(req *gosip.Request, expires int, extra ...gosip.Header) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	if c := req.Contact(); c != nil && expires > 0 {
		cc := c.Clone()
		cc.Params = gosip.NewParams()
		cc.Params.Add("expires", strconv.Itoa(expires))
		res.AppendHeader(cc)
	}
	for _, h := range extra {
		res.AppendHeader(h)
	}
	return res
}

func challengeRes(req *gosip.Request, code int, header string, values ...string) *gosip.Response {
	reason := "Unauthorized"
	if code == 407 {
		reason = "Proxy Authentication Required"
	}
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	for _, v := range values {
		res.AppendHeader(gosip.NewHeader(header, v))
	}
	return res
}

func status(req *gosip.Request, code int, reason string, extra ...gosip.Header) *gosip.Response {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range extra {
		res.AppendHeader(h)
	}
	return res
}

// validAuth checks the credentials in header of req against the challenge
// chal and password, as a registrar would.
func validAuth(t *testing.T, req *gosip.Request, header, chal, user, password string) *digest.Credentials {
	t.Helper()
	h := req.GetHeader(header)
	if h == nil {
		t.Fatalf("no %s header in\n%s", header, req)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		t.Fatalf("%s: %v", header, err)
	}
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	want, err := digest.Digest(c, digest.Options{
		Method: string(req.Method), URI: cred.URI, Username: user, Password: password,
		Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cred.Username != user || cred.Response != want.Response || cred.URI != req.Recipient.String() {
		t.Fatalf("%s does not verify: user %q uri %q (request %q)", header, cred.Username, cred.URI, req.Recipient.String())
	}
	return cred
}

// testCA is a throwaway CA for TLS identity tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cusax sip test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) issue(t *testing.T, dnsNames, uris []string, notAfter time.Time) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var us []*url.URL
	for _, u := range uris {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		us = append(us, p)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "sip test server"},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: dnsNames, URIs: us,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// registerVia connects alice@example.test through server and registers.
func registerVia(t *testing.T, server string, ca []byte, opts map[string]string) (*session, protocol.ConnectionReport, error) {
	t.Helper()
	s, err := New(testLogger(t)).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@example.test", Password: "secret", Server: server, CAPEM: ca,
		Options: opts, Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	rep, err := s.Register(context.Background(), protocol.RegisterRequest{})
	return s.(*session), rep, err
}
