package sipmessage

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// registerExpiry is the binding lifetime asked for; the session refreshes
// it at half what the registrar granted (RFC 3261 §10.2.4).
const registerExpiry = 300 * time.Second

// maxRequest is the largest MESSAGE sent. RFC 3428 §7: a MESSAGE must not
// exceed 1300 bytes unless every hop is congestion-controlled; the first
// hop is TCP or TLS, but the proxy may relay over UDP, which we cannot see.
const maxRequest = 1300

// session is one registered account.
type session struct {
	protocol.UnsupportedIMPPSession

	log       hclog.Logger
	aor       gosip.Uri
	flow      flow
	authUser  string
	password  string
	timeout   time.Duration
	tlsConfig *tls.Config
	ua        *sipgo.UserAgent

	mu        sync.Mutex          // the registration: Call-ID, CSeq, contact, report
	verif     certid.Verification // written by the TLS handshake, under mu
	regCallID string
	fromTag   string
	cseq      uint32
	contact   *gosip.ContactHeader
	conn      gosip.Connection       // the registered flow
	remote    atomic.Pointer[string] // its remote address: requests come only from there
	granted   time.Duration
	report    protocol.ConnectionReport
	closed    bool
	lost      error  // why the flow ended; nil while it stands
	answered  *offer // the challenge roundTripAuth answered last
	msgAuth   *offer // the proxy's challenge to MESSAGEs, answered ahead (Send)

	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when keep returns
	closeOnce sync.Once

	in inbox
}

var _ protocol.IMPPSession = (*session)(nil)

// remoteAddr is the registered flow's remote address ("" before one).
// Not under mu: a MESSAGE to ourselves arrives while Send holds mu.
func (s *session) remoteAddr() string {
	if r := s.remote.Load(); r != nil {
		return *r
	}
	return ""
}

// Report describes the registration as it was made.
func (s *session) Report() protocol.ConnectionReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.report
}

// register sends REGISTER for the AOR with expires over the flow (dialled
// now when there is none) and answers one challenge per header (RFC 3261
// §22.2). It fills s.report. Called under no lock by Connect, and by keep.
func (s *session) register(ctx context.Context, expires time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, local, err := s.dialLocked(ctx)
	if err != nil {
		return err
	}
	u := gosip.Uri{Scheme: "sip", User: s.aor.User, Host: local.Addr().String(), Port: int(local.Port()), UriParams: gosip.NewParams()}
	if s.flow.transport == "tls" && s.aor.Scheme == "sips" {
		u.Scheme = "sips" // RFC 3261 §8.1.1.8; RFC 5630 §3.1.3: no transport=tls
	} else {
		u.UriParams.Add("transport", s.flow.transport)
	}
	contact := &gosip.ContactHeader{Address: u}
	build := func() *gosip.Request {
		// RFC 3261 §10.2: Request-URI is the domain; one Call-ID per
		// registrar, CSeq up by one per REGISTER.
		req := s.newRequest(gosip.REGISTER, gosip.Uri{Scheme: s.aor.Scheme, Host: s.aor.Host, Port: s.aor.Port}, s.aor, s.regCallID)
		req.AppendHeader(contact)
		exp := gosip.ExpiresHeader(uint32(expires / time.Second))
		req.AppendHeader(&exp)
		return req
	}
	res, used, offered, err := s.roundTripAuth(ctx, build, nil)
	s.report.AuthOffered = offered
	if used != "" {
		s.report.AuthMechanism = "digest " + used
	}
	if err != nil {
		return err
	}
	if err := statusError(res); err != nil {
		return err
	}
	if s.report.AuthMechanism == "" {
		s.report.AuthMechanism = "none (registrar did not challenge)"
	}
	s.contact, s.conn = contact, conn
	if rc, ok := conn.(interface{ RemoteAddr() net.Addr }); ok {
		r := rc.RemoteAddr().String()
		s.remote.Store(&r)
	}
	s.granted = grantedFor(res, contact, expires)
	s.report.Address = contact.Address.String()
	s.report.Expires = s.granted
	s.report.Encrypted = s.flow.transport == "tls"
	if s.report.Encrypted {
		s.report.TLS = &protocol.TLSInfo{ServerName: s.tlsConfig.ServerName, Verified: s.verif.Verified, ServerAuth: s.verif.Method, Chain: s.verif.Chain}
		if tc, ok := tlsState(conn); ok {
			s.report.TLS.Version = tls.VersionName(tc.Version)
			s.report.TLS.CipherSuite = tls.CipherSuiteName(tc.CipherSuite)
		}
	}
	return nil
}

