package discover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/cusax/cusax/pkg/protocol"
)

// Transport says how an endpoint is spoken to. Its value is also the
// prefix of Endpoint.ID.
type Transport string

// Transports.
const (
	// XMPPStartTLS: _xmpp-client._tcp (RFC 6120 §3.2.1), TLS after
	// <starttls/>; fallback port 5222 (RFC 6120 §3.2.2).
	XMPPStartTLS Transport = "xmpp-starttls"
	// XMPPTLS: _xmpps-client._tcp (XEP-0368), TLS from the first byte.
	XMPPTLS Transport = "xmpp-tls"
	// SIPTLS: SIP over TLS (NAPTR SIPS+D2T, _sips._tcp; port 5061).
	SIPTLS Transport = "sip-tls"
	// SIPTCP: SIP over TCP without TLS (SIP+D2T, _sip._tcp; port 5060).
	SIPTCP Transport = "sip-tcp"
	// SIPUDP: SIP over UDP (SIP+D2U, _sip._udp; port 5060).
	SIPUDP Transport = "sip-udp"
)

// DirectTLS reports whether TLS starts with the first byte (XMPPTLS,
// SIPTLS). XMPPStartTLS upgrades in band; SIPTCP and SIPUDP have no TLS.
func (t Transport) DirectTLS() bool { return t == XMPPTLS || t == SIPTLS }

// Method says how an endpoint, or an aspect's endpoints, were found.
type Method string

// Methods.
const (
	// MethodNAPTR: a NAPTR record named the SRV record (RFC 3263 §4.1).
	MethodNAPTR Method = "naptr"
	// MethodSRV: an SRV record at the well-known name (RFC 2782).
	MethodSRV Method = "srv"
	// MethodFallback: no SRV record; the domain itself at the default port
	// (RFC 6120 §3.2.2, RFC 3263 §4.2).
	MethodFallback Method = "fallback"
)

// Tri is a yes/no observation that may be unknown because the lookups
// that decide it failed. Its values are those of audit.Tri, so
// audit.Tri(t) converts.
type Tri int8

// Tri values.
const (
	Unknown Tri = iota
	Yes
	No
)

// MaxEndpoints caps the endpoints of one aspect. The cap is shared fairly
// between the record sets (round robin), so that a huge _xmpp-client._tcp
// set cannot crowd out _xmpps-client._tcp; Discovery.Omitted counts the
// endpoints left out.
const MaxEndpoints = 16

// maxRecords caps Discovery.Records; a last line "; N more records not
// shown" says how many were left out.
const maxRecords = 64

// maxNAPTRFollow caps the distinct NAPTR replacements followed per domain.
const maxNAPTRFollow = 8

// maxCNAME bounds the CNAME chain followed inside one answer.
const maxCNAME = 8

// Endpoint is one published (or fallback) endpoint an auditor probes.
type Endpoint struct {
	Transport Transport
	// Host is the SRV target (lower case, no trailing dot) or, for a
	// fallback, the domain. It is a syntactically valid host name; targets
	// that are not are left out with a note.
	Host string
	Port int
	// Method is how this endpoint was found.
	Method Method
	// Priority and Weight are the SRV record's; 0 for a fallback.
	Priority, Weight int
	// Record is the SRV record it comes from, as in Discovery.Records;
	// empty for a fallback.
	Record string
}

// Addr is "host:port", for dialling.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// ID names the endpoint the way audit findings do:
// "xmpp-starttls:xmpp.example.com:5222", "sip-tls:sip.example.com:5061".
func (e Endpoint) ID() string { return fmt.Sprintf("%s:%s:%d", e.Transport, e.Host, e.Port) }

