package tlsprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// The endpoint modes.
const (
	// ModeTLS is TLS from the first byte: SIP on 5061 (RFC 5630) and XMPP
	// direct TLS (XEP-0368).
	ModeTLS = "tls"
	// ModeXMPPStartTLS is an XMPP client-to-server stream upgraded with
	// STARTTLS (RFC 6120 §5).
	ModeXMPPStartTLS = "xmpp-starttls"
)

// Endpoint is one TLS endpoint of an aspect of an account.
type Endpoint struct {
	// Addr is host:port to dial.
	Addr string
	// ServerName is sent as SNI. For SIP (XMPPDomain empty) it is also the
	// SIP domain the certificate must name (RFC 5922 §7.1). Empty means
	// XMPPDomain, else the host of Addr.
	ServerName string
	// Mode is ModeTLS or ModeXMPPStartTLS.
	Mode string
	// XMPPDomain is the JID's domain: the stream's 'to' and the reference
	// identity (RFC 6120 §13.7.2.1). Required for ModeXMPPStartTLS; with
	// ModeTLS it marks an XEP-0368 direct TLS endpoint.
	XMPPDomain string
	// Identity, for SIP, is the domain the certificate must name when it
	// differs from the SNI (audit-tls HOST:PORT --sip --sni A
	// --expect-name B); empty means ServerName. XMPP's is XMPPDomain.
	Identity string
	// SIPAOR marks a SIP over TLS endpoint (ModeTLS): once the baseline
	// handshake is done, a REGISTER for this address of record is sent
	// without credentials and the answer recorded (Result.SIP).
	SIPAOR string
}

// Options tune a probe. The zero value is usable.
type Options struct {
	// Roots verifies the certificate chain; nil means the system roots.
	Roots *x509.CertPool
	// Concurrency bounds the connections open at once; default 4.
	Concurrency int
	// DialTimeout bounds each connection: TCP connect, XMPP prelude and
	// TLS handshake; default 5s.
	DialTimeout time.Duration
	// Quick makes only the baseline handshake: stream features,
	// negotiated parameters and certificate; no version or suite sweep.
	Quick bool
	// Now is the time certificates are checked at; default time.Now.
	Now func() time.Time
	// DialContext replaces net.Dialer's; for tests and proxies.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Result is what was observed at one endpoint. Absent facts are nil or
// empty, never guessed; Evidence strings quote what the server sent or the
// handshake error.
type Result struct {
	Endpoint Endpoint `json:"endpoint"`
	// Complete is false when the context ended before every probe ran.
	Complete bool          `json:"complete"`
	Started  time.Time     `json:"started_at"`
	Duration time.Duration `json:"-"` // internal: the audit report times the run (started_at, finished_at)
	// Connections is how many TCP connections the probe opened.
	Connections int `json:"connections"`
	// XMPP is the stream dialog; nil for SIP.
	XMPP *XMPPStream `json:"xmpp,omitempty"`
	// SIP is the REGISTER dialog on the baseline connection; nil unless
	// Endpoint.SIPAOR was set and TLS was established.
	SIP *SIPDialog `json:"sip,omitempty"`
	// Negotiated is the baseline handshake offering every version and
	// suite Go implements; nil when no TLS session could be established.
	Negotiated *Handshake `json:"negotiated,omitempty"`
	// Versions holds one probe per TLS version 1.0–1.3 (empty if Quick or
	// no TLS).
	Versions []VersionProbe `json:"versions,omitempty"`
	// Suites is the TLS ≤ 1.2 suite sweep.
	Suites *SuiteScan `json:"suites,omitempty"`
	// Preference says whether the server honours its own suite order;
	// nil when no TLS version up to 1.2 was accepted.
	Preference *Preference `json:"preference,omitempty"`
	// TLS12 holds the plaintext TLS 1.2 ServerHello facts, from the TLS 1.2
	// version probe (or the baseline when it negotiated TLS 1.2).
	TLS12 *ServerHello `json:"tls12,omitempty"`
	// Certificate is the baseline handshake's chain and its verification.
	Certificate *Certificate `json:"certificate,omitempty"`
	// Legacy holds the hand-built SSL 2.0, SSL 3.0 and TLS compression
	// probes (legacy.go); nil if Quick, or if the endpoint never got as
	// far as a TLS handshake (connection or STARTTLS refused). They also
	// run when every crypto/tls handshake failed: the server may speak
	// only SSL.
	Legacy *Legacy `json:"legacy,omitempty"`
	// NotObservable lists facts this prober cannot obtain, and why.
	NotObservable []string `json:"not_observable"`
}

// Handshake is one completed (or attempted) TLS handshake.
type Handshake struct {
	Version     string `json:"version"` // "TLS 1.3"
	VersionID   uint16 `json:"version_id"`
	CipherSuite string `json:"cipher_suite"`
	SuiteID     uint16 `json:"cipher_suite_id"`
	// Group is the key exchange group (crypto/tls CurveID), if known.
	Group string `json:"group,omitempty"`
	// ALPN is the negotiated application protocol, if any.
	ALPN string `json:"alpn,omitempty"`
	// ExporterAvailable: keying material can be exported, i.e. TLS 1.3 or
	// extended master secret was negotiated (the RFC 9266 tls-exporter
	// channel binding is usable). crypto/tls refuses otherwise unless
	// GODEBUG=tlsunsafeekm=1; then ServerHello.ExtendedMasterSecret is the
	// fact to use.
	ExporterAvailable bool `json:"exporter_available"`
	// LeafSHA256 is the hex SHA-256 of the certificate presented.
	LeafSHA256 string `json:"leaf_sha256,omitempty"`
}

// VersionProbe is the outcome of offering exactly one TLS version.
type VersionProbe struct {
	Version   string `json:"version"`
	VersionID uint16 `json:"version_id"`
	Accepted  bool   `json:"accepted"`
	// CipherSuite is the suite negotiated when accepted.
	CipherSuite string `json:"cipher_suite,omitempty"`
	Evidence    string `json:"evidence"`
}

// SuiteScan is the outcome of offering each TLS ≤ 1.2 suite Go implements
// alone, with TLS 1.0–1.2 offered.
type SuiteScan struct {
	// Skipped says why no suite was probed (e.g. TLS 1.3 only).
	Skipped string       `json:"skipped,omitempty"`
	Probes  []SuiteProbe `json:"probes,omitempty"`
}

// Accepted returns the names of the accepted suites, in probe order.
func (s *SuiteScan) Accepted() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, p := range s.Probes {
		if p.Accepted {
			out = append(out, p.Name)
		}
	}
	return out
}

