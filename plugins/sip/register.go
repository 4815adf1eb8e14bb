package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// maxSends bounds the REGISTERs of one exchange: the first, one answer to
// a 401 and one to a 407, one after a stale nonce, one after 423.
const maxSends = 5

// exchange is one REGISTER transaction sequence with its outcome.
type exchange struct {
	res     *gosip.Response      // the final response
	contact *gosip.ContactHeader // the Contact sent
	conn    gosip.Connection     // the connection it went over
	used    *challenge           // the last challenge answered, if any
	offered []string             // digest algorithms offered, in order
	expires uint32               // the expiry finally asked for
}

// exchange sends REGISTER to t with Expires: expires and answers digest
// challenges: one answer per challenge header, again only when the server
// says the nonce was stale (RFC 3261 §22.2, RFC 7616 §3.3). contact nil
// means a Contact for the local address of the flow. It returns the final
// response, which the caller judges, or an error wrapping a sentinel.
func (s *session) exchange(ctx context.Context, t Target, expires uint32, contact *gosip.ContactHeader) (*exchange, error) {
	ex := &exchange{expires: expires}
	creds := map[string]string{}
	answered := map[string]bool{}
	retried423 := false
	for range maxSends {
		req, conn, c, err := s.newRegister(ctx, t, ex.expires, contact, creds)
		if err != nil {
			return ex, err
		}
		ex.contact, ex.conn = c, conn
		res, err := s.roundTrip(ctx, t, req)
		if conn != nil {
			_, _ = conn.TryClose() // the reference newRegister took
		}
		if err != nil {
			return ex, s.transportError(t, "", err)
		}
		ex.res = res
		switch res.StatusCode {
		case gosip.StatusUnauthorized, gosip.StatusProxyAuthRequired:
			hdr := "WWW-Authenticate"
			if res.StatusCode == gosip.StatusProxyAuthRequired {
				hdr = "Proxy-Authenticate"
			}
			ch, offered, perr := pickChallenge(hdr, headerValues(res, hdr))
			for _, a := range offered {
				ex.offered = appendUnique(ex.offered, a)
			}
			if answered[hdr] && (ch == nil || !ch.Stale) {
				// Challenged again although we answered: wrong credentials.
				return ex, newError(protocol.ErrAuth, nil, "%d %s", res.StatusCode, res.Reason)
			}
			if perr != nil {
				return ex, newError(protocol.ErrProtocol, perr, "%d %s: %v", res.StatusCode, res.Reason, perr)
			}
			cred, err := digest.Digest(ch.Challenge, digest.Options{
				Method:   string(gosip.REGISTER),
				URI:      req.Recipient.String(),
				Username: s.authUser,
				Password: s.password,
			})
			if err != nil {
				return ex, newError(protocol.ErrProtocol, err, "digest %s: %v", ch.Algorithm, err)
			}
			creds[ch.AuthorizationHeader()] = cred.String()
			answered[hdr] = true
			ex.used = ch
			s.log.Debug("answering digest challenge", "header", hdr, "algorithm", ch.Algorithm,
				"realm", ch.Realm, "offered", strings.Join(offered, ","), "stale", ch.Stale)
			continue
		case gosip.StatusIntervalToBrief:
			// RFC 3261 §10.2.8: retry once with the registrar's minimum.
			minExp, ok := headerUint(res, "Min-Expires")
			if retried423 || !ok || minExp <= ex.expires {
				return ex, newError(protocol.ErrProtocol, nil, "%d %s", res.StatusCode, res.Reason)
			}
			retried423 = true
			ex.expires = minExp
			continue
		}
		return ex, nil
	}
	return ex, newError(protocol.ErrProtocol, nil, "no final answer after %d requests (last %d %s)", maxSends, ex.res.StatusCode, ex.res.Reason)
}