// grantedFor is the lifetime the registrar gave our binding (RFC 3261
// §10.2.4): the expires parameter of our Contact in the 200 (registrars
// such as Kamailio send only that), else the Expires header, else what was
// asked for.
func grantedFor(res *gosip.Response, ours *gosip.ContactHeader, asked time.Duration) time.Duration {
	secs := func(v string) (time.Duration, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return time.Duration(n) * time.Second, err == nil && n > 0
	}
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok || c.Address.User != ours.Address.User || !strings.EqualFold(c.Address.Host, ours.Address.Host) || c.Address.Port != ours.Address.Port {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if d, ok := secs(v); ok {
				return d
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if d, ok := secs(h.Value()); ok {
			return d
		}
	}
	return asked
}

// dialLocked returns the flow to the proxy, dialling it (and, for TLS,
// verifying the certificate before anything is written) when sipgo's pool
// has none, with the local address the Contact names.
func (s *session) dialLocked(ctx context.Context) (gosip.Connection, netip.AddrPort, error) {
	probe := s.newRequest(gosip.OPTIONS, s.aor, s.aor, "probe")
	prev := s.verif
	s.verif = certid.Verification{}
	conn, err := s.ua.TransportLayer().ClientRequestConnection(ctx, probe)
	handshook := s.verif.Verified || s.verif.Err != nil || s.verif.Chain != nil
	if !handshook {
		s.verif = prev // a pooled flow: its handshake stands
	}
	if err != nil {
		switch {
		case handshook && s.verif.Err != nil:
			return nil, netip.AddrPort{}, fmt.Errorf("TLS to %s: %w", s.flow.addr, s.verif.Err)
		case ctx.Err() != nil:
			return nil, netip.AddrPort{}, fmt.Errorf("%s %s: connection not established in time: %w", s.flow.transport, s.flow.addr, protocol.ErrTimeout)
		}
		return nil, netip.AddrPort{}, fmt.Errorf("%s %s: %v: %w", s.flow.transport, s.flow.addr, shortErr(err), protocol.ErrUnreachable)
	}
	// The reference ClientRequestConnection took is kept: the flow must
	// stay open while registered; ua.Close closes it.
	local, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("local address %q: %w", conn.LocalAddr(), protocol.ErrProtocol)
	}
	return conn, local, nil
}

// newRequest builds a request from the AOR to `to`, routed over the flow.
func (s *session) newRequest(method gosip.RequestMethod, ruri, to gosip.Uri, callID string) *gosip.Request {
	req := gosip.NewRequest(method, ruri)
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: strings.ToUpper(s.flow.transport), Params: gosip.NewParams()}
	via.Params.Add("branch", gosip.GenerateBranchN(16)) // RFC 3261 §8.1.1.7
	via.Params.Add("rport", "")                         // RFC 3581
	from := &gosip.FromHeader{Address: s.aor, Params: gosip.NewParams()}
	from.Params.Add("tag", s.fromTag)
	cid := gosip.CallIDHeader(callID)
	cseq := &gosip.CSeqHeader{SeqNo: s.cseq, MethodName: method}
	s.cseq++
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: to})
	req.AppendHeader(&cid)
	req.AppendHeader(cseq)
	req.AppendHeader(&mf)
	req.AppendHeader(gosip.NewHeader("User-Agent", "cusax-sipmessage/"+Version))
	req.SetTransport(strings.ToUpper(s.flow.transport))
	req.SetDestination(s.flow.addr)
	req.SetBody(nil)
	return req
}

// roundTripAuth sends build()'s request and, on 401/407, the same request
// again with credentials for the strongest challenge (RFC 8760 §2.4), once
// per challenge header; challenged again means the password is wrong
// (ErrAuth). It returns the final response and the algorithm used.
// Callers hold mu (cseq).
//
// pre, when set, is a challenge answered before (a MESSAGE's proxy
// challenge): the first request carries credentials for it with the next
// nonce-count, which saves the 407 round trip while the nonce is valid; a
// new challenge is answered as usual. s.answered is the challenge last
// answered.
func (s *session) roundTripAuth(ctx context.Context, build func() *gosip.Request, pre *offer) (*gosip.Response, string, []string, error) {
	creds := map[string]string{}
	var used string
	var offered []string
	s.answered = nil
	for i := range 3 {
		req := build()
		for h, v := range creds {
			req.AppendHeader(gosip.NewHeader(h, v))
		}
		if i == 0 && pre != nil {
			if h, v, err := pre.answer(req, s.authUser, s.password); err == nil {
				req.AppendHeader(gosip.NewHeader(h, v))
				used = pre.algorithm
			}
		}
		res, err := s.roundTrip(ctx, req)
		if err != nil {
			return nil, used, offered, err
		}
		if res.StatusCode != 401 && res.StatusCode != 407 {
			return res, used, offered, nil
		}
		o, algs, err := strongestOffer(res)
		offered = algs
		if err != nil {
			return nil, used, offered, err
		}
		h, v, err := o.answer(req, s.authUser, s.password)
		if err != nil {
			return nil, used, offered, err
		}
		if _, again := creds[h]; again && !o.ch.Stale {
			// RFC 7616 §3.3: only a stale nonce deserves another try.
			return nil, used, offered, fmt.Errorf("%d %s: credentials refused: %w", res.StatusCode, res.Reason, protocol.ErrAuth)
		}
		creds[h] = v
		used = o.algorithm
		s.answered = o
	}
	return nil, used, offered, fmt.Errorf("still challenged after answering: %w", protocol.ErrAuth)
}

