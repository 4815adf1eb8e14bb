package tlsprobe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

const (
	ecdheRSAAES128CBC = tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
	ecdheRSAAES128GCM = tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	ecdheRSAChaCha    = tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
)

func probe(t *testing.T, ep Endpoint, opts Options) Result {
	t.Helper()
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 3 * time.Second
	}
	res, err := Probe(context.Background(), ep, opts)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if !res.Complete {
		t.Fatal("result not complete")
	}
	return res
}

// sipEndpoint probes a direct TLS server as a SIP endpoint of example.test
// (no application dialog after the handshake).
func sipEndpoint(addr string) Endpoint {
	return Endpoint{Addr: addr, ServerName: "example.test", Mode: ModeTLS}
}

func acceptedVersions(r Result) []string {
	var out []string
	for _, v := range r.Versions {
		if v.Accepted {
			out = append(out, v.Version)
		}
	}
	return out
}

func TestTLSParameters(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.leaf(t, leafSpec{dns: []string{"example.test"}})
	base := func() *tls.Config { return &tls.Config{Certificates: []tls.Certificate{cert}} }

	legacy := base()
	legacy.MinVersion, legacy.MaxVersion = tls.VersionTLS10, tls.VersionTLS12
	legacy.CipherSuites = []uint16{ecdheRSAAES128CBC, ecdheRSAAES128GCM,
		tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}

	tls13 := base()
	tls13.MinVersion = tls.VersionTLS13

	// crypto/tls servers apply their own fixed order; to prefer CBC, the
	// server narrows its suites to CBC whenever the client offers it.
	weakCBC := base()
	weakCBC.MinVersion, weakCBC.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	weakCBC.CipherSuites = []uint16{ecdheRSAAES128CBC, ecdheRSAAES128GCM, ecdheRSAChaCha}
	weakCBC.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		c := weakCBC.Clone()
		c.GetConfigForClient = nil
		if slices.Contains(hi.CipherSuites, ecdheRSAAES128CBC) {
			c.CipherSuites = []uint16{ecdheRSAAES128CBC}
		}
		return c, nil
	}

	// A server that takes the client's first suite it supports.
	clientOrder := base()
	clientOrder.MinVersion, clientOrder.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	clientOrder.CipherSuites = []uint16{ecdheRSAAES128CBC, ecdheRSAAES128GCM}
	clientOrder.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		c := clientOrder.Clone()
		c.GetConfigForClient = nil
		for _, s := range hi.CipherSuites {
			if slices.Contains(clientOrder.CipherSuites, s) {
				c.CipherSuites = []uint16{s}
				break
			}
		}
		return c, nil
	}

	tests := []struct {
		name       string
		cfg        *tls.Config
		negotiated string // version
		negSuite   string // "" = not checked (TLS 1.3: hardware dependent)
		versions   []string
		suites     []string // accepted, in probe order; nil = scan skipped
		order      string   // preference; "" = none
		preferred  string
		tls12      bool
	}{
		{
			name: "tls 1.0 and 1.1 allowed, rc4 3des static rsa", cfg: legacy,
			negotiated: "TLS 1.2", negSuite: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
			versions: []string{"TLS 1.0", "TLS 1.1", "TLS 1.2"},
			suites: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
				"TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"},
			order: "server", preferred: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", tls12: true,
		},
		{
			name: "tls 1.3 only", cfg: tls13, negotiated: "TLS 1.3",
			versions: []string{"TLS 1.3"},
		},
		{
			name: "server prefers weak cbc", cfg: weakCBC,
			negotiated: "TLS 1.2", negSuite: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
			versions: []string{"TLS 1.2"},
			suites: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
				"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
			order: "server", preferred: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", tls12: true,
		},
		{
			name: "server follows client order", cfg: clientOrder,
			negotiated: "TLS 1.2", versions: []string{"TLS 1.2"},
			suites: []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
			order:  "client", tls12: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := probe(t, sipEndpoint(serveTLS(t, tt.cfg)), Options{Roots: ca.pool})
			if r.XMPP != nil {
				t.Errorf("XMPP facts for a SIP endpoint: %+v", r.XMPP)
			}
			if r.Negotiated == nil || r.Negotiated.Version != tt.negotiated {
				t.Fatalf("negotiated %+v, want %s", r.Negotiated, tt.negotiated)
			}
			if tt.negSuite != "" && r.Negotiated.CipherSuite != tt.negSuite {
				t.Errorf("negotiated suite %s, want %s", r.Negotiated.CipherSuite, tt.negSuite)
			}
			if !r.Negotiated.ExporterAvailable {
				t.Error("exporter not available (TLS 1.3 or EMS expected)")
			}
			if got := acceptedVersions(r); !slices.Equal(got, tt.versions) {
				t.Errorf("versions %v, want %v", got, tt.versions)
			}
			for _, v := range r.Versions {
				if !v.Accepted && !strings.Contains(v.Evidence, "protocol version") {
					t.Errorf("%s refused with evidence %q", v.Version, v.Evidence)
				}
			}
			if tt.suites == nil {
				if r.Suites == nil || r.Suites.Skipped == "" || len(r.Suites.Probes) != 0 {
					t.Errorf("suite scan %+v, want skipped", r.Suites)
				}
			} else if got := r.Suites.Accepted(); !slices.Equal(got, tt.suites) {
				t.Errorf("accepted suites %v, want %v", got, tt.suites)
			}
			if r.Suites != nil && len(r.Suites.Probes) > 0 && len(r.Suites.Probes) != 22 {
				t.Errorf("%d suites probed, want the 22 TLS ≤ 1.2 suites of crypto/tls", len(r.Suites.Probes))
			}
			switch {
			case tt.order == "" && r.Preference != nil:
				t.Errorf("preference %+v, want none", r.Preference)
			case tt.order != "" && (r.Preference == nil || r.Preference.Order != tt.order):
				t.Errorf("preference %+v, want %s", r.Preference, tt.order)
			case tt.preferred != "" && (r.Preference.Preferred != tt.preferred || r.Preference.ChosenReversed != tt.preferred):
				t.Errorf("preferred %s / reversed %s, want %s", r.Preference.Preferred, r.Preference.ChosenReversed, tt.preferred)
			}
			if tt.order == "client" {
				p := r.Preference
				if p.Preferred != p.Offered[0] || p.ChosenReversed != p.OfferedReversed[0] || p.Preferred == p.ChosenReversed {
					t.Errorf("client order not shown: %s", p.Evidence)
				}
			}
			if !tt.tls12 {
				if r.TLS12 != nil {
					t.Errorf("TLS 1.2 facts %+v without TLS 1.2", r.TLS12)
				}
				return
			}
			// crypto/tls servers answer renegotiation_info and EMS, and
			// issue tickets with a lifetime hint of 0.
			h := r.TLS12
			if h == nil || h.Version != "TLS 1.2" || !h.SecureRenegotiation || !h.ExtendedMasterSecret ||
				!h.SessionTicket || !h.TicketIssued || h.TicketLifetimeHint != 0 || h.Compression != 0 {
				t.Errorf("TLS 1.2 facts %+v", h)
			}
		})
	}
}

