package auditrun

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/emiago/sipgo/sip"
)

// Options tune an account audit. The zero value is usable.
type Options struct {
	// Probe is passed to tlsprobe.Probe for every endpoint; Roots is
	// filled from the account's ca_file when nil.
	Probe tlsprobe.Options
	// Resolver looks up SRV records; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Now is the observation time; default time.Now.
	Now func() time.Time
}

// Account probes the XMPP and SIP endpoints of a concurrently and returns
// the facts for audit.Evaluate, plus the raw probe results (for --json
// evidence and debugging), chat first.
//
// Endpoints: chat is a.XMPP.Server if set, else the first _xmpp-client._tcp
// SRV target of the JID's domain, else domain:5222 (RFC 6120 §3.2.2), with
// STARTTLS, or direct TLS (XEP-0368) when a.XMPP.DirectTLS. Telephony is
// a.SIP.Proxy: with transport=tls or a sips: URI it is probed as direct TLS
// with the AOR's domain as the reference identity (RFC 5922 §7.1); with UDP
// or TCP it is recorded as a plaintext transport and not probed. Without a
// proxy, the first _sips._tcp SRV target of the AOR's domain, else
// domain:5061.
//
// Error contract: a broken account (bad JID, AOR or proxy, an unreadable or
// empty ca_file) is an error wrapping protocol.ErrInvalid or the read
// error; nothing is probed. Everything about the servers, including an
// endpoint that cannot be reached, is a fact (EndpointFacts.Error, NoTLS)
// with a nil error. When ctx ends, the partial facts are returned with
// ctx's error.
func Account(ctx context.Context, a config.Account, opts Options) (audit.AccountFacts, []tlsprobe.Result, error) {
	r := &Runner{Options: opts}
	preps, err := r.run(ctx, []Target{{Name: a.Name, Account: &a}})
	if preps == nil {
		return audit.AccountFacts{Account: a.Name}, nil, err
	}
	var probed []tlsprobe.Result
	for _, j := range preps[0].jobs {
		if j.p.plaintext == "" {
			probed = append(probed, j.res)
		}
	}
	return preps[0].assemble(), probed, err
}

// accountRoots is the system pool plus the account's ca_file, or nil (the
// system roots) without one.
func accountRoots(a config.Account) (*x509.CertPool, error) {
	pem, err := session.ReadCA(a)
	if err != nil || pem == nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca file %s: no PEM certificate found: %w", a.CAFile, protocol.ErrInvalid)
	}
	return pool, nil
}

// plan is one endpoint to probe (or, for plaintext SIP, to record).
type plan struct {
	aspect    audit.Aspect
	domain    string
	disc      audit.Discovery
	ep        tlsprobe.Endpoint
	id        string
	transport audit.Transport
	host      string
	port      int
	// plaintext is "udp" or "tcp" when the account uses SIP without TLS.
	plaintext string
	// aor is the SIP address of record REGISTERed (without credentials)
	// to see the challenge.
	aor string
}

func chatPlan(ctx context.Context, res *net.Resolver, x *config.XMPPAspect) (plan, error) {
	at := strings.LastIndexByte(x.JID, '@')
	domain := strings.ToLower(strings.TrimSuffix(x.JID[at+1:], "/"))
	if i := strings.IndexByte(domain, '/'); i >= 0 {
		domain = domain[:i]
	}
	if domain == "" {
		return plan{}, fmt.Errorf("jid %q has no domain: %w", x.JID, protocol.ErrInvalid)
	}
	p := plan{aspect: audit.Chat, domain: domain}
	mode, transport, prefix, service, port := tlsprobe.ModeXMPPStartTLS, audit.StartTLS, "xmpp-starttls", "xmpp-client", 5222
	if x.DirectTLS {
		mode, transport, prefix, service, port = tlsprobe.ModeTLS, audit.DirectTLS, "xmpp-tls", "xmpps-client", 5223
	}
	var host string
	if x.Server != "" {
		h, ps, err := net.SplitHostPort(x.Server)
		if err != nil {
			return plan{}, fmt.Errorf("xmpp server %q: %v: %w", x.Server, err, protocol.ErrInvalid)
		}
		host, port, p.disc.Method = h, atoi(ps, port), "configured"
	} else {
		host, port, p.disc = lookupSRV(ctx, res, domain, service, "xmpps-client", port)
	}
	p.ep = tlsprobe.Endpoint{Addr: net.JoinHostPort(host, strconv.Itoa(port)), Mode: mode, XMPPDomain: domain}
	p.id, p.transport, p.host, p.port = fmt.Sprintf("%s:%s:%d", prefix, host, port), transport, host, port
	return p, nil
}

