package auditrun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/miekg/dns"
)

// Endpoint services: what an endpoint target serves.
const (
	// ServiceXMPPStartTLS is XMPP client-to-server with STARTTLS (RFC
	// 6120 §5).
	ServiceXMPPStartTLS = "xmpp-starttls"
	// ServiceXMPPTLS is XMPP over direct TLS (XEP-0368).
	ServiceXMPPTLS = "xmpp-tls"
	// ServiceSIPTLS is SIP over TLS (RFC 3261 §26.2, RFC 5922).
	ServiceSIPTLS = "sip-tls"
)

// EndpointTarget is one endpoint named on the command line (audit-tls
// HOST:PORT): no account, no DNS discovery; the same endpoint checks as an
// account's aspect.
type EndpointTarget struct {
	// Host is dialled with Port: a name or an IP address.
	Host string
	Port int
	// Service is ServiceXMPPStartTLS, ServiceXMPPTLS or ServiceSIPTLS.
	Service string
	// SNI is sent in the ClientHello; empty means Identity.
	SNI string
	// Identity is the domain the certificate must name (the reference
	// identity of RFC 6125 §6; RFC 6120 §13.7.2.1 for XMPP, where it is
	// also the stream's 'to'; RFC 5922 §7.1 for SIP). Required.
	Identity string
}

// Addr is host:port ("[::1]:5222" for IPv6).
func (e EndpointTarget) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// endpointPlan is the plan for an endpoint target. Its discovery method
// "endpoint" makes the discovery checks skipped, as for a configured
// server.
func endpointPlan(e EndpointTarget) (plan, error) {
	if e.Identity == "" || e.Host == "" || e.Port <= 0 || e.Port > 65535 {
		return plan{}, fmt.Errorf("endpoint %q: host, port and expected identity are required", e.Addr())
	}
	p := plan{domain: e.Identity, disc: audit.Discovery{Method: "endpoint"}, host: e.Host, port: e.Port}
	p.id = e.Service + ":" + e.Addr()
	switch e.Service {
	case ServiceXMPPStartTLS:
		p.aspect, p.transport = audit.Chat, audit.StartTLS
		p.ep = tlsprobe.Endpoint{Addr: e.Addr(), Mode: tlsprobe.ModeXMPPStartTLS, XMPPDomain: e.Identity, ServerName: e.SNI}
	case ServiceXMPPTLS:
		p.aspect, p.transport = audit.Chat, audit.DirectTLS
		p.ep = tlsprobe.Endpoint{Addr: e.Addr(), Mode: tlsprobe.ModeTLS, XMPPDomain: e.Identity, ServerName: e.SNI}
	case ServiceSIPTLS:
		// No account: the REGISTER names a user that need not exist; the
		// challenge comes before the user is looked up (as for domains).
		p.aspect, p.transport, p.aor = audit.Telephony, audit.DirectTLS, "sip:cusax-audit@"+e.Identity
		sni := e.SNI
		if sni == "" {
			sni = e.Identity
		}
		p.ep = tlsprobe.Endpoint{Addr: e.Addr(), Mode: tlsprobe.ModeTLS, ServerName: sni, Identity: e.Identity, SIPAOR: p.aor}
	default:
		return plan{}, fmt.Errorf("endpoint %s: unknown service %q", e.Addr(), e.Service)
	}
	return p, nil
}

// resolveAll looks up every host name the jobs dial, once each, with the
// resolver the probes will use. A job whose host does not resolve is not
// probed: its unresolved is the resolver's answer. Transient failures
// count too: the probe's dials would fail the same way, once per check.
func (r *Runner) resolveAll(ctx context.Context, jobs []*job) {
	hosts := map[string][]*job{}
	for _, j := range jobs {
		if _, err := netip.ParseAddr(j.p.host); err == nil || j.p.host == "" {
			continue
		}
		hosts[j.p.host] = append(hosts[j.p.host], j)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	for host, js := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			msg := r.lookup(ctx, host)
			if msg == "" || ctx.Err() != nil {
				return
			}
			mu.Lock()
			for _, j := range js {
				j.unresolved = msg
			}
			mu.Unlock()
		})
	}
	wg.Wait()
}

// lookup returns "" when host has an address, else why not.
func (r *Runner) lookup(ctx context.Context, host string) string {
	if r.DNS != nil && r.DNS.Server != "" {
		n := 0
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			rrs, err := r.DNS.Query(ctx, dns.Fqdn(host), qt)
			if err != nil {
				return err.Error()
			}
			for _, rr := range rrs {
				if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
					n++
				}
			}
		}
		if n == 0 {
			return "no such host (no A or AAAA record)"
		}
		return ""
	}
	res := r.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	addrs, err := res.LookupNetIP(ctx, "ip", host)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return dnsErr.Err // "no such host", "server misbehaving", "i/o timeout"
	case err != nil:
		return err.Error()
	case len(addrs) == 0:
		return "no such host"
	}
	return ""
}

// unresolved is the target's Unresolved fact: set when it has endpoints
// and none of them resolved.
func (p *prepared) unresolved() *audit.Unresolved {
	if len(p.jobs) == 0 {
		return nil
	}
	u := &audit.Unresolved{}
	var why []string
	for _, j := range p.jobs {
		if j.unresolved == "" {
			return nil
		}
		if !slices.Contains(u.Hosts, j.p.host) {
			u.Hosts = append(u.Hosts, j.p.host)
		}
		if !slices.Contains(why, j.unresolved) {
			why = append(why, j.unresolved)
		}
	}
	u.Error = strings.Join(why, "; ")
	return u
}
