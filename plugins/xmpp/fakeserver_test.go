package xmpp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Tests against a scripted in-process server, for what Prosody cannot be
// made to do: present a wrong or expired certificate, refuse STARTTLS with
// <failure/>, or end negotiation without authentication.

const (
	fakeStreamHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
		`xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.test' version='1.0'>`
	fakeStartTLSOffer = `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`
	fakeProceed       = `<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`
)

type testPKI struct {
	caPEM []byte
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake test CA"},
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
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca: ca, key: key}
}

func (p *testPKI) leaf(t *testing.T, names []string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// fakeConn is the server side of one connection, with everything the
// client sent recorded.
type fakeConn struct {
	t    *testing.T
	conn net.Conn
	mu   sync.Mutex
	got  bytes.Buffer // all bytes received (decrypted after STARTTLS)
	seen int          // offset up to which expect has matched
}

// expect reads until the client has sent sub (after what earlier expects
// matched); false on error or timeout.
func (c *fakeConn) expect(sub string) bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	for {
		c.mu.Lock()
		rest := c.got.Bytes()[c.seen:]
		if i := bytes.Index(rest, []byte(sub)); i >= 0 {
			c.seen += i + len(sub)
			c.mu.Unlock()
			return true
		}
		c.mu.Unlock()
		n, err := c.conn.Read(buf)
		c.mu.Lock()
		c.got.Write(buf[:n])
		c.mu.Unlock()
		if err != nil {
			return false
		}
	}
}

func (c *fakeConn) send(s string) { _, _ = c.conn.Write([]byte(s)) }

func (c *fakeConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.got.Bytes())
}

// startTLS upgrades the connection; false when the handshake failed (the
// client refused the certificate).
func (c *fakeConn) startTLS(cert tls.Certificate) bool {
	tc := tls.Server(c.conn, &tls.Config{Certificates: []tls.Certificate{cert}})
	_ = tc.SetDeadline(time.Now().Add(3 * time.Second))
	c.conn = tc
	return tc.Handshake() == nil
}

// fakeServer serves script on every connection and returns its address
// and a function returning the connections seen so far.
func fakeServer(t *testing.T, script func(c *fakeConn)) (string, func() []*fakeConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []*fakeConn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := &fakeConn{t: t, conn: nc}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				script(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), func() []*fakeConn {
		mu.Lock()
		defer mu.Unlock()
		return slicesClone(conns)
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// startTLSScript offers STARTTLS, says <proceed/> and handshakes with cert;
// then runs after (if the handshake worked).
func startTLSScript(cert tls.Certificate, after func(c *fakeConn)) func(c *fakeConn) {
	return func(c *fakeConn) {
		if !c.expect("<stream:stream") {
			return
		}
		c.send(fakeStreamHeader + fakeStartTLSOffer)
		if !c.expect("<starttls") {
			return
		}
		c.send(fakeProceed)
		if c.startTLS(cert) && after != nil {
			after(c)
		}
	}
}

func fakeConnect(t *testing.T, addr string, pki *testPKI, modify func(*protocol.ConnectRequest)) error {
	t.Helper()
	req := protocol.ConnectRequest{
		Address: "alice@example.test", Password: "secret-pw", Server: addr,
		CAPEM: pki.caPEM, Timeout: 3 * time.Second,
	}
	if modify != nil {
		modify(&req)
	}
	s, err := New(testLogger(t)).Connect(context.Background(), req)
	if err == nil {
		_ = s.Close(context.Background())
		return errors.New("Connect succeeded")
	}
	t.Log(err)
	return err
}

func assertNoAuth(t *testing.T, conns []*fakeConn) {
	t.Helper()
	for _, c := range conns {
		if got := c.received(); bytes.Contains(got, []byte("<auth")) || bytes.Contains(got, []byte("secret-pw")) {
			t.Errorf("client sent credentials: %s", got)
		}
	}
}

func TestFakeCertificateFailures(t *testing.T) {
	pki := newPKI(t)
	now := time.Now()
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		text string
	}{
		{"name mismatch", pki.leaf(t, []string{"wrong.test"}, now.Add(-time.Hour), now.Add(time.Hour)),
			"not valid for XMPP domain example.test"},
		{"expired", pki.leaf(t, []string{"example.test"}, now.Add(-2*time.Hour), now.Add(-time.Hour)), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, conns := fakeServer(t, startTLSScript(tc.cert, nil))
			err := fakeConnect(t, addr, pki, nil)
			if !errors.Is(err, protocol.ErrCertificate) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v, want ErrCertificate saying %q", err, tc.text)
			}
			assertNoAuth(t, conns())
		})
	}
}

func TestFakeStartTLSFailure(t *testing.T) {
	pki := newPKI(t)
	addr, conns := fakeServer(t, func(c *fakeConn) {
		if !c.expect("<stream:stream") {
			return
		}
		// Mechanisms offered in the clear, no STARTTLS: the client must
		// still try it (RFC 7590 §3.1) and stop at <failure/>.
		c.send(fakeStreamHeader + `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` +
			`<mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
		if !c.expect("<starttls") {
			return
		}
		c.send(`<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>`)
		c.expect("</stream:stream>")
	})
	err := fakeConnect(t, addr, pki, nil)
	if !errors.Is(err, protocol.ErrInsecure) {
		t.Errorf("err = %v, want ErrInsecure", err)
	}
	assertNoAuth(t, conns())
}

// mellium ends negotiation "ready" on an empty feature list; that must not
// pass for a login.
func TestFakeNoAuthentication(t *testing.T) {
	pki := newPKI(t)
	cert := pki.leaf(t, []string{"example.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	addr, _ := fakeServer(t, startTLSScript(cert, func(c *fakeConn) {
		if !c.expect("<stream:stream") {
			return
		}
		c.send(fakeStreamHeader + `<stream:features/>`)
		c.expect("</stream:stream>")
	}))
	err := fakeConnect(t, addr, pki, nil)
	if !errors.Is(err, protocol.ErrProtocol) || !strings.Contains(err.Error(), "without authentication") {
		t.Errorf("err = %v, want ErrProtocol without authentication", err)
	}
}

// After TLS, the server offers only mechanisms the client does not allow.
func TestFakeNoCommonMechanism(t *testing.T) {
	pki := newPKI(t)
	cert := pki.leaf(t, []string{"example.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	addr, conns := fakeServer(t, startTLSScript(cert, func(c *fakeConn) {
		if !c.expect("<stream:stream") {
			return
		}
		c.send(fakeStreamHeader + `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` +
			`<mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
		c.expect("</stream:stream>")
	}))
	err := fakeConnect(t, addr, pki, func(r *protocol.ConnectRequest) { r.Mechanisms = []string{"SCRAM-SHA-256"} })
	if !errors.Is(err, protocol.ErrProtocol) || !strings.Contains(err.Error(), "no common SASL mechanism") {
		t.Errorf("err = %v, want ErrProtocol no common mechanism", err)
	}
	assertNoAuth(t, conns())
}

func TestFakeServerHangsUp(t *testing.T) {
	pki := newPKI(t)
	addr, _ := fakeServer(t, func(c *fakeConn) {})
	err := fakeConnect(t, addr, pki, nil)
	if !errors.Is(err, protocol.ErrUnreachable) {
		t.Errorf("err = %v, want ErrUnreachable", err)
	}
}