func telephonyPlan(ctx context.Context, res *net.Resolver, s *config.SIPAspect) (plan, error) {
	var aor sip.Uri
	if err := sip.ParseUri(s.AOR, &aor); err != nil || aor.Host == "" {
		return plan{}, fmt.Errorf("aor %q is not a SIP URI: %w", s.AOR, protocol.ErrInvalid)
	}
	domain := strings.ToLower(aor.Host)
	p := plan{aspect: audit.Telephony, domain: domain, transport: audit.DirectTLS, aor: s.AOR}
	var host string
	port := 5061
	if s.Proxy != "" {
		var u sip.Uri
		if err := sip.ParseUri(s.Proxy, &u); err != nil || u.Host == "" {
			return plan{}, fmt.Errorf("sip proxy %q is not a SIP URI: %w", s.Proxy, protocol.ErrInvalid)
		}
		tr := "udp" // RFC 3261 §19.1.2: the default for sip: URIs
		if strings.EqualFold(u.Scheme, "sips") {
			tr = "tls"
		}
		if v, ok := u.UriParams.Get("transport"); ok && v != "" {
			tr = strings.ToLower(v)
		}
		if tr != "tls" && tr != "udp" && tr != "tcp" {
			return plan{}, fmt.Errorf("sip proxy %q: transport %q: %w", s.Proxy, tr, protocol.ErrInvalid)
		}
		host, p.disc.Method = u.Host, "configured"
		if tr != "tls" {
			p.plaintext, port = tr, 5060
		}
		if u.Port > 0 {
			port = u.Port
		}
	} else {
		// RFC 3263 §4 is NAPTR first; only the _sips._tcp SRV step is done.
		host, port, p.disc = lookupSRV(ctx, res, domain, "sips", "sips", port)
	}
	p.host, p.port = host, port
	if p.plaintext != "" {
		p.id, p.transport = fmt.Sprintf("sip-%s:%s:%d", p.plaintext, host, port), audit.Transport(p.plaintext)
		return p, nil
	}
	p.ep = tlsprobe.Endpoint{Addr: net.JoinHostPort(host, strconv.Itoa(port)), Mode: tlsprobe.ModeTLS, ServerName: domain, SIPAOR: s.AOR}
	p.id = fmt.Sprintf("sip-tls:%s:%d", host, port)
	return p, nil
}

// lookupSRV looks up _service._tcp.domain and the TLS-only record
// _tlsService._tcp.domain, and picks the first target of the former (the
// resolver sorts by priority and weight), else domain:port.
func lookupSRV(ctx context.Context, res *net.Resolver, domain, service, tlsService string, port int) (string, int, audit.Discovery) {
	var d audit.Discovery
	_, srvs, err := res.LookupSRV(ctx, service, "tcp", domain)
	switch {
	case err == nil && len(srvs) > 0 && srvs[0].Target != ".":
		d.Method = "srv"
		for _, s := range srvs {
			d.Records = append(d.Records, fmt.Sprintf("_%s._tcp.%s. SRV %d %d %d %s", service, domain, s.Priority, s.Weight, s.Port, s.Target))
		}
	case err == nil || isNotFound(err):
		d.Method = "fallback"
	default:
		d.Method, d.Error = "fallback", err.Error()
	}
	if service == tlsService {
		d.TLSPublished = audit.TriOf(d.Method == "srv")
	} else if _, tls, err := res.LookupSRV(ctx, tlsService, "tcp", domain); err == nil {
		d.TLSPublished = audit.TriOf(len(tls) > 0)
	} else if isNotFound(err) {
		d.TLSPublished = audit.No
	}
	if d.Method == "srv" {
		return strings.TrimSuffix(srvs[0].Target, "."), int(srvs[0].Port), d
	}
	return domain, port, d
}

func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}