// SuiteProbe is one suite offered alone.
type SuiteProbe struct {
	ID   uint16 `json:"id"`
	Name string `json:"name"`
	// Insecure is true for the suites of tls.InsecureCipherSuites: RC4,
	// 3DES, static RSA key exchange, CBC-SHA256.
	Insecure bool `json:"insecure"`
	Accepted bool `json:"accepted"`
	// Version is the TLS version negotiated with the suite.
	Version  string `json:"version,omitempty"`
	Evidence string `json:"evidence"`
}

// Preference records the suite-order test: the accepted suites offered in
// Go's order and again reversed on the wire, at one TLS version.
type Preference struct {
	// Order is "server" (the same suite won both times), "client" (the
	// first offered won both times), "unknown" (neither), or "n/a" (fewer
	// than two suites accepted).
	Order   string `json:"order"`
	Version string `json:"version,omitempty"`
	// Preferred is the suite chosen from Go's order.
	Preferred       string   `json:"preferred,omitempty"`
	ChosenReversed  string   `json:"chosen_reversed,omitempty"`
	Offered         []string `json:"offered,omitempty"`
	OfferedReversed []string `json:"offered_reversed,omitempty"`
	Evidence        string   `json:"evidence"`
}

// notObservable is fixed by what crypto/tls implements (see doc.go).
var notObservable = []string{
	"NULL, EXPORT, anonymous, DES, DHE, static DH, CCM, CAMELLIA, ARIA suites: not implemented by crypto/tls",
	"TLS 1.3 cipher suite preference: crypto/tls does not let the client choose TLS 1.3 suites",
	"TLS 1.3 session ticket lifetime: sent encrypted and not exposed by crypto/tls",
	"client-initiated renegotiation and 0-RTT: not implemented by the crypto/tls client",
	"encrypt_then_mac: crypto/tls does not offer it",
}

// Probe collects the facts about ep. It dials only ep.Addr, sends no
// credentials, and bounds each connection by opts.DialTimeout and the
// whole probe by ctx.
//
// Error contract: an invalid Endpoint gives an error wrapping
// protocol.ErrInvalid; a failed TCP connection for the baseline handshake
// gives that error (nothing was learnt). Everything the server did —
// refusing STARTTLS, failing handshakes, presenting a bad certificate — is
// a fact in Result with a nil error. When ctx ends midway, the partial
// Result is returned with ctx's error and Complete false.
func Probe(ctx context.Context, ep Endpoint, opts Options) (res Result, err error) {
	if err := validate(&ep); err != nil {
		return Result{Endpoint: ep}, err
	}
	// The deferred func below sets Duration and Connections on the
	// returned Result, hence the named results.
	p := newProber(ep, opts)
	res = Result{Endpoint: ep, Started: time.Now(), NotObservable: notObservable}
	defer func() {
		res.Duration = time.Since(res.Started)
		res.Connections = int(p.conns.Load())
	}()

	base := p.baseline(ctx)
	res.XMPP, res.SIP = base.xmpp, base.sip
	if base.dialErr != nil {
		return res, fmt.Errorf("probe %s: %w", ep.Addr, base.dialErr)
	}
	if base.err == nil {
		res.Negotiated = base.handshake()
		res.Certificate = p.certificate(base.peer)
		if base.state.Version == tls.VersionTLS12 {
			res.TLS12 = base.hello
		}
	}
	if err := ended(ctx); err != nil {
		return res, err
	}
	if base.err != nil || p.opts.Quick {
		if base.err != nil && !p.opts.Quick && p.tlsAttempted(base) {
			// No TLS 1.0–1.3 handshake: the server may speak only SSL.
			res.Legacy = p.legacy(ctx)
			if err := ended(ctx); err != nil {
				return res, err
			}
		}
		res.Complete = true
		return res, nil
	}

	var tls12 *ServerHello
	res.Versions, tls12 = p.versions(ctx)
	if tls12 != nil {
		res.TLS12 = tls12
	}
	res.Suites = p.suites(ctx, res.Versions)
	res.Preference = p.preference(ctx, res.Versions, res.Suites)
	res.Legacy = p.legacy(ctx)
	if err := ended(ctx); err != nil {
		return res, err
	}
	res.Complete = true
	return res, nil
}