// newRegister builds one REGISTER for t and makes sure the flow to t
// exists: for UDP the session's connected socket, for TCP and TLS a pooled
// connection (dialled and, for TLS, verified now, before anything is
// written on it). The returned connection holds a reference the caller
// releases with TryClose.
func (s *session) newRegister(ctx context.Context, t Target, expires uint32, contact *gosip.ContactHeader, creds map[string]string) (*gosip.Request, gosip.Connection, *gosip.ContactHeader, error) {
	// RFC 3261 §10.2: the Request-URI names the registrar's domain, no user.
	ruri := gosip.Uri{Scheme: s.aor.Scheme, Host: s.aor.Host, Port: s.aor.Port}
	req := gosip.NewRequest(gosip.REGISTER, ruri)
	via := &gosip.ViaHeader{
		ProtocolName:    "SIP",
		ProtocolVersion: "2.0",
		Transport:       gosip.NetworkToUpper(t.Transport),
		Params:          gosip.NewParams(),
	}
	// RFC 3261 §8.1.1.7: a new branch for every request; RFC 3581 rport.
	via.Params.Add("branch", gosip.GenerateBranchN(16))
	via.Params.Add("rport", "")
	from := &gosip.FromHeader{DisplayName: quoteDisplayName(s.display), Address: s.aor, Params: gosip.NewParams()}
	from.Params.Add("tag", s.fromTag)
	to := &gosip.ToHeader{Address: s.aor}
	callID := gosip.CallIDHeader(s.callID)
	// RFC 3261 §10.2: one Call-ID per registrar, CSeq up by one each time.
	cseq := &gosip.CSeqHeader{SeqNo: s.cseq, MethodName: gosip.REGISTER}
	s.cseq++
	maxFwd := gosip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(cseq)
	req.AppendHeader(&maxFwd)
	// sipgo would pick UDP for a sips: Request-URI and resolve the host
	// A-first; pin both to the RFC 3263 result.
	req.SetTransport(gosip.NetworkToUpper(t.Transport))
	req.SetDestination(t.Addr.String())

	var conn gosip.Connection
	var local netip.AddrPort
	switch t.Transport {
	case "udp":
		c, err := s.udpSocket(ctx, t)
		if err != nil {
			return nil, nil, nil, err
		}
		local = c.LocalAddrPort()
		// sipgo sends from the socket bound to Laddr: ours.
		req.Laddr = gosip.Addr{IP: net.IP(local.Addr().AsSlice()), Port: int(local.Port())}
	default:
		var err error
		conn, err = s.streamConn(ctx, t, req)
		if err != nil {
			return nil, nil, nil, err
		}
		ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
		if err != nil {
			_, _ = conn.TryClose()
			return nil, nil, nil, newError(protocol.ErrProtocol, err, "local address: %v", err)
		}
		local = ap
	}
	if contact == nil {
		contact = s.contactFor(t, local)
	}
	exp := gosip.ExpiresHeader(expires)
	req.AppendHeader(contact)
	req.AppendHeader(&exp)
	// sipgo sends no User-Agent of its own (RFC 3261 §20.41).
	req.AppendHeader(gosip.NewHeader("User-Agent", "cusax/"+Version))
	for _, name := range []string{"Proxy-Authorization", "Authorization"} {
		if v, ok := creds[name]; ok {
			req.AppendHeader(gosip.NewHeader(name, v))
		}
	}
	req.SetBody(nil) // Content-Length: 0, required on TCP/TLS (RFC 3261 §20.14)
	return req, conn, contact, nil
}

// contactFor is the Contact for a flow from local over t (RFC 3261
// §10.2.1): the AOR's user at our address, with the transport. Over TLS a
// sips: AOR gets a sips: Contact (RFC 3261 §8.1.1.8) without
// transport=tls, which RFC 5630 §3.1.3 deprecates.
func (s *session) contactFor(t Target, local netip.AddrPort) *gosip.ContactHeader {
	u := gosip.Uri{Scheme: "sip", User: s.aor.User, Host: local.Addr().String(), Port: int(local.Port()), UriParams: gosip.NewParams()}
	switch {
	case t.Transport == "tls" && s.aor.IsEncrypted():
		u.Scheme = "sips"
	default:
		u.UriParams.Add("transport", t.Transport)
	}
	return &gosip.ContactHeader{Address: u}
}

// udpSocket returns the session's UDP socket for t, replacing one
// connected elsewhere.
func (s *session) udpSocket(ctx context.Context, t Target) (*connectedUDP, error) {
	if s.udp != nil && s.udp.raddr == t.Addr {
		return s.udp, nil
	}
	if s.udp != nil {
		_ = s.udp.Close()
		s.udp = nil
	}
	c, err := dialUDP(t.Addr)
	if err != nil {
		return nil, classify(err)
	}
	c.record = s.in.recordRaw
	go func() {
		// Returns when the socket is closed.
		_ = s.ua.TransportLayer().ServeUDP(c)
	}()
	select {
	case <-c.ready:
	case <-ctx.Done():
		_ = c.Close()
		return nil, classify(ctx.Err())
	}
	s.udp = c
	return c, nil
}

// streamConn returns a TCP or TLS connection to t from sipgo's pool,
// dialling it when there is none. A TLS handshake runs here, and its
// certificate check (certid, RFC 5922) aborts it before any request is
// written; sipgo does not retry over another transport.
func (s *session) streamConn(ctx context.Context, t Target, req *gosip.Request) (gosip.Connection, error) {
	prev := s.verif
	s.verif = certid.Verification{}
	tl := s.ua.TransportLayer()
	conn, err := tl.ClientRequestConnection(ctx, req)
	if tc, ok := conn.(*gosip.TCPConnection); ok && err == nil && flowClosed(tc) {
		// sipgo's pool can still hold a connection that was closed (a
		// failed write closes it; its read loop removes it only later):
		// every attempt would fail with "use of closed network connection".
		// Drop it and dial afresh.
		if p := tl.Pool(t.Transport); p != nil {
			p.Delete(tc.Conn.RemoteAddr().String())
		}
		conn, err = tl.ClientRequestConnection(ctx, req)
	}
	handshook := s.verif.Verified || s.verif.Chain != nil || s.verif.Err != nil
	if !handshook {
		s.verif = prev // a pooled connection: its handshake's result stands
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		if handshook && s.verif.Err != nil {
			return nil, newError(protocol.ErrCertificate, s.verif.Err, "TLS to %s: %v", t.Addr, s.verif.Err)
		}
		return nil, s.transportError(t, "connect", err)
	}
	if tc, ok := conn.(*gosip.TCPConnection); ok {
		if s.streams == nil {
			s.streams = map[*gosip.TCPConnection]bool{}
		}
		s.streams[tc] = true
	}
	return conn, nil
}