func TestCertificate(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	tests := []struct {
		name      string
		spec      leafSpec
		sip       bool
		chainOK   bool
		chainErr  string
		identity  string // method; "" = no match
		idErr     string
		verified  bool
		verifyErr string
		sigAlg    string
	}{
		{name: "valid dns-id", spec: leafSpec{dns: []string{"example.test"}},
			chainOK: true, identity: "pkix dns-id example.test", verified: true},
		{name: "expired", spec: leafSpec{dns: []string{"example.test"}, notBefore: now.Add(-40 * time.Hour), notAfter: now.Add(-20 * time.Hour)},
			chainErr: "expired", identity: "pkix dns-id example.test", verifyErr: "certificate expired on"},
		{name: "wrong name", spec: leafSpec{dns: []string{"other.test"}},
			chainOK: true, idErr: "not valid for XMPP domain example.test (it names DNS:other.test)", verifyErr: "not valid for XMPP domain"},
		{name: "self-signed", spec: leafSpec{dns: []string{"example.test"}, selfSigned: true},
			chainErr: "unknown authority", identity: "pkix dns-id example.test", verifyErr: "unknown authority", sigAlg: "SHA256-RSA"},
		{name: "srv-id only is valid for xmpp c2s", spec: leafSpec{srv: []string{"_xmpp-client.example.test"}},
			chainOK: true, identity: "pkix srv-id _xmpp-client.example.test", verified: true},
		{name: "sip uri", sip: true, spec: leafSpec{uris: []string{"sip:example.test"}, dns: []string{"proxy.test"}},
			chainOK: true, identity: "pkix sip-uri sip:example.test", verified: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert := ca.leaf(t, tt.spec)
			cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
			var ep Endpoint
			if tt.sip {
				ep = sipEndpoint(serveTLS(t, cfg))
			} else {
				ep = Endpoint{Addr: xmppServer{advertise: true, tls: cfg}.serve(t), Mode: ModeXMPPStartTLS, XMPPDomain: "example.test"}
			}
			r := probe(t, ep, Options{Roots: ca.pool, Quick: true})
			if r.Connections != 1 || r.Versions != nil || r.Suites != nil {
				t.Errorf("quick probe made %d connections, versions %v, suites %v", r.Connections, r.Versions, r.Suites)
			}
			c := r.Certificate
			if c == nil {
				t.Fatal("no certificate facts")
			}
			sum := sha256.Sum256(cert.Certificate[0])
			if c.LeafSHA256 != hex.EncodeToString(sum[:]) || r.Negotiated.LeafSHA256 != c.LeafSHA256 {
				t.Errorf("leaf sha256 %s / %s, want %x", c.LeafSHA256, r.Negotiated.LeafSHA256, sum)
			}
			if len(c.ChainDER) != 1 || !bytes.Equal(c.ChainDER[0], cert.Certificate[0]) || len(c.Chain) != 1 {
				t.Errorf("chain of %d DER / %d described", len(c.ChainDER), len(c.Chain))
			}
			wantSig := "ECDSA-SHA256"
			if tt.sigAlg != "" {
				wantSig = tt.sigAlg
			}
			if c.KeyType != "RSA" || c.KeyBits != 2048 || c.SignatureAlgorithm != wantSig || len(c.LeafSPKISHA256) != 64 {
				t.Errorf("key %s %d sig %s spki %q", c.KeyType, c.KeyBits, c.SignatureAlgorithm, c.LeafSPKISHA256)
			}
			if !c.NotAfter.Equal(tt.spec.notAfter.Truncate(time.Second)) && !tt.spec.notAfter.IsZero() {
				t.Errorf("not after %v, want %v", c.NotAfter, tt.spec.notAfter)
			}
			wantSvc := ServiceXMPPClient
			if tt.sip {
				wantSvc = ServiceSIP
			}
			if c.Service != wantSvc || c.ReferenceIdentity != "example.test" {
				t.Errorf("identity checked for %s %s", c.Service, c.ReferenceIdentity)
			}
			if c.ChainVerified != tt.chainOK || !strings.Contains(c.ChainError, tt.chainErr) || (tt.chainOK && c.ChainError != "") {
				t.Errorf("chain verified=%v err=%q, want %v %q", c.ChainVerified, c.ChainError, tt.chainOK, tt.chainErr)
			}
			if c.IdentityMatched != (tt.identity != "") || c.IdentityMethod != tt.identity || !strings.Contains(c.IdentityError, tt.idErr) {
				t.Errorf("identity matched=%v method=%q err=%q, want %q %q", c.IdentityMatched, c.IdentityMethod, c.IdentityError, tt.identity, tt.idErr)
			}
			if c.Verified != tt.verified || !strings.Contains(c.VerifyError, tt.verifyErr) {
				t.Errorf("verified=%v err=%q, want %v %q", c.Verified, c.VerifyError, tt.verified, tt.verifyErr)
			}
			if tt.verified && c.AuthMethod != tt.identity {
				t.Errorf("auth method %q, want %q", c.AuthMethod, tt.identity)
			}
		})
	}
}

