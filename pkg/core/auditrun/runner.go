package auditrun

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/cusax/cusax/pkg/discover"
	"github.com/miekg/dns"
)

// Target is one subject of an audit: a configured account, or a service
// found through DNS (ChatDomain for XMPP, TelephonyDomain for SIP; the
// same domain for both in the usual case).
type Target struct {
	// Name labels the target's facts and findings: the account name, or
	// the domain(s) ("example.com", "chat.example/sip.example").
	Name    string
	Account *config.Account
	// ChatDomain and TelephonyDomain are looked up in DNS (package
	// discover) when Account is nil; either may be empty.
	ChatDomain, TelephonyDomain string
	// Endpoint, when set (Account nil, no domains), is the one endpoint
	// audited: audit-tls HOST:PORT.
	Endpoint *EndpointTarget
}

// DomainTarget is the target for one service domain, both aspects.
func DomainTarget(domain string) Target {
	return Target{Name: domain, ChatDomain: domain, TelephonyDomain: domain}
}

// Runner audits many targets: DNS first, then every distinct endpoint
// probed once (endpoints shared by targets — one provider's server for
// many accounts — are probed once and their facts reused), at most
// Parallel at a time.
type Runner struct {
	Options
	// Parallel bounds the endpoints probed at once; default 4. Each probe
	// opens up to Probe.Concurrency connections of its own.
	Parallel int
	// DNS finds the endpoints of domain targets; nil means the system's
	// resolver configuration.
	DNS *discover.Resolver
	// Roots verifies the certificates of domain targets; nil means the
	// system roots. Accounts use their own ca_file.
	Roots *x509.CertPool
	// Progress, if set, is called after each endpoint probed.
	Progress func(done, total int)
	// Backends, if set, starts each account's telephony plugin once to
	// read what it declares (protocol.CapSRTP, for cusax.media-encryption);
	// nil leaves that Unknown.
	Backends session.Source

	capsMu sync.Mutex
	caps   map[string]*backendCaps // per telephony plugin name

	rootsMu sync.Mutex
	roots   map[string]*x509.CertPool // per CA file, so accounts sharing one share jobs
}

// job is one distinct endpoint to probe; targets sharing it share the job.
type job struct {
	p     plan
	roots *x509.CertPool
	once  sync.Once
	res   tlsprobe.Result
	sip   *tlsprobe.SIPDialog
	err   error
	// unresolved is why the host name did not resolve (resolveAll); the
	// endpoint is then not probed.
	unresolved string
}

// prepared is a target with its endpoint plans resolved.
type prepared struct {
	t     Target
	facts audit.AccountFacts
	jobs  []*job
	// fallback marks jobs whose endpoint DNS did not publish: a plaintext
	// SIP fallback that does not answer is dropped, not reported.
	fallback map[*job]bool
	err      error
	// media is the question to the telephony backend (mediaFacts).
	media sync.WaitGroup
}

// Run audits targets and returns their facts in order. The error contract
// is Account's, per target: a broken account stops the run with an error
// naming it; everything the servers and DNS do is a fact.
func (r *Runner) Run(ctx context.Context, targets []Target) ([]audit.AccountFacts, error) {
	preps, err := r.run(ctx, targets)
	if preps == nil {
		return nil, err
	}
	out := make([]audit.AccountFacts, len(preps))
	for i, p := range preps {
		out[i] = p.assemble()
	}
	return out, err
}

