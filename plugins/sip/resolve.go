package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/pkg/protocol"
)

// Target is one address to send SIP requests to, as RFC 3263 §4 orders
// them: the caller tries them in turn.
type Target struct {
	// Transport is "udp", "tcp" or "tls".
	Transport string
	// Addr is the IP address and port.
	Addr netip.AddrPort
	// Host is the name the address was found for (an SRV target, the
	// domain, or the IP itself), for logs and reports.
	Host string
	// Via says how it was found: "ip", "a", "srv" or "naptr".
	Via string
}

func (t Target) String() string {
	return fmt.Sprintf("%s %s (%s via %s)", t.Transport, t.Addr, t.Host, t.Via)
}

// Resolver implements the client side of RFC 3263 (NAPTR → SRV → A/AAAA)
// with github.com/miekg/dns, because Go's resolver has no NAPTR lookup and
// sipgo's own lookup is A-first and asks for _sip._tls (see doc.go).
type Resolver struct {
	// Server is the DNS server to ask ("host:port"). Empty: the
	// nameservers in ResolvConf, and Go's resolver (which honours
	// /etc/hosts) for addresses.
	Server string
	// ResolvConf is the resolver configuration to read when Server is
	// empty; default /etc/resolv.conf.
	ResolvConf string
	// Timeout bounds one query to one server; default 2 s.
	Timeout time.Duration
	// intn returns a random int in [0, n); nil means math/rand/v2. Tests
	// pin it to make RFC 2782 weighted selection predictable.
	intn func(n int) int
}

// transports in the client's order of preference (RFC 3263 §4.1 leaves it
// to the client; TLS first).
var srvServices = []struct {
	transport, prefix, naptr string
}{
	{"tls", "_sips._tcp.", "SIPS+D2T"},
	{"tcp", "_sip._tcp.", "SIP+D2T"},
	{"udp", "_sip._udp.", "SIP+D2U"},
}

func defaultPort(transport string) uint16 {
	if transport == "tls" {
		return 5061
	}
	return 5060
}

