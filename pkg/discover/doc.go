// Package discover finds, through DNS, every endpoint a CUSAX service
// domain publishes for its two aspects (RFC 7081): chat (XMPP) and
// telephony (SIP). It is the discovery step of `cusax audit-tls --domain`
// (issue 6): an auditor probes every published endpoint, not just the one
// a client would pick, so all SRV targets are returned, in a stable order.
//
// It asks DNS servers directly with github.com/miekg/dns (Go's resolver
// has no NAPTR lookup and folds SERVFAIL and timeouts into one error).
// plugins/sip's RFC 3263 resolver, which resolves down to addresses for
// sending, uses the same query code (Resolver.Query, Servers, OrderSRV,
// SIPNAPTR, SIPServices).
//
// # What is looked up
//
// Chat (LookupChat):
//   - _xmpp-client._tcp.D SRV: XMPP with STARTTLS (RFC 6120 §3.2.1);
//   - _xmpps-client._tcp.D SRV: XMPP with direct TLS (XEP-0368);
//   - without any usable SRV record (none found, or the lookups failed):
//     D:5222 with STARTTLS (RFC 6120 §3.2.2). There is no direct TLS
//     fallback (XEP-0368 defines none).
//
// Telephony (LookupTelephony), RFC 3263 §4.1 for every transport:
//   - D NAPTR, keeping terminal ("s"), regexp-free records with services
//     SIPS+D2T, SIP+D2T, SIP+D2U in order/preference order; each is
//     followed to its SRV replacement (at most 8 distinct ones). Other
//     services (SCTP, WebSocket) are noted, not followed. When the NAPTR
//     records name no SIPS+D2T, _sips._tcp.D is asked too, as a client
//     resolving a sips: URI would;
//   - without usable NAPTR records: _sips._tcp.D, _sip._tcp.D, _sip._udp.D;
//   - without any usable SRV record: D:5061 (TLS), D:5060 (TCP), D:5060
//     (UDP) (RFC 3263 §4.2).
//
// Lookups of one step run at once, so one aspect takes at most two query
// rounds (NAPTR, then SRV), each bounded by Resolver.Timeout per server.
//
// A record set whose only target is "." says the service is "decidedly
// not available" there (RFC 2782): the name is listed in
// Discovery.NotOffered, and no fallback is tried for that transport. When
// that leaves an aspect without endpoints and no lookup failed,
// Discovery.Unavailable is true. NXDOMAIN and empty answers are "not
// found" (fallback); SERVFAIL, REFUSED and timeouts are failures
// (Discovery.Err), after which the fallback is still listed, as a client
// would still use it.
//
// Answers are read defensively: only records owned by the name asked (or
// a CNAME chain from it, at most 8 links, loops cut) count; SRV targets
// that are not host names, port 0, and "." mixed with real targets are
// left out with a note (Discovery.Notes). At most MaxEndpoints (16)
// endpoints per aspect are kept, shared round robin between the record
// sets (Discovery.Omitted counts the rest), and at most 64 evidence
// records (a final "; N more records not shown" line). A truncated UDP
// answer is asked again over TCP.
//
// # Error contract
//
// Domain, LookupChat and LookupTelephony return an error only when
// nothing could be looked up — an invalid domain or an IP address
// (protocol.ErrInvalid), no usable resolver configuration
// (protocol.ErrUnreachable) — or when ctx ended (ctx's error, with the
// partial result). DNS failures are facts of the aspect: Discovery.Err,
// joined errors each wrapping protocol.ErrUnreachable.
//
// # Turning a Discovery into audit facts (for pkg/core/auditrun)
//
//	r := &discover.Resolver{Timeout: opts.Timeout}   // Server "" = /etc/resolv.conf
//	d, err := r.LookupChat(ctx, jidDomain)            // or LookupTelephony(ctx, aorDomain), or Domain
//	if err != nil { return err }                      // invalid input, no resolver, or ctx ended
//	disc := audit.Discovery{
//		Method:       string(d.Method),               // map "naptr" to "srv": audit's "srv" covers NAPTR→SRV
//		Records:      d.Records,
//		TLSPublished: audit.Tri(d.TLSPublished),      // same values: Unknown, Yes, No
//	}
//	if d.Err != nil { disc.Error = d.Err.Error() }
//	for _, ep := range d.Endpoints {
//		// ep.ID() is "xmpp-starttls:host:port", "xmpp-tls:…", "sip-tls:…",
//		// "sip-tcp:…", "sip-udp:…": the IDs auditrun already uses.
//		switch ep.Transport {
//		case discover.XMPPStartTLS: // tlsprobe.Endpoint{Addr: ep.Addr(), Mode: tlsprobe.ModeXMPPStartTLS, XMPPDomain: d.Domain}, audit.StartTLS
//		case discover.XMPPTLS:      // tlsprobe.Endpoint{Addr: ep.Addr(), Mode: tlsprobe.ModeTLS, XMPPDomain: d.Domain}, audit.DirectTLS
//		case discover.SIPTLS:       // tlsprobe.Endpoint{Addr: ep.Addr(), Mode: tlsprobe.ModeTLS, ServerName: d.Domain}, audit.DirectTLS
//		case discover.SIPTCP, discover.SIPUDP: // plaintext SIP: not a TLS probe; a PlaintextTransports candidate
//		}
//	}
//
// Fallback endpoints (Method "fallback") are candidates, not published
// endpoints: a refused connection there says "nothing listens", not
// "broken endpoint". Notes and Omitted belong in the report's evidence;
// Unavailable means "the domain says it offers no such service".
package discover