func TestXMPPStream(t *testing.T) {
	ca := newTestCA(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, leafSpec{dns: []string{"example.test"}})}}
	tests := []struct {
		name   string
		srv    xmppServer
		quick  bool
		want   XMPPStream // the evidence fields are not compared
		hasTLS bool
	}{
		{
			name: "starttls not advertised but accepted", srv: xmppServer{postTLS: []string{"SCRAM-SHA-256"}},
			want: XMPPStream{StartTLSResult: "proceed", StartTLSWorked: true, MechanismsBeforeTLS: []string{},
				MechanismsAfterTLS: []string{"SCRAM-SHA-256"}, ChannelBindingsAfterTLS: []string{"tls-exporter"}, FeaturesAfterTLS: true},
			hasTLS: true,
		},
		{
			name: "plain offered before tls", quick: true,
			srv: xmppServer{advertise: true, preTLS: []string{"PLAIN", "SCRAM-SHA-1"}, postTLS: []string{"SCRAM-SHA-256", "PLAIN"}},
			want: XMPPStream{StartTLSAdvertised: true, StartTLSResult: "proceed", StartTLSWorked: true,
				MechanismsBeforeTLS: []string{"PLAIN", "SCRAM-SHA-1"}, MechanismsAfterTLS: []string{"SCRAM-SHA-256", "PLAIN"},
				ChannelBindingsAfterTLS: []string{"tls-exporter"}, FeaturesAfterTLS: true},
			hasTLS: true,
		},
		{
			name: "starttls required", quick: true,
			srv: xmppServer{advertise: true, required: true, postTLS: []string{"SCRAM-SHA-256-PLUS"}},
			want: XMPPStream{StartTLSAdvertised: true, StartTLSRequired: true, StartTLSResult: "proceed", StartTLSWorked: true,
				MechanismsBeforeTLS: []string{}, MechanismsAfterTLS: []string{"SCRAM-SHA-256-PLUS"},
				ChannelBindingsAfterTLS: []string{"tls-exporter"}, FeaturesAfterTLS: true},
			hasTLS: true,
		},
		{
			name: "starttls refused", srv: xmppServer{refuse: true, preTLS: []string{"PLAIN"}},
			want: XMPPStream{StartTLSResult: "failure", MechanismsBeforeTLS: []string{"PLAIN"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := tt.srv
			srv.tls = cfg
			ep := Endpoint{Addr: srv.serve(t), Mode: ModeXMPPStartTLS, XMPPDomain: "example.test"}
			r := probe(t, ep, Options{Roots: ca.pool, Quick: tt.quick})
			x := r.XMPP
			if x == nil {
				t.Fatal("no XMPP facts")
			}
			if !strings.Contains(x.EvidenceBeforeTLS, "<stream:features>") {
				t.Errorf("evidence before TLS %q", x.EvidenceBeforeTLS)
			}
			got := *x
			got.EvidenceBeforeTLS, got.EvidenceAfterTLS = "", ""
			if !equalStream(got, tt.want) {
				t.Errorf("stream\n got %+v\nwant %+v", got, tt.want)
			}
			if (r.Negotiated != nil) != tt.hasTLS || (r.Certificate != nil) != tt.hasTLS {
				t.Fatalf("negotiated %+v certificate %v, want TLS %v", r.Negotiated, r.Certificate != nil, tt.hasTLS)
			}
			if !tt.hasTLS {
				if r.Connections != 1 || r.Versions != nil {
					t.Errorf("after a refused STARTTLS: %d connections, versions %v", r.Connections, r.Versions)
				}
				return
			}
			if !tt.quick {
				// Every probe connection repeated the prelude.
				if got := acceptedVersions(r); !slices.Equal(got, []string{"TLS 1.2", "TLS 1.3"}) {
					t.Errorf("versions over STARTTLS %v", got)
				}
				if len(r.Suites.Accepted()) == 0 || r.Connections < 20 {
					t.Errorf("suites %v over %d connections", r.Suites.Accepted(), r.Connections)
				}
			}
		})
	}
}

