package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/pkg/discover"
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

// srvServices are the transports in the client's order of preference
// (RFC 3263 §4.1 leaves it to the client; TLS first).
var srvServices = discover.SIPServices()

// shared is the shared query code, with this resolver's settings.
func (r *Resolver) shared() *discover.Resolver {
	return &discover.Resolver{Server: r.Server, ResolvConf: r.ResolvConf, Timeout: r.Timeout}
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
			if svc.Transport != transport {
				continue
			}
			ts, err := r.srvTargets(ctx, svc.Prefix+host, transport, "srv")
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
		if secure && svc.Transport != "tls" {
			continue
		}
		ts, err := r.srvTargets(ctx, svc.Prefix+host, svc.Transport, "srv")
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
	recs := discover.SIPNAPTR(rrs)
	for _, n := range recs {
		svc, ok := discover.SIPServiceForNAPTR(n.Service)
		transport := svc.Transport
		if !ok || secure && transport != "tls" {
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
	return discover.OrderSRV(srvs, r.intn)
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
func (r *Resolver) servers() ([]string, error) { return r.shared().Servers() }

// query asks each server in turn for name/qtype and returns the answer
// section. NXDOMAIN and an empty answer are not errors (no records).
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	return r.shared().Query(ctx, name, qtype)
}