// Resolve returns the targets for host. port 0 and transport "" mean that
// the URI did not give them; secure is true for a sips: URI, which only
// TLS may carry (RFC 3263 §4.1). The error wraps protocol.ErrUnreachable
// when DNS fails or finds nothing.
func (r *Resolver) Resolve(ctx context.Context, host string, port int, transport string, secure bool) ([]Target, error) {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if secure && transport != "" && transport != "tls" {
		return nil, fmt.Errorf("resolve %s: a sips: URI cannot use %s: %w", host, transport, protocol.ErrInvalid)
	}
	// RFC 3263 §4.1: a numeric IP or an explicit port skips NAPTR; without
	// a transport, UDP for sip and TLS for sips. §4.2: then A/AAAA only.
	fallback := transport
	if fallback == "" {
		fallback = "udp"
		if secure {
			fallback = "tls"
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		p := uint16(port)
		if p == 0 {
			p = defaultPort(fallback)
		}
		return []Target{{Transport: fallback, Addr: netip.AddrPortFrom(ip.Unmap(), p), Host: host, Via: "ip"}}, nil
	}
	if port != 0 {
		return r.hostTargets(ctx, host, uint16(port), fallback)
	}
	// §4.2: a transport without a port: SRV for that transport, then A/AAAA.
	if transport != "" {
		for _, svc := range srvServices {
			if svc.transport != transport {
				continue
			}
			ts, err := r.srvTargets(ctx, svc.prefix+host, transport, "srv")
			if err != nil || len(ts) > 0 {
				return ts, err
			}
		}
		return r.hostTargets(ctx, host, defaultPort(transport), transport)
	}
	// §4.1: NAPTR first.
	ts, found, err := r.naptrTargets(ctx, host, secure)
	if err != nil || found {
		return ts, err
	}
	// No usable NAPTR: SRV for each transport we support, in our order.
	for _, svc := range srvServices {
		if secure && svc.transport != "tls" {
			continue
		}
		ts, err := r.srvTargets(ctx, svc.prefix+host, svc.transport, "srv")
		if err != nil || len(ts) > 0 {
			return ts, err
		}
	}
	// No SRV either: A/AAAA, UDP for sip and TLS for sips (§4.1, §4.2).
	return r.hostTargets(ctx, host, defaultPort(fallback), fallback)
}

// naptrTargets follows the NAPTR records of domain (RFC 3263 §4.1, RFC
// 3403): the services we support in order/preference order, each to its
// SRV name; the first whose SRV lookup has records wins. found is false
// when there is no usable NAPTR record (the caller goes on with SRV).
func (r *Resolver) naptrTargets(ctx context.Context, domain string, secure bool) (ts []Target, found bool, err error) {
	rrs, err := r.query(ctx, domain, dns.TypeNAPTR)
	if err != nil {
		return nil, false, err
	}
	var recs []*dns.NAPTR
	for _, rr := range rrs {
		n, ok := rr.(*dns.NAPTR)
		// §4.1: SIP NAPTR records are terminal ("s") with an empty regexp.
		if !ok || !strings.EqualFold(n.Flags, "s") || n.Regexp != "" || n.Replacement == "." {
			continue
		}
		recs = append(recs, n)
	}
	slices.SortStableFunc(recs, func(a, b *dns.NAPTR) int {
		if a.Order != b.Order {
			return int(a.Order) - int(b.Order)
		}
		return int(a.Preference) - int(b.Preference)
	})
	for _, n := range recs {
		transport := ""
		for _, svc := range srvServices {
			if strings.EqualFold(n.Service, svc.naptr) {
				transport = svc.transport
			}
		}
		if transport == "" || secure && transport != "tls" {
			continue // a service we do not speak (SCTP, WS) or not TLS for sips
		}
		found = true
		ts, err := r.srvTargets(ctx, n.Replacement, transport, "naptr")
		if err != nil || len(ts) > 0 {
			return ts, true, err
		}
	}
	if found {
		return nil, true, fmt.Errorf("resolve %s: NAPTR records point to SRV names without records: %w", domain, protocol.ErrUnreachable)
	}
	return nil, false, nil
}

// srvTargets looks up name's SRV records and their addresses, ordered per
// RFC 2782: priority, then weighted random within a priority.
func (r *Resolver) srvTargets(ctx context.Context, name, transport, via string) ([]Target, error) {
	rrs, err := r.query(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	var srvs []*dns.SRV
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SRV); ok {
			srvs = append(srvs, s)
		}
	}
	// RFC 2782: a single record with target "." means "not offered here".
	if len(srvs) == 1 && srvs[0].Target == "." {
		return nil, nil
	}
	var out []Target
	var lastErr error
	for _, s := range r.orderSRV(srvs) {
		host := strings.TrimSuffix(s.Target, ".")
		ts, err := r.hostTargets(ctx, host, s.Port, transport)
		if err != nil {
			lastErr = err
			continue
		}
		for i := range ts {
			ts[i].Via = via
		}
		out = append(out, ts...)
	}
	if len(out) == 0 && len(srvs) > 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("resolve %s: no address for any SRV target: %w", name, protocol.ErrUnreachable)
		}
		return nil, lastErr
	}
	return out, nil
}