// Discovery is what DNS publishes for one aspect (chat or telephony) of a
// domain.
type Discovery struct {
	// Domain is the service domain asked about (lower case, no final dot).
	Domain string
	// Method is "naptr" when any endpoint came through NAPTR, else "srv"
	// when SRV records were found (also when they only say "not offered"),
	// else "fallback".
	Method Method
	// Endpoints are every endpoint to probe, at most MaxEndpoints: each
	// record set ordered by priority, then weight (heaviest first), then
	// host and port; record sets in lookup order (chat: STARTTLS, direct
	// TLS; telephony: NAPTR order, else TLS, TCP, UDP). Duplicates are
	// removed. Empty when Unavailable, or when every record found was
	// unusable (see Notes).
	Endpoints []Endpoint
	// Omitted counts the endpoints left out by the MaxEndpoints cap.
	Omitted int
	// Records are the records found, as zone-file-like lines without TTL
	// and class, for evidence:
	//   _xmpp-client._tcp.example.test. SRV 5 0 5222 xmpp.example.test.
	//   example.test. NAPTR 10 50 "s" "SIPS+D2T" "" _sips._tcp.example.test.
	Records []string
	// TLSPublished: a TLS-only record exists: _xmpps-client._tcp for chat;
	// NAPTR SIPS+D2T or _sips._tcp for telephony. A "." target is No.
	// Unknown when the deciding lookups failed.
	TLSPublished Tri
	// NotOffered lists the SRV owner names whose only target is ".": the
	// service is decidedly not available there (RFC 2782), and no
	// fallback is tried for that transport.
	NotOffered []string
	// Unavailable is true when the aspect has no endpoint because every
	// transport is decidedly not offered (NotOffered) and no lookup
	// failed: there is nothing to probe, and that is what the domain
	// says, not a failure.
	Unavailable bool
	// Notes are remarks for the report: records ignored (unusable target,
	// unknown NAPTR service), caps applied.
	Notes []string
	// Err is set when lookups failed (SERVFAIL, REFUSED, timeout): the
	// joined errors, each wrapping protocol.ErrUnreachable. The lookups
	// that answered still count; when none found records, Endpoints holds
	// the fallback, as a client would use it (RFC 6120 §3.2.1).
	Err error
}

// Service is both aspects of one service domain.
type Service struct {
	Domain    string
	Chat      Discovery
	Telephony Discovery
}

// Domain discovers both aspects of domain at once: LookupChat and
// LookupTelephony. Its error contract is theirs: an invalid domain
// (protocol.ErrInvalid) or no usable resolver configuration
// (protocol.ErrUnreachable) is an error and nothing is looked up; DNS
// failures are in Chat.Err and Telephony.Err with a nil error; when ctx
// ends the partial Service comes with ctx's error.
func (r *Resolver) Domain(ctx context.Context, domain string) (Service, error) {
	d, err := r.prepare(domain)
	if err != nil {
		return Service{Domain: d}, err
	}
	s := Service{Domain: d}
	var wg sync.WaitGroup
	wg.Go(func() { s.Chat = r.chat(ctx, d) })
	wg.Go(func() { s.Telephony = r.telephony(ctx, d) })
	wg.Wait()
	return s, ctx.Err()
}

// LookupChat discovers the XMPP client endpoints of domain: every target
// of _xmpp-client._tcp (STARTTLS, RFC 6120 §3.2.1) and _xmpps-client._tcp
// (direct TLS, XEP-0368), both looked up at once. Without any usable SRV
// record it falls back to domain:5222 with STARTTLS (RFC 6120 §3.2.2),
// unless _xmpp-client._tcp says "." (not offered).
//
// Error contract: an invalid domain is an error wrapping
// protocol.ErrInvalid, an unusable resolver configuration one wrapping
// protocol.ErrUnreachable; nothing is looked up then. A failed lookup is
// not an error but Discovery.Err. When ctx ends, the partial Discovery
// comes with ctx's error.
func (r *Resolver) LookupChat(ctx context.Context, domain string) (Discovery, error) {
	d, err := r.prepare(domain)
	if err != nil {
		return Discovery{Domain: d}, err
	}
	disc := r.chat(ctx, d)
	return disc, ctx.Err()
}

