package testbed

// Deliberately weak endpoints for `cusax audit-tls` tests (issue 6): a
// throwaway CA whose certificates can be expired, for the wrong name,
// self-signed or carry only an SRV-ID, a direct TLS server, and a minimal
// XMPP STARTTLS responder. They are Go servers on loopback, so each test
// changes exactly one property and nothing else differs.

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// WeakCA is a throwaway certificate authority for weak endpoints. Unlike
// the bed's CA it issues whatever a test asks for, including certificates
// no client should accept.
type WeakCA struct {
	Cert *x509.Certificate
	PEM  []byte // the CA certificate, PEM
	key  *ecdsa.PrivateKey
}

// NewWeakCA makes a CA valid from a year ago to a year from now, so that
// leaves can be backdated (expired) without the CA itself being at fault.
func NewWeakCA() (*WeakCA, error) {
	now := time.Now()
	c, err := newCAValid("weak", now.Add(-365*24*time.Hour), now.Add(365*24*time.Hour))
	if err != nil {
		return nil, err
	}
	return &WeakCA{Cert: c.cert, PEM: c.certPEM, key: c.key}, nil
}

// WeakCertSpec describes a leaf certificate.
type WeakCertSpec struct {
	// DNSNames are dNSName entries (DNS-IDs); the first is also the CN.
	DNSNames []string
	// SRVNames are otherName SRVName entries (RFC 4985), such as
	// "_xmpp-client.example.test" (an SRV-ID, RFC 6120 §13.7.1.2.1).
	SRVNames []string
	// IPs are iPAddress entries (IP-IDs), for servers reached as
	// https://127.0.0.1:port/ (RFC 2818 §3.1).
	IPs []net.IP
	// NotBefore and NotAfter default to an hour ago and 90 days from now:
	// well outside BCP 195 profiles' expiry windows and lifetime limits.
	NotBefore, NotAfter time.Time
	// SelfSigned signs the leaf with its own key instead of the CA's.
	SelfSigned bool
}

// Issue makes a leaf (ECDSA P-256, serverAuth) ready for tls.Config.
func (ca *WeakCA) Issue(spec WeakCertSpec) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	sn, err := serial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	if spec.NotBefore.IsZero() {
		spec.NotBefore = now.Add(-time.Hour)
	}
	if spec.NotAfter.IsZero() {
		spec.NotAfter = now.Add(90 * 24 * time.Hour)
	}
	cn := "cusax weak leaf"
	switch {
	case len(spec.DNSNames) > 0:
		cn = spec.DNSNames[0]
	case len(spec.IPs) > 0:
		cn = spec.IPs[0].String()
	}
	san, err := weakSAN(spec)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    sn,
		Subject:         pkix.Name{CommonName: cn, Organization: []string{"cusax test bed"}},
		NotBefore:       spec.NotBefore,
		NotAfter:        spec.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ExtraExtensions: []pkix.Extension{san},
	}
	parent, signer := ca.Cert, crypto.Signer(ca.key)
	if spec.SelfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// weakSAN writes the subjectAltName by hand: crypto/x509 cannot write
// otherName entries (RFC 4985 SRVName, id-on-dnsSRV 1.3.6.1.5.5.7.8.7).
func weakSAN(s WeakCertSpec) (pkix.Extension, error) {
	if len(s.DNSNames)+len(s.SRVNames)+len(s.IPs) == 0 {
		return pkix.Extension{}, errors.New("weak certificate: no DNS, SRV or IP name")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, d := range s.DNSNames {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(d)) })
		}
		for _, v := range s.SRVNames {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 7})
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(v)) })
				})
			})
		}
		for _, ip := range s.IPs {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(ip) })
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("weak certificate: subjectAltName: %w", err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: der}, nil
}

// WriteWeakCAFile writes the PEM of every CA given, concatenated, to a new
// file in dir and returns its path: an account's ca_file that trusts both
// the bed's CA and a WeakCA.
func WriteWeakCAFile(dir string, pems ...[]byte) (string, error) {
	f, err := os.CreateTemp(dir, "weak-ca-*.pem")
	if err != nil {
		return "", err
	}
	for _, p := range pems {
		if _, err := f.Write(p); err != nil {
			f.Close()
			return "", err
		}
	}
	return f.Name(), f.Close()
}

// StrongTLSConfig is a TLS 1.2–1.3 server configuration with ECDHE AEAD
// suites only and no session tickets: nothing a BCP 195 audit finds fault
// with. Weak endpoints start from it and change one thing.
func StrongTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		SessionTicketsDisabled: true,
	}
}

// weakListen serves each connection with handle on loopback until the
// test ends; each connection gets a 10 s deadline.
func weakListen(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testbed: weak endpoint listen: %v", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}

// ServeWeakTLS starts a direct TLS server on loopback and returns its
// address: a SIP-over-TLS endpoint as far as a TLS audit can tell. After
// the handshake it answers every SIP request with a 401 carrying one
// SHA-256 digest challenge with qop=auth (RFC 8760), what the bed's
// Kamailio sends, so that only the TLS property a test changes differs
// from a clean SIP server. It stops when the test ends.
func ServeWeakTLS(tb testing.TB, cfg *tls.Config) string {
	tb.Helper()
	return weakListen(tb, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		serveSIPChallenges(tc)
	})
}

