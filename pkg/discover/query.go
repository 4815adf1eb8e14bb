package discover

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/pkg/protocol"
)

// Resolver asks DNS servers directly with github.com/miekg/dns, because
// Go's resolver has no NAPTR lookup (RFC 3263 §4.1 needs one) and does not
// tell a SERVFAIL from a timeout. The zero value asks the nameservers of
// /etc/resolv.conf with a 2 s timeout per query and server.
type Resolver struct {
	// Server is the DNS server to ask ("host:port"). Empty: the
	// nameservers in ResolvConf, in turn.
	Server string
	// ResolvConf is the resolver configuration read when Server is empty;
	// default /etc/resolv.conf.
	ResolvConf string
	// Timeout bounds one query to one server (a truncated UDP answer and
	// its TCP retry share it); default 2 s.
	Timeout time.Duration
}

// DefaultTimeout is the per-query, per-server timeout of a zero Resolver.
const DefaultTimeout = 2 * time.Second

// Servers returns the DNS servers Query asks, in order: Server, else the
// nameservers of ResolvConf with its port.
//
// Error contract: an unreadable resolver configuration, or one that names
// no nameserver, is an error wrapping protocol.ErrUnreachable.
func (r *Resolver) Servers() ([]string, error) {
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

// Query asks each server (see Servers) in turn for name/qtype, with
// recursion desired, over UDP and, when the answer is truncated, again
// over TCP (RFC 7766 §5), and returns the answer section as received: the
// caller picks the records it wants (it may hold CNAMEs or, from a hostile
// server, records of other names).
//
// Error contract: NXDOMAIN and an empty answer (NODATA) are not errors:
// they return no records and a nil error ("not found"). Any other rcode
// (SERVFAIL, REFUSED, …) and a server that does not answer within Timeout
// make Query try the next server; when none answered usefully the error
// names the last failure and wraps protocol.ErrUnreachable. When ctx ends,
// ctx's error is returned unwrapped.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	servers, err := r.Servers()
	if err != nil {
		return nil, err
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
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

// SIPService is one SIP transport as RFC 3263 §4.1 names it in NAPTR
// services and SRV owner names.
type SIPService struct {
	// Transport is "tls", "tcp" or "udp".
	Transport string
	// Prefix is the SRV owner-name prefix: "_sips._tcp." etc.
	Prefix string
	// NAPTR is the NAPTR service field: "SIPS+D2T" etc.
	NAPTR string
	// Port is the default port (RFC 3261 §19.1.2): 5061 for TLS, else 5060.
	Port int
}

var sipServices = [...]SIPService{
	{"tls", "_sips._tcp.", "SIPS+D2T", 5061},
	{"tcp", "_sip._tcp.", "SIP+D2T", 5060},
	{"udp", "_sip._udp.", "SIP+D2U", 5060},
}

// SIPServices returns the SIP transports this package knows, in the
// client's order of preference (RFC 3263 §4.1 leaves it to the client;
// TLS first). The slice is a fresh copy.
func SIPServices() []SIPService { return slices.Clone(sipServices[:]) }

// SIPServiceForNAPTR returns the transport of a NAPTR service field
// (case-insensitive), or false for a service this package does not know
// (SCTP, WebSocket, …).
func SIPServiceForNAPTR(service string) (SIPService, bool) {
	for _, s := range sipServices {
		if strings.EqualFold(service, s.NAPTR) {
			return s, true
		}
	}
	return SIPService{}, false
}

// SIPNAPTR picks from rrs the NAPTR records RFC 3263 §4.1 lets a SIP
// client follow: terminal (flag "s"), empty regexp, a replacement other
// than "." — and sorts them by order, then preference (RFC 3403 §4.1).
// The service field is not checked (see SIPServiceForNAPTR). It never
// fails; other record types are ignored.
func SIPNAPTR(rrs []dns.RR) []*dns.NAPTR {
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
	return recs
}

// OrderSRV returns srvs in the order RFC 2782 ("Usage rules") has a client
// try them: by priority, and within a priority at random weighted by
// weight, zero-weight records first so that they keep a small chance.
// intn returns a random int in [0, n); nil means math/rand/v2.IntN (tests
// pin it). srvs is not modified. It never fails.
func OrderSRV(srvs []*dns.SRV, intn func(n int) int) []*dns.SRV {
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