// LookupTelephony discovers the SIP endpoints of domain as RFC 3263 §4.1
// has a client find them, but every transport and every target: the
// NAPTR records of domain with services SIPS+D2T, SIP+D2T and SIP+D2U,
// each followed to its SRV record set (plus _sips._tcp when no SIPS+D2T
// record is published, as a sips: client would look there); without such
// NAPTR records, the SRV sets _sips._tcp, _sip._tcp and _sip._udp; without
// any usable SRV record, the domain itself at 5061 (TLS), 5060 (TCP) and
// 5060 (UDP) (RFC 3263 §4.2), leaving out transports whose SRV record says
// ".".
//
// Error contract: as LookupChat.
func (r *Resolver) LookupTelephony(ctx context.Context, domain string) (Discovery, error) {
	d, err := r.prepare(domain)
	if err != nil {
		return Discovery{Domain: d}, err
	}
	disc := r.telephony(ctx, d)
	return disc, ctx.Err()
}

// prepare checks domain and the resolver configuration.
func (r *Resolver) prepare(domain string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return d, fmt.Errorf("discover %q: an IP address has no service records: %w", domain, protocol.ErrInvalid)
	}
	if !validHost(d) {
		return d, fmt.Errorf("discover %q: not a domain name: %w", domain, protocol.ErrInvalid)
	}
	_, err := r.Servers()
	return d, err
}

// lookup states of one record set.
type setState int8

const (
	setNotFound   setState = iota // NXDOMAIN or no SRV record
	setFound                      // at least one SRV record with a real target
	setNotOffered                 // only "." targets (RFC 2782)
	setFailed                     // the query failed
)

// srvQuery is one SRV record set to look up.
type srvQuery struct {
	name      string // owner name, no final dot
	transport Transport
	method    Method
}

// srvSet is the outcome of one srvQuery.
type srvSet struct {
	srvQuery
	state   setState
	eps     []Endpoint
	records []string
	notes   []string
	err     error
}

// lookupSRV runs the queries at once.
func (r *Resolver) lookupSRV(ctx context.Context, qs []srvQuery) []srvSet {
	out := make([]srvSet, len(qs))
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Go(func() {
			rrs, err := r.Query(ctx, q.name, dns.TypeSRV)
			if err != nil {
				out[i] = srvSet{srvQuery: q, state: setFailed, err: err}
				return
			}
			out[i] = parseSRV(q, rrs)
		})
	}
	wg.Wait()
	return out
}

// parseSRV turns the answer to q into endpoints. It never fails: records
// of other names and types are ignored, unusable targets become notes.
func parseSRV(q srvQuery, rrs []dns.RR) srvSet {
	s := srvSet{srvQuery: q}
	names, cnames := chain(q.name, rrs)
	for _, c := range cnames {
		s.records = append(s.records, zoneLine(c))
	}
	dots := 0
	var real []*dns.SRV
	for _, rr := range rrs {
		srv, ok := rr.(*dns.SRV)
		if !ok || !names[strings.ToLower(srv.Hdr.Name)] {
			continue
		}
		s.records = append(s.records, zoneLine(srv))
		if srv.Target == "." {
			dots++
			continue
		}
		real = append(real, srv)
	}
	switch {
	case len(real) > 0:
		s.state = setFound
		if dots > 0 {
			s.notes = append(s.notes, fmt.Sprintf("%s: %d \".\" target(s) among real ones ignored (RFC 2782)", q.name, dots))
		}
	case dots > 0:
		s.state = setNotOffered
		return s
	default:
		return s
	}
	slices.SortStableFunc(real, func(a, b *dns.SRV) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(b.Weight, a.Weight),
			cmp.Compare(strings.ToLower(a.Target), strings.ToLower(b.Target)), cmp.Compare(a.Port, b.Port))
	})
	for _, srv := range real {
		host := strings.ToLower(strings.TrimSuffix(srv.Target, "."))
		switch {
		case !validHost(host):
			s.notes = append(s.notes, fmt.Sprintf("%s: target %s is not a host name; ignored", q.name, quoteCap(srv.Target)))
			continue
		case srv.Port == 0:
			s.notes = append(s.notes, fmt.Sprintf("%s: target %s has port 0; ignored", q.name, srv.Target))
			continue
		}
		s.eps = append(s.eps, Endpoint{
			Transport: q.transport, Host: host, Port: int(srv.Port), Method: q.method,
			Priority: int(srv.Priority), Weight: int(srv.Weight), Record: zoneLine(srv),
		})
	}
	return s
}