// roundTrip runs one client transaction to its final response.
func (s *session) roundTrip(ctx context.Context, req *gosip.Request) (*gosip.Response, error) {
	tx, err := s.ua.TransactionLayer().Request(ctx, req)
	if err != nil {
		return nil, s.flowErr(ctx, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			err := tx.Err()
			if err == nil {
				err = errors.New("transaction ended without a response")
			}
			return nil, s.flowErr(ctx, err)
		case <-ctx.Done():
			return nil, s.flowErr(ctx, ctx.Err())
		}
	}
}

func (s *session) flowErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer from %s %s in time: %w", s.flow.transport, s.flow.addr, protocol.ErrTimeout)
	}
	return fmt.Errorf("%s %s: %v: %w", s.flow.transport, s.flow.addr, shortErr(err), protocol.ErrNotConnected)
}

// statusError maps a final response to the contract's errors, with the
// status in the text (RFC 3261 §21).
func statusError(res *gosip.Response) error {
	code := res.StatusCode
	var sentinel error
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == 401 || code == 407:
		sentinel = protocol.ErrAuth
	case code == 403 || code == 603:
		sentinel = protocol.ErrDenied
	case code == 404 || code == 604 || code == 484:
		sentinel = protocol.ErrNotFound
	case code == 408 || code == 504:
		sentinel = protocol.ErrTimeout
	case code == 480 || code == 486 || code == 503 || code == 600:
		sentinel = protocol.ErrUnreachable
	case code == 413 || code == 415 || code == 416 || code == 513:
		sentinel = protocol.ErrInvalid
	default:
		sentinel = protocol.ErrProtocol
	}
	return fmt.Errorf("%d %s: %w", code, res.Reason, sentinel)
}