// serveSIPChallenges answers every SIP request on tc with weakChallenge.
func serveSIPChallenges(tc *tls.Conn) {
	br := bufio.NewReader(tc)
	for {
		req, ok := readSIPHeaders(br)
		if !ok {
			return
		}
		if _, err := io.WriteString(tc, weakChallenge(req)); err != nil {
			return
		}
	}
}

// readSIPHeaders reads one request's header lines (a body is not
// expected: the auditor's REGISTER has none).
func readSIPHeaders(br *bufio.Reader) ([]string, bool) {
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, false
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(lines) == 0 {
				continue
			}
			return lines, true
		}
		lines = append(lines, line)
	}
}

// weakChallenge is the 401 to a request: Via, From, To, Call-ID and CSeq
// copied (RFC 3261 §8.2.6.2), a To tag added.
func weakChallenge(req []string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 401 Unauthorized\r\n")
	for _, l := range req[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.WriteString(l + "\r\n")
		case "to", "t":
			b.WriteString(l + ";tag=weak\r\n")
		}
	}
	b.WriteString(`WWW-Authenticate: Digest realm="example.test", nonce="` + fmt.Sprint(time.Now().UnixNano()) +
		`", algorithm=SHA-256, qop="auth"` + "\r\nContent-Length: 0\r\n\r\n")
	return b.String()
}

// WeakXMPP is just enough of an XMPP c2s server for a TLS audit: stream
// header, features, <starttls/> → <proceed/>, the TLS handshake, and the
// features of the restarted stream (RFC 6120 §5.4, §9.1). It never
// authenticates anyone.
type WeakXMPP struct {
	Domain string      // the stream's from; default "example.test"
	TLS    *tls.Config // the server side of STARTTLS
	// AdvertiseStartTLS lists <starttls/> in the first features, with
	// <required/> when RequireStartTLS. <starttls/> is accepted either way.
	AdvertiseStartTLS, RequireStartTLS bool
	// PreTLS and PostTLS are the SASL mechanisms before and after TLS.
	PreTLS, PostTLS []string
	// Legacy makes the server after <proceed/> answer SSL 3.0 or DEFLATE
	// ClientHellos (see LegacyTLS).
	Legacy LegacyTLS
}

// Serve starts the responder on loopback and returns its address. It
// stops when the test ends.
func (x WeakXMPP) Serve(tb testing.TB) string {
	tb.Helper()
	if x.Domain == "" {
		x.Domain = "example.test"
	}
	return weakListen(tb, x.handle)
}

func (x WeakXMPP) header() string {
	return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='" +
		x.Domain + "' id='" + randomHex(8) + "' version='1.0'>"
}

func weakMechanisms(m []string) string {
	if len(m) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>")
	for _, v := range m {
		sb.WriteString("<mechanism>" + v + "</mechanism>")
	}
	return sb.String() + "</mechanisms>"
}

func (x WeakXMPP) handle(c net.Conn) {
	if !readStreamHeader(c) {
		return
	}
	feat := "<stream:features>"
	if x.AdvertiseStartTLS {
		feat += "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
		if x.RequireStartTLS {
			feat += "<required/>"
		}
		feat += "</starttls>"
	}
	feat += weakMechanisms(x.PreTLS) + "</stream:features>"
	if _, err := io.WriteString(c, x.header()+feat); err != nil {
		return
	}
	if _, ok := weakReadUntil(c, "urn:ietf:params:xml:ns:xmpp-tls'/>", "urn:ietf:params:xml:ns:xmpp-tls\"/>"); !ok {
		return
	}
	if _, err := io.WriteString(c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); err != nil {
		return
	}
	tc := x.Legacy.Serve(c, x.TLS)
	if tc == nil {
		return
	}
	if !readStreamHeader(tc) {
		return
	}
	_, _ = io.WriteString(tc, x.header()+"<stream:features>"+weakMechanisms(x.PostTLS)+"</stream:features>")
	_, _ = io.Copy(io.Discard, tc)
}

// readStreamHeader reads a client's stream header (up to and including
// the '>' that ends <stream:stream …>).
func readStreamHeader(r io.Reader) bool {
	s, ok := weakReadUntil(r, "version='1.0'>", "version=\"1.0\">")
	return ok && strings.Contains(s, "stream:stream")
}

// weakReadUntil reads one byte at a time, so nothing of a following TLS
// handshake is consumed, until the bytes read end with one of suffixes.
func weakReadUntil(r io.Reader, suffixes ...string) (string, bool) {
	var sb strings.Builder
	b := make([]byte, 1)
	for sb.Len() < 4096 {
		if _, err := io.ReadFull(r, b); err != nil {
			return sb.String(), false
		}
		sb.WriteByte(b[0])
		for _, s := range suffixes {
			if strings.HasSuffix(sb.String(), s) {
				return sb.String(), true
			}
		}
	}
	return sb.String(), false
}