// chain returns the names whose records answer for name: name and the
// CNAME targets reachable from it inside rrs (a recursive server puts the
// chain in the answer), and the CNAME records followed.
func chain(name string, rrs []dns.RR) (map[string]bool, []dns.RR) {
	cur := strings.ToLower(dns.Fqdn(name))
	names := map[string]bool{cur: true}
	var used []dns.RR
	for range maxCNAME {
		next := ""
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) {
				next = strings.ToLower(c.Target)
				used = append(used, c)
				break
			}
		}
		if next == "" || names[next] {
			break
		}
		names[next], cur = true, next
	}
	return names, used
}

func (r *Resolver) chat(ctx context.Context, d string) Discovery {
	sets := r.lookupSRV(ctx, []srvQuery{
		{"_xmpp-client._tcp." + d, XMPPStartTLS, MethodSRV},
		{"_xmpps-client._tcp." + d, XMPPTLS, MethodSRV},
	})
	disc := assemble(d, nil, sets, []Endpoint{{Transport: XMPPStartTLS, Host: d, Port: 5222, Method: MethodFallback}})
	disc.TLSPublished = triOf(sets[1])
	return disc
}

func triOf(s srvSet) Tri {
	switch s.state {
	case setFound:
		return Yes
	case setFailed:
		return Unknown
	}
	return No
}

var sipTransport = map[string]Transport{"tls": SIPTLS, "tcp": SIPTCP, "udp": SIPUDP}

func (r *Resolver) telephony(ctx context.Context, d string) Discovery {
	var head srvSet // the NAPTR lookup: records, notes, error
	rrs, nerr := r.Query(ctx, d, dns.TypeNAPTR)
	head.err = nerr
	names, cnames := chain(d, rrs)
	for _, c := range cnames {
		head.records = append(head.records, zoneLine(c))
	}
	var mine []dns.RR
	for _, rr := range rrs {
		if n, ok := rr.(*dns.NAPTR); ok && names[strings.ToLower(n.Hdr.Name)] {
			head.records = append(head.records, zoneLine(n))
			mine = append(mine, n)
		}
	}
	var qs []srvQuery
	seen := map[srvQuery]bool{}
	sipsNAPTR := false
	for _, n := range SIPNAPTR(mine) {
		svc, ok := SIPServiceForNAPTR(n.Service)
		if !ok {
			head.notes = append(head.notes, fmt.Sprintf("%s: NAPTR service %s not followed (not a SIP transport probed here)", d, quoteCap(n.Service)))
			continue
		}
		repl := strings.ToLower(strings.TrimSuffix(n.Replacement, "."))
		q := srvQuery{repl, sipTransport[svc.Transport], MethodNAPTR}
		if seen[q] {
			continue
		}
		if len(qs) == maxNAPTRFollow {
			head.notes = append(head.notes, fmt.Sprintf("%s: more than %d NAPTR records; the rest not followed", d, maxNAPTRFollow))
			break
		}
		seen[q] = true
		qs = append(qs, q)
		sipsNAPTR = sipsNAPTR || svc.Transport == "tls"
	}
	switch {
	case len(qs) == 0:
		// RFC 3263 §4.1: no usable NAPTR record: SRV at the well-known
		// names, for every transport.
		for _, svc := range sipServices {
			qs = append(qs, srvQuery{svc.Prefix + d, sipTransport[svc.Transport], MethodSRV})
		}
	case !sipsNAPTR:
		// NAPTR names no SIPS+D2T: a client resolving a sips: URI then
		// tries _sips._tcp (§4.1), so the auditor looks there too.
		qs = append(qs, srvQuery{"_sips._tcp." + d, SIPTLS, MethodSRV})
	}
	sets := r.lookupSRV(ctx, qs)
	var fb []Endpoint
	for _, svc := range sipServices {
		fb = append(fb, Endpoint{Transport: sipTransport[svc.Transport], Host: d, Port: svc.Port, Method: MethodFallback})
	}
	disc := assemble(d, &head, sets, fb)
	switch {
	case sipsNAPTR:
		disc.TLSPublished = Yes
	default:
		disc.TLSPublished = No
		for _, s := range sets {
			if s.transport != SIPTLS {
				continue
			}
			switch t := triOf(s); {
			case t == Yes:
				disc.TLSPublished = Yes
			case t == Unknown && disc.TLSPublished != Yes:
				disc.TLSPublished = Unknown
			}
		}
		if nerr != nil && disc.TLSPublished == No {
			disc.TLSPublished = Unknown
		}
	}
	return disc
}