func (r *Runner) run(ctx context.Context, targets []Target) ([]*prepared, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	observed := now()
	jobs := map[string]*job{}
	var order []*job
	preps := make([]*prepared, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		preps[i] = &prepared{t: t, facts: audit.AccountFacts{Account: t.Name, ObservedAt: observed}, fallback: map[*job]bool{}}
		wg.Go(func() { preps[i].err = r.plan(ctx, preps[i]) })
	}
	wg.Wait()
	// Backends asked for media facts answer while the endpoints are
	// probed; the facts are complete when run returns.
	defer func() {
		for _, p := range preps {
			p.media.Wait()
		}
	}()
	for _, p := range preps {
		if p.err != nil {
			return nil, fmt.Errorf("%s: %w", p.t.Name, p.err)
		}
	}
	// Share jobs across targets.
	for _, p := range preps {
		for i, j := range p.jobs {
			k := j.key()
			if shared, ok := jobs[k]; ok {
				if p.fallback[j] {
					p.fallback[shared] = true
				}
				p.jobs[i] = shared
				continue
			}
			jobs[k] = j
			order = append(order, j)
		}
	}

	r.resolveAll(ctx, order)

	opts := r.Probe
	if opts.DialContext == nil && r.DNS != nil && r.DNS.Server != "" {
		opts.DialContext = r.dial
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return observed }
	}
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	sem := make(chan struct{}, parallel)
	var mu sync.Mutex
	done := 0
	for _, j := range order {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				j.err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			j.run(ctx, opts)
			if r.Progress != nil {
				mu.Lock()
				done++
				r.Progress(done, len(order))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return preps, ctx.Err()
}

func (j *job) key() string {
	p := j.p
	// The same address can serve different domains (SNI, the stream's
	// 'to'); the SIP AOR only picks the REGISTER's user, so its domain is
	// enough.
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%p", p.id, p.ep.Mode, p.ep.ServerName, p.ep.XMPPDomain, p.domain, p.plaintext, j.roots)
}

func (j *job) run(ctx context.Context, opts tlsprobe.Options) {
	j.once.Do(func() {
		if j.unresolved != "" {
			j.err = fmt.Errorf("cannot resolve %s: %s", j.p.host, j.unresolved)
			return
		}
		opts.Roots = j.roots
		if j.p.plaintext != "" {
			j.sip, j.err = tlsprobe.ProbeSIP(ctx, j.p.plaintext, net.JoinHostPort(j.p.host, strconv.Itoa(j.p.port)), j.p.aor, opts)
			return
		}
		j.res, j.err = tlsprobe.Probe(ctx, j.p.ep, opts)
	})
}

// plan resolves a target's endpoints.
func (r *Runner) plan(ctx context.Context, p *prepared) error {
	t := p.t
	if a := t.Account; a != nil {
		roots := r.Probe.Roots
		if roots == nil {
			var err error
			if roots, err = r.accountRoots(*a); err != nil {
				return err
			}
		}
		res := r.Resolver
		if res == nil {
			res = net.DefaultResolver
		}
		if a.XMPP != nil {
			pl, err := chatPlan(ctx, res, a.XMPP)
			if err != nil {
				return err
			}
			p.facts.Chat.Domain, p.facts.Chat.Discovery = pl.domain, pl.disc
			p.jobs = append(p.jobs, &job{p: pl, roots: roots})
		}
		if a.SIP != nil {
			pl, err := telephonyPlan(ctx, res, a.SIP)
			if err != nil {
				return err
			}
			p.facts.Telephony.Domain, p.facts.Telephony.Discovery = pl.domain, pl.disc
			p.jobs = append(p.jobs, &job{p: pl, roots: roots})
			p.facts.Media = r.mediaFacts(ctx, *a, pl, &p.media)
		}
		return nil
	}
	if e := t.Endpoint; e != nil {
		pl, err := endpointPlan(*e)
		if err != nil {
			return err
		}
		a := &p.facts.Chat
		if pl.aspect == audit.Telephony {
			a = &p.facts.Telephony
		}
		a.Domain, a.Discovery = pl.domain, pl.disc
		p.jobs = append(p.jobs, &job{p: pl, roots: r.Roots})
		return nil
	}
	dns := r.DNS
	if dns == nil {
		dns = &discover.Resolver{}
	}
	if t.ChatDomain != "" {
		d, err := dns.LookupChat(ctx, t.ChatDomain)
		if err != nil {
			return err
		}
		p.facts.Chat.Domain, p.facts.Chat.Discovery = d.Domain, auditDiscovery(d)
		for _, ep := range d.Endpoints {
			pl := plan{aspect: audit.Chat, domain: d.Domain, host: ep.Host, port: ep.Port, id: ep.ID()}
			switch ep.Transport {
			case discover.XMPPStartTLS:
				pl.transport, pl.ep = audit.StartTLS, tlsprobe.Endpoint{Addr: ep.Addr(), Mode: tlsprobe.ModeXMPPStartTLS, XMPPDomain: d.Domain}
			case discover.XMPPTLS:
				pl.transport, pl.ep = audit.DirectTLS, tlsprobe.Endpoint{Addr: ep.Addr(), Mode: tlsprobe.ModeTLS, XMPPDomain: d.Domain}
			default:
				continue
			}
			p.jobs = append(p.jobs, &job{p: pl, roots: r.Roots})
		}
	}
	if t.TelephonyDomain != "" {
		d, err := dns.LookupTelephony(ctx, t.TelephonyDomain)
		if err != nil {
			return err
		}
		p.facts.Telephony.Domain, p.facts.Telephony.Discovery = d.Domain, auditDiscovery(d)
		// No account: the REGISTER names a user that need not exist; the
		// challenge comes before the user is looked up.
		aor := "sip:cusax-audit@" + d.Domain
		for _, ep := range d.Endpoints {
			pl := plan{aspect: audit.Telephony, domain: d.Domain, host: ep.Host, port: ep.Port, id: ep.ID(), aor: aor}
			switch ep.Transport {
			case discover.SIPTLS:
				pl.transport, pl.ep = audit.DirectTLS, tlsprobe.Endpoint{Addr: ep.Addr(), Mode: tlsprobe.ModeTLS, ServerName: d.Domain, SIPAOR: aor}
			case discover.SIPTCP, discover.SIPUDP:
				tr := strings.TrimPrefix(string(ep.Transport), "sip-")
				pl.transport, pl.plaintext = audit.Transport(tr), tr
			default:
				continue
			}
			j := &job{p: pl, roots: r.Roots}
			if ep.Method == discover.MethodFallback {
				p.fallback[j] = true
			}
			p.jobs = append(p.jobs, j)
		}
	}
	return nil
}

// auditDiscovery maps a DNS discovery onto the audit's facts; NAPTR→SRV
// counts as "srv".
func auditDiscovery(d discover.Discovery) audit.Discovery {
	out := audit.Discovery{Method: string(d.Method), Records: d.Records, TLSPublished: audit.Tri(d.TLSPublished)}
	if d.Method == discover.MethodNAPTR {
		out.Method = "srv"
	}
	out.Records = append(out.Records, d.Notes...)
	if d.Omitted > 0 {
		out.Records = append(out.Records, fmt.Sprintf("; %d more endpoints not probed (at most %d per aspect)", d.Omitted, discover.MaxEndpoints))
	}
	if d.Err != nil {
		out.Error = d.Err.Error()
	}
	return out
}

// assemble turns the jobs' results into the target's facts.
func (p *prepared) assemble() audit.AccountFacts {
	facts := p.facts
	facts.Unresolved = p.unresolved()
	for _, j := range p.jobs {
		pl := j.p
		ep := audit.EndpointFacts{ID: pl.id, Transport: pl.transport, Host: pl.host, Port: pl.port}
		if pl.plaintext != "" {
			answered := j.sip != nil && j.sip.Answered
			if p.fallback[j] && !answered {
				continue // nothing listens where DNS did not point
			}
			if p.t.Account != nil {
				ep.NoTLS = fmt.Sprintf("the account uses SIP over %s (%s); TLS is not used", strings.ToUpper(pl.plaintext), p.t.Account.SIP.Proxy)
				facts.Telephony.PlaintextTransports = append(facts.Telephony.PlaintextTransports, pl.plaintext)
			} else {
				ep.NoTLS = fmt.Sprintf("SIP over %s: TLS is not used", strings.ToUpper(pl.plaintext))
				if answered {
					facts.Telephony.PlaintextTransports = append(facts.Telephony.PlaintextTransports, pl.plaintext)
				}
			}
			ep.SIP = sipFacts(j.sip)
			if j.err != nil {
				ep.SIP = &audit.SIPFacts{Answers: audit.No, Response: j.err.Error()}
			}
		} else {
			endpointFacts(&ep, j.res, j.err)
		}
		if pl.aspect == audit.Chat {
			facts.Chat.Endpoints = append(facts.Chat.Endpoints, ep)
		} else {
			facts.Telephony.Endpoints = append(facts.Telephony.Endpoints, ep)
		}
	}
	return facts
}

// accountRoots is accountRoots, read once per CA file in a run.
func (r *Runner) accountRoots(a config.Account) (*x509.CertPool, error) {
	if a.CAFile == "" {
		return nil, nil
	}
	r.rootsMu.Lock()
	defer r.rootsMu.Unlock()
	if p, ok := r.roots[a.CAFile]; ok {
		return p, nil
	}
	p, err := accountRoots(a)
	if err != nil {
		return nil, err
	}
	if r.roots == nil {
		r.roots = map[string]*x509.CertPool{}
	}
	r.roots[a.CAFile] = p
	return p, nil
}

// dial resolves host names with r.DNS, so that the endpoints DNS named and
// their addresses come from the same server (--resolver); Go's resolver
// would ask the system's.
func (r *Runner) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return d.DialContext(ctx, network, addr)
	}
	var ips []string
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.DNS.Query(ctx, dns.Fqdn(host), qt)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				ips = append(ips, a.A.String())
			case *dns.AAAA:
				ips = append(ips, a.AAAA.String())
			}
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no address", host)
	}
	var last error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}