// orderSRV sorts by priority and, within a priority, picks records at
// random weighted by their weight (RFC 2782 "Usage rules").
func (r *Resolver) orderSRV(srvs []*dns.SRV) []*dns.SRV {
	intn := r.intn
	if intn == nil {
		intn = rand.IntN
	}
	byPrio := slices.Clone(srvs)
	slices.SortStableFunc(byPrio, func(a, b *dns.SRV) int { return int(a.Priority) - int(b.Priority) })
	var out []*dns.SRV
	for len(byPrio) > 0 {
		n := 1
		for n < len(byPrio) && byPrio[n].Priority == byPrio[0].Priority {
			n++
		}
		group := byPrio[:n]
		byPrio = byPrio[n:]
		// Zero-weight records first, so that they have a small chance when
		// others weigh more (RFC 2782).
		slices.SortStableFunc(group, func(a, b *dns.SRV) int {
			switch {
			case a.Weight == 0 && b.Weight != 0:
				return -1
			case a.Weight != 0 && b.Weight == 0:
				return 1
			}
			return 0
		})
		for len(group) > 0 {
			total := 0
			for _, s := range group {
				total += int(s.Weight)
			}
			pick := 0
			if total > 0 {
				x := intn(total + 1)
				sum := 0
				for i, s := range group {
					sum += int(s.Weight)
					if sum >= x {
						pick = i
						break
					}
				}
			}
			out = append(out, group[pick])
			group = slices.Delete(group, pick, pick+1)
		}
	}
	return out
}

// hostTargets resolves host's A and AAAA records (IPv4 first).
func (r *Resolver) hostTargets(ctx context.Context, host string, port uint16, transport string) ([]Target, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []Target{{Transport: transport, Addr: netip.AddrPortFrom(ip.Unmap(), port), Host: host, Via: "ip"}}, nil
	}
	var ips []netip.Addr
	if r.Server == "" {
		// Go's resolver honours /etc/hosts and nsswitch for plain names.
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w: %w", host, err, protocol.ErrUnreachable)
		}
		ips = addrs
	} else {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			rrs, err := r.query(ctx, host, qt)
			if err != nil {
				return nil, err
			}
			for _, rr := range rrs {
				switch a := rr.(type) {
				case *dns.A:
					if ip, ok := netip.AddrFromSlice(a.A); ok {
						ips = append(ips, ip.Unmap())
					}
				case *dns.AAAA:
					if ip, ok := netip.AddrFromSlice(a.AAAA); ok {
						ips = append(ips, ip)
					}
				}
			}
		}
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		switch {
		case a.Is4() && !b.Is4():
			return -1
		case !a.Is4() && b.Is4():
			return 1
		}
		return 0
	})
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no address found: %w", host, protocol.ErrUnreachable)
	}
	out := make([]Target, 0, len(ips))
	for _, ip := range ips {
		out = append(out, Target{Transport: transport, Addr: netip.AddrPortFrom(ip.Unmap(), port), Host: host, Via: "a"})
	}
	return out, nil
}

// servers returns the DNS servers to ask.
func (r *Resolver) servers() ([]string, error) {
	if r.Server != "" {
		return []string{r.Server}, nil
	}
	file := r.ResolvConf
	if file == "" {
		file = "/etc/resolv.conf"
	}
	cfg, err := dns.ClientConfigFromFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w: %w", file, err, protocol.ErrUnreachable)
	}
	var out []string
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s names no nameserver: %w", file, protocol.ErrUnreachable)
	}
	return out, nil
}

// errNoServer is returned when every server failed to answer.
var errNoServer = errors.New("no DNS server answered")

// query asks each server in turn for name/qtype and returns the answer
// section. NXDOMAIN and an empty answer are not errors (no records).
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	servers, err := r.servers()
	if err != nil {
		return nil, err
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	lastErr := errNoServer
	for _, srv := range servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		qctx, cancel := context.WithTimeout(ctx, timeout)
		c := &dns.Client{Net: "udp", Timeout: timeout}
		in, _, err := c.ExchangeContext(qctx, m, srv)
		if err == nil && in.Truncated {
			// RFC 7766: retry over TCP when the UDP answer was truncated.
			c.Net = "tcp"
			in, _, err = c.ExchangeContext(qctx, m, srv)
		}
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess:
			return in.Answer, nil
		case dns.RcodeNameError:
			return nil, nil
		default:
			lastErr = fmt.Errorf("%s answered %s", srv, dns.RcodeToString[in.Rcode])
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("resolve %s %s: %w: %w", dns.TypeToString[qtype], name, lastErr, protocol.ErrUnreachable)
}