func equalStream(a, b XMPPStream) bool {
	return a.StartTLSAdvertised == b.StartTLSAdvertised && a.StartTLSRequired == b.StartTLSRequired &&
		a.StartTLSResult == b.StartTLSResult && a.StartTLSWorked == b.StartTLSWorked &&
		slices.Equal(a.MechanismsBeforeTLS, b.MechanismsBeforeTLS) && slices.Equal(a.MechanismsAfterTLS, b.MechanismsAfterTLS) &&
		a.StartTLSAfterTLS == b.StartTLSAfterTLS && slices.Equal(a.ChannelBindingsAfterTLS, b.ChannelBindingsAfterTLS) &&
		a.FeaturesAfterTLS == b.FeaturesAfterTLS
}

func TestProbeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name    string
		ep      Endpoint
		invalid bool
	}{
		{name: "unknown mode", ep: Endpoint{Addr: "127.0.0.1:1", Mode: "ssl"}, invalid: true},
		{name: "no port", ep: Endpoint{Addr: "example.test", Mode: ModeTLS}, invalid: true},
		{name: "starttls without domain", ep: Endpoint{Addr: "127.0.0.1:1", Mode: ModeXMPPStartTLS}, invalid: true},
		{name: "connection refused", ep: Endpoint{Addr: closed, Mode: ModeTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Probe(context.Background(), tt.ep, Options{DialTimeout: time.Second})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, protocol.ErrInvalid) != tt.invalid {
				t.Errorf("error %v: ErrInvalid %v, want %v", err, errors.Is(err, protocol.ErrInvalid), tt.invalid)
			}
			if r.Complete || r.Negotiated != nil {
				t.Errorf("result %+v", r)
			}
		})
	}
}