// roundTrip runs one client transaction and returns its final response.
// UDP: an ICMP error on the session's socket ends it at once.
func (s *session) roundTrip(ctx context.Context, t Target, req *gosip.Request) (*gosip.Response, error) {
	var refused <-chan struct{}
	if t.Transport == "udp" && s.udp != nil {
		s.udp.drainRefused()
		refused = s.udp.refused
	}
	tx, err := s.ua.TransactionLayer().Request(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	s.trace("sent", t, req.String())
	for {
		select {
		case res := <-tx.Responses():
			s.trace("received", t, res.String())
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("transaction ended without a response")
		case <-refused:
			return nil, errRefused
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *session) trace(dir string, t Target, msg string) {
	if s.log.IsTrace() {
		s.log.Trace("sip message", "dir", dir, "transport", t.Transport, "peer", t.Addr.String(), "msg", redact(msg))
	}
}

// statusError judges a final response: nil for 2xx, else an error wrapping
// the sentinel the status belongs to.
func statusError(res *gosip.Response) error {
	if res == nil {
		return newError(protocol.ErrProtocol, nil, "no response")
	}
	code := res.StatusCode
	var sentinel error
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == 401, code == 403, code == 407:
		sentinel = protocol.ErrAuth
	case code == 404, code == 604:
		sentinel = protocol.ErrNotFound
	case code == 408, code == 504:
		sentinel = protocol.ErrTimeout
	case code == 503:
		// RFC 3263 §4.3: 503 means try the next server.
		sentinel = protocol.ErrUnreachable
	default:
		sentinel = protocol.ErrProtocol
	}
	return newError(sentinel, nil, "%d %s", code, res.Reason)
}

// transportError describes a failure to reach t ("connect": while
// dialling or in the TLS handshake) or to get an answer from it, wrapping
// the sentinel classify finds.
func (s *session) transportError(t Target, phase string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s %s: %w", t.Transport, t.Addr, err)
	}
	e := classify(err)
	switch {
	case errors.Is(e, protocol.ErrCertificate):
		return e
	case errors.Is(e, protocol.ErrTimeout) && phase == "connect":
		return newError(protocol.ErrTimeout, err, "%s %s: connection not established in time (timeout %s)", t.Transport, t.Addr, s.timeout)
	case errors.Is(e, protocol.ErrTimeout):
		return newError(protocol.ErrTimeout, err, "no response from %s %s in time (timeout %s)", t.Transport, t.Addr, s.timeout)
	case errors.Is(e, protocol.ErrInsecure):
		return newError(protocol.ErrInsecure, err, "%s %s: %v", t.Transport, t.Addr, e)
	}
	return newError(protocol.ErrUnreachable, err, "%s %s: %s", t.Transport, t.Addr, reason(err))
}

// grantedExpiry reads the lifetime the registrar granted our contact (RFC
// 3261 §10.2.4): the expires parameter of our Contact in the 200, else
// the Expires header, else what we asked for.
func grantedExpiry(res *gosip.Response, ours *gosip.ContactHeader, asked uint32) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok || !sameContact(&c.Address, &ours.Address) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	if n, ok := headerUint(res, "Expires"); ok {
		return time.Duration(n) * time.Second
	}
	return time.Duration(asked) * time.Second
}

// stillBound reports whether the response lists ours as a binding
// with a lifetime left.
func stillBound(res *gosip.Response, ours *gosip.ContactHeader) bool {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok || !sameContact(&c.Address, &ours.Address) {
			continue
		}
		if v, ok := c.Params.Get("expires"); !ok || strings.TrimSpace(v) != "0" {
			return true
		}
	}
	return false
}

// sameContact compares the parts of two contact URIs that identify a
// binding (RFC 3261 §19.1.4, simplified: scheme, user, host, port).
func sameContact(a, b *gosip.Uri) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && a.User == b.User &&
		strings.EqualFold(strings.Trim(a.Host, "[]"), strings.Trim(b.Host, "[]")) && a.Port == b.Port
}

func headerValues(res *gosip.Response, name string) []string {
	var out []string
	for _, h := range res.GetHeaders(name) {
		out = append(out, h.Value())
	}
	return out
}

func headerUint(res *gosip.Response, name string) (uint32, bool) {
	h := res.GetHeader(name)
	if h == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