// assemble merges the record sets of one aspect (head: the NAPTR lookup,
// or nil) and applies the fallback and the caps.
func assemble(domain string, head *srvSet, sets []srvSet, fallback []Endpoint) Discovery {
	disc := Discovery{Domain: domain}
	var errs []error
	if head != nil {
		disc.Records = append(disc.Records, head.records...)
		disc.Notes = append(disc.Notes, head.notes...)
		if head.err != nil {
			errs = append(errs, head.err)
		}
	}
	found := false
	notOffered := map[Transport]bool{}
	for _, s := range sets {
		disc.Records = append(disc.Records, s.records...)
		disc.Notes = append(disc.Notes, s.notes...)
		switch s.state {
		case setFailed:
			errs = append(errs, s.err)
		case setFound:
			found = true
		case setNotOffered:
			disc.NotOffered = append(disc.NotOffered, s.name+".")
			notOffered[s.transport] = true
		}
	}
	disc.Err = errors.Join(errs...)
	if n := len(disc.Records); n > maxRecords {
		disc.Records = append(disc.Records[:maxRecords:maxRecords], fmt.Sprintf("; %d more records not shown", n-maxRecords))
	}

	// Round robin over the sets decides how many endpoints each keeps.
	quota := make([]int, len(sets))
	total, left := 0, 0
	for _, s := range sets {
		left += len(s.eps)
	}
	for total < MaxEndpoints && left > 0 {
		for i, s := range sets {
			if quota[i] < len(s.eps) && total < MaxEndpoints {
				quota[i]++
				total++
				left--
			}
		}
	}
	disc.Omitted = left
	seen := map[string]bool{}
	for i, s := range sets {
		for _, ep := range s.eps[:quota[i]] {
			if id := ep.ID(); !seen[id] {
				seen[id] = true
				disc.Endpoints = append(disc.Endpoints, ep)
			}
		}
	}
	if disc.Omitted > 0 {
		disc.Notes = append(disc.Notes, fmt.Sprintf("%d endpoints published, only the first %d are probed", total+disc.Omitted, MaxEndpoints))
	}

	switch {
	case slices.ContainsFunc(disc.Endpoints, func(e Endpoint) bool { return e.Method == MethodNAPTR }):
		disc.Method = MethodNAPTR
	case found || len(disc.NotOffered) > 0:
		disc.Method = MethodSRV
	}
	if found {
		return disc
	}
	// RFC 6120 §3.2.2, RFC 3263 §4.2: no SRV record (or the lookup
	// failed): the domain itself, except for transports declared "not
	// offered" (RFC 2782).
	for _, ep := range fallback {
		if !notOffered[ep.Transport] {
			disc.Endpoints = append(disc.Endpoints, ep)
		}
	}
	if len(disc.Endpoints) > 0 {
		disc.Method = MethodFallback
	} else {
		// Only a complete answer can say "decidedly not available".
		disc.Unavailable = disc.Err == nil && len(disc.NotOffered) > 0
	}
	return disc
}

// zoneLine renders rr as "owner TYPE rdata", without TTL and class.
func zoneLine(rr dns.RR) string {
	h := rr.Header()
	rdata := strings.TrimPrefix(rr.String(), h.String())
	return h.Name + " " + dns.TypeToString[h.Rrtype] + " " + rdata
}

// quoteCap quotes s for a note, cut to 80 bytes.
func quoteCap(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}

// validHost reports whether s (no final dot) is a host name a prober can
// dial: labels of letters, digits, '-' and '_' (seen in real SRV targets),
// 1–63 bytes each, 253 in all (RFC 1035 §2.3.4). The presentation form
// miekg/dns gives escapes any other byte with '\', which fails here.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