// Send sends m as one MESSAGE (RFC 3428 §4) with a text/plain body. A 2xx
// means the next hop took it; RFC 3428 has no delivery receipt beyond that.
// Errors: ErrInvalid (bad address, empty or too large a message, a type
// other than chat/normal), ErrNotFound (404, 604), ErrUnreachable (480,
// 486, 503), ErrDenied (403), ErrAuth, ErrTimeout, ErrNotConnected.
func (s *session) Send(ctx context.Context, m protocol.Message) error {
	switch m.Type {
	case "", "chat", "normal":
	case "groupchat":
		return fmt.Errorf("send to %s: rooms do not exist in SIP MESSAGE: %w", m.To, protocol.ErrUnsupported)
	default:
		return fmt.Errorf("send: message type %q: %w", m.Type, protocol.ErrInvalid)
	}
	to, err := parseAOR(m.To)
	if err != nil {
		return fmt.Errorf("send: recipient %w", err)
	}
	if m.Body == "" {
		return fmt.Errorf("send to %s: empty message: %w", to.Addr(), protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("send to %s: session closed: %w", to.Addr(), protocol.ErrNotConnected)
	}
	if s.lost != nil {
		return fmt.Errorf("send to %s: %w", to.Addr(), s.lost)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	callID := token(12) + "@cusax"
	build := func() *gosip.Request {
		req := s.newRequest(gosip.MESSAGE, to, to, callID)
		req.AppendHeader(gosip.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
		req.SetBody([]byte(m.Body))
		return req
	}
	if n := len(build().String()); n > maxRequest {
		return fmt.Errorf("send to %s: the MESSAGE would be %d bytes, more than the %d RFC 3428 §7 allows (shorten the message): %w", to.Addr(), n, maxRequest, protocol.ErrInvalid)
	}
	res, _, _, err := s.roundTripAuth(ctx, build, s.msgAuth)
	if err != nil {
		s.msgAuth = nil
		return fmt.Errorf("send to %s: %w", to.Addr(), err)
	}
	if s.answered != nil {
		s.msgAuth = s.answered // the proxy's current challenge, for the next MESSAGE
	}
	if err := statusError(res); err != nil {
		return fmt.Errorf("send to %s: %w", to.Addr(), err)
	}
	return nil
}

// keep refreshes the registration at half the granted lifetime and
// watches the flow: when the proxy closes it the session ends, and every
// open message stream ends with ErrNotConnected so the reader knows
// (nothing the proxy holds for us is answered 200 without a reader).
func (s *session) keep() {
	defer close(s.done)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	s.mu.Lock()
	next := time.Now().Add(s.granted / 2)
	s.mu.Unlock()
	ping := time.Now().Add(keepaliveEvery)
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		conn, err := s.ua.TransportLayer().GetConnection(s.flow.transport, s.remoteAddr())
		if err != nil {
			s.endFlow(fmt.Errorf("%s flow to %s closed by the server: %w", s.flow.transport, s.flow.addr, protocol.ErrNotConnected))
			return
		}
		if time.Now().After(ping) {
			ping = time.Now().Add(keepaliveEvery)
			if err := crlfPing(conn); err != nil {
				s.endFlow(fmt.Errorf("%s flow to %s: keep-alive: %v: %w", s.flow.transport, s.flow.addr, shortErr(err), protocol.ErrNotConnected))
				return
			}
		}
		if time.Now().Before(next) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		err = s.register(ctx, registerExpiry)
		cancel()
		if err != nil {
			s.endFlow(fmt.Errorf("refreshing the registration: %w", err))
			return
		}
		s.mu.Lock()
		next = time.Now().Add(s.granted / 2)
		s.mu.Unlock()
	}
}

// keepaliveEvery is how often an idle flow gets an RFC 5626 §4.4.1
// double-CRLF ping. Proxies close idle TCP connections (Kamailio's
// tcp_connection_lifetime is 120 s by default), and the registration
// refresh comes only at half its lifetime; a closed flow would lose
// MESSAGEs until the next login. A variable for tests.
var keepaliveEvery = 30 * time.Second

// crlfPing writes CRLFCRLF on the flow in one write (sipgo writes each
// message in one write too, and net.Conn and tls.Conn serialise writes).
func crlfPing(c gosip.Connection) error {
	w, ok := c.(interface{ Write([]byte) (int, error) })
	if !ok {
		return nil
	}
	_, err := w.Write([]byte("\r\n\r\n"))
	return err
}

func (s *session) endFlow(err error) {
	s.log.Warn("registration lost", "error", err)
	s.mu.Lock()
	s.lost = err
	s.report.State = "failed"
	s.mu.Unlock()
	s.in.end(err)
}

// Close unregisters (Expires: 0, RFC 3261 §10.2.2), ends the streams with
// io.EOF and closes the flow. It is safe to call more than once.
func (s *session) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.in.end(nil)
		s.mu.Lock()
		s.closed = true
		lost := s.lost
		s.mu.Unlock()
		if lost == nil {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := s.register(ctx, 0); err != nil {
				s.log.Debug("unregister", "error", err)
			}
			cancel()
		}
		_ = s.ua.Close()
	})
	return nil
}

// handleOptions answers keep-alive and capability queries (RFC 3261 §11).
func (s *session) handleOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("Allow", "MESSAGE, OPTIONS"))
	res.AppendHeader(gosip.NewHeader("Accept", "text/plain"))
	_ = tx.Respond(res)
}

// refuseInvite answers a call forked to this messages-only binding.
func (s *session) refuseInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	res := gosip.NewResponseFromRequest(req, 480, "Messages Only", nil)
	res.AppendHeader(gosip.NewHeader("Allow", "MESSAGE, OPTIONS"))
	_ = tx.Respond(res)
}

// notAllowed answers a method this backend does not take (RFC 3261
// §21.4.6: with Allow). ACKs have no response.
func (s *session) notAllowed(req *gosip.Request, tx gosip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	res := gosip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(gosip.NewHeader("Allow", "MESSAGE, OPTIONS"))
	_ = tx.Respond(res)
}

func tlsState(c gosip.Connection) (tls.ConnectionState, bool) {
	// sipgo keeps TLS flows as TCPConnection around a *tls.Conn.
	if tc, ok := c.(*gosip.TCPConnection); ok {
		if t, ok := tc.Conn.(*tls.Conn); ok {
			return t.ConnectionState(), true
		}
	}
	return tls.ConnectionState{}, false
}

// shortErr is err's text without the address noise net errors repeat.
func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