// A server that never answers: the per-dial timeout bounds each
// connection, and cancelling ctx ends the probe.
func TestTimeouts(t *testing.T) {
	addr := listen(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	start := time.Now()
	r, err := Probe(context.Background(), sipEndpoint(addr), Options{DialTimeout: 200 * time.Millisecond})
	if err != nil || r.Negotiated != nil || !r.Complete || time.Since(start) > time.Second {
		t.Errorf("silent server: err %v negotiated %v after %v", err, r.Negotiated, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = Probe(ctx, sipEndpoint(addr), Options{DialTimeout: 10 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("cancelled probe: err %v after %v", err, time.Since(start))
	}
}

func TestConcurrencyBound(t *testing.T) {
	ca := newTestCA(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, leafSpec{dns: []string{"example.test"}})}, MinVersion: tls.VersionTLS12}
	addr := listen(t, func(c net.Conn) {
		time.Sleep(5 * time.Millisecond) // keep connections overlapping
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			_, _ = tc.Read(make([]byte, 1))
		}
	})
	// Count the connections the prober holds open, from dial to Close.
	var open, peak atomic.Int32
	var d net.Dialer
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, a)
		if err != nil {
			return nil, err
		}
		n := open.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		return &countedConn{Conn: c, open: &open}, nil
	}
	r := probe(t, sipEndpoint(addr), Options{Roots: ca.pool, Concurrency: 2, DialContext: dial})
	if p := peak.Load(); p != 2 {
		t.Errorf("peak %d concurrent connections, want 2", p)
	}
	if r.Connections != 1+4+22+2+3 {
		t.Errorf("%d connections, want 32 (baseline, 4 versions, 22 suites, 2 order, 3 legacy)", r.Connections)
	}
}

type countedConn struct {
	net.Conn
	open *atomic.Int32
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}