// tlsAttempted: the baseline got as far as the TLS handshake (for XMPP,
// <starttls/> was answered with <proceed/>), so a failed handshake may be
// a server that speaks only SSL, which the legacy probes can show.
func (p *prober) tlsAttempted(base outcome) bool {
	if p.ep.Mode == ModeXMPPStartTLS {
		return base.xmpp != nil && base.xmpp.StartTLSResult == "proceed"
	}
	return true
}

// ended is ctx.Err, but also reports a deadline that has passed before
// ctx's timer fired: a connection deadline set to the same instant can
// expire first, and its failure must not be taken for the server's.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func validate(ep *Endpoint) error {
	host, _, err := net.SplitHostPort(ep.Addr)
	if err != nil {
		return fmt.Errorf("endpoint address %q: %v: %w", ep.Addr, err, protocol.ErrInvalid)
	}
	switch ep.Mode {
	case ModeTLS:
		if ep.SIPAOR != "" && ep.XMPPDomain != "" {
			return fmt.Errorf("endpoint %s: both an XMPP domain and a SIP AOR: %w", ep.Addr, protocol.ErrInvalid)
		}
		if ep.SIPAOR != "" {
			if _, err := registerURI(ep.SIPAOR); err != nil {
				return err
			}
		}
	case ModeXMPPStartTLS:
		if ep.XMPPDomain == "" {
			return fmt.Errorf("endpoint %s: xmpp-starttls needs the XMPP domain: %w", ep.Addr, protocol.ErrInvalid)
		}
	default:
		return fmt.Errorf("endpoint %s: unknown mode %q: %w", ep.Addr, ep.Mode, protocol.ErrInvalid)
	}
	if ep.ServerName == "" {
		ep.ServerName = ep.XMPPDomain
	}
	if ep.ServerName == "" {
		ep.ServerName = host
	}
	return nil
}

// versions probes TLS 1.0–1.3 one at a time. It also returns the TLS 1.2
// probe's ServerHello facts.
func (p *prober) versions(ctx context.Context) ([]VersionProbe, *ServerHello) {
	vs := []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}
	out := make([]VersionProbe, len(vs))
	var tls12 *ServerHello
	p.parallel(ctx, len(vs), func(i int) {
		v := vs[i]
		o := p.decisive(ctx, probeConfig{min: v, max: v, suites: allSuites12(), tickets: v == tls.VersionTLS12})
		vp := VersionProbe{Version: tls.VersionName(v), VersionID: v, Evidence: o.evidence()}
		if o.err == nil && o.state.Version == v {
			vp.Accepted = true
			vp.CipherSuite = tls.CipherSuiteName(o.state.CipherSuite)
			if v == tls.VersionTLS12 {
				tls12 = o.hello
			}
		}
		out[i] = vp
	})
	return out, tls12
}

// suites offers each TLS ≤ 1.2 suite alone.
func (p *prober) suites(ctx context.Context, versions []VersionProbe) *SuiteScan {
	if maxAccepted12(versions) == 0 {
		return &SuiteScan{Skipped: "no TLS version up to 1.2 accepted"}
	}
	list := suiteList()
	scan := &SuiteScan{Probes: make([]SuiteProbe, len(list))}
	p.parallel(ctx, len(list), func(i int) {
		s := list[i]
		o := p.decisive(ctx, probeConfig{min: tls.VersionTLS10, max: tls.VersionTLS12, suites: []uint16{s.ID}})
		sp := SuiteProbe{ID: s.ID, Name: s.Name, Insecure: s.Insecure, Evidence: o.evidence()}
		if o.err == nil && o.state.CipherSuite == s.ID {
			sp.Accepted = true
			sp.Version = tls.VersionName(o.state.Version)
		}
		scan.Probes[i] = sp
	})
	return scan
}

// parallel runs f(0..n-1) with at most opts.Concurrency at once; it stops
// starting new calls when ctx ends.
func (p *prober) parallel(ctx context.Context, n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-p.sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

func maxAccepted12(versions []VersionProbe) uint16 {
	var best uint16
	for _, v := range versions {
		if v.Accepted && v.VersionID <= tls.VersionTLS12 && v.VersionID > best {
			best = v.VersionID
		}
	}
	return best
}
