package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
)

const (
	// defaultRingTimeout bounds ringing when the user set no --ring-timeout.
	defaultRingTimeout = 60 * time.Second
	// cancelWait bounds the wait for the 487 after a CANCEL and for a
	// provisional response before one may be sent (RFC 3261 §9.1).
	cancelWait = 5 * time.Second
	// byeWait bounds the wait for the answer to our BYE.
	byeWait = 5 * time.Second
)

// reservedHeaders are headers the backend writes itself; a caller-supplied
// header of one of these names (or its compact form, RFC 3261 §7.3.3)
// could break the dialog or smuggle routing, so it is refused.
var reservedHeaders = map[string]bool{
	"via": true, "v": true, "from": true, "f": true, "to": true, "t": true, "call-id": true, "i": true,
	"cseq": true, "contact": true, "m": true, "content-length": true, "l": true, "content-type": true,
	"c": true, "max-forwards": true, "route": true, "record-route": true, "authorization": true,
	"proxy-authorization": true, "privacy": true, "p-asserted-identity": true, "p-preferred-identity": true,
}

// tokenChars are the characters of a header name (RFC 3261 §25.1 token).
const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"

// dialPlan is a validated DialRequest.
type dialPlan struct {
	target  gosip.Uri
	display string
	headers []protocol.Header
	anon    bool
	media   protocol.MediaOptions
	play    []int16 // 8 kHz mono, read before anything is sent
}

// planDial checks everything the user supplied before a byte is sent:
// sipgo writes header material verbatim, so CR, LF or NUL anywhere would
// inject headers (RFC 3261 §7.3.1).
func (s *session) planDial(req protocol.DialRequest) (*dialPlan, error) {
	p := &dialPlan{display: req.DisplayName, anon: req.Anonymous, media: req.Media}
	if err := checkQuoted("display name", req.DisplayName); err != nil {
		return nil, err
	}
	target, err := s.dialURI(req.Target)
	if err != nil {
		return nil, err
	}
	p.target = target
	for _, h := range req.Headers {
		if h.Name == "" || strings.Trim(h.Name, tokenChars) != "" {
			return nil, fmt.Errorf("header name %q is not a SIP token: %w", h.Name, protocol.ErrInvalid)
		}
		if reservedHeaders[strings.ToLower(h.Name)] {
			return nil, fmt.Errorf("header %s is set by cusax and cannot be given: %w", h.Name, protocol.ErrInvalid)
		}
		if err := checkText("header "+h.Name, h.Value); err != nil {
			return nil, err
		}
		p.headers = append(p.headers, h)
	}
	for _, f := range []struct{ name, v string }{{"play file", req.Media.PlayFile}, {"record file", req.Media.RecordFile}, {"DTMF digits", req.Media.DTMF}} {
		if err := checkText(f.name, f.v); err != nil {
			return nil, err
		}
	}
	for _, d := range req.Media.DTMF {
		if !strings.ContainsRune("0123456789*#ABCDabcd", d) {
			return nil, fmt.Errorf("DTMF digit %q: want 0-9, *, #, A-D (RFC 4733 §3.2): %w", d, protocol.ErrInvalid)
		}
	}
	if _, err := effectiveEncryption(req.Media.Encryption, false); err != nil {
		return nil, err
	}
	if err := checkKeying(req.Media.Keying); err != nil {
		return nil, err
	}
	if req.Media.RingTimeout < 0 {
		return nil, fmt.Errorf("negative ring timeout %s: %w", req.Media.RingTimeout, protocol.ErrInvalid)
	}
	if req.Media.PlayFile != "" {
		if p.play, err = readPlayFile(req.Media.PlayFile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// dialURI turns the target into the Request-URI. A tel: URI is dialled
// through the account's own service as sip:NUMBER@domain;user=phone (RFC
// 3261 §19.1.6).
func (s *session) dialURI(target string) (gosip.Uri, error) {
	if err := checkText("target", target); err != nil {
		return gosip.Uri{}, err
	}
	scheme, rest, _ := strings.Cut(target, ":")
	if strings.EqualFold(scheme, "tel") {
		num, params, _ := strings.Cut(rest, ";")
		if num == "" || strings.Trim(num, "+0123456789*#-.()ABCDabcd") != "" || params != "" && strings.ContainsAny(params, "?<>\" ") {
			return gosip.Uri{}, fmt.Errorf("target %q is not a tel: URI this backend can dial: %w", target, protocol.ErrInvalid)
		}
		num = strings.NewReplacer("-", "", ".", "", "(", "", ")", "").Replace(num)
		u := gosip.Uri{Scheme: s.aor.Scheme, User: num, Host: s.aor.Host, UriParams: gosip.NewParams()}
		u.UriParams.Add("user", "phone")
		return u, nil
	}
	u, err := parseSIPURI("target", target)
	if err != nil {
		return u, err
	}
	if u.Host == "" {
		return u, fmt.Errorf("target %q has no host: %w", target, protocol.ErrInvalid)
	}
	return u, nil
}

// Dial implements protocol.TelephonySession: an INVITE (RFC 3261 §13) with
// an SDP offer (RFC 3264) to the account's proxy, digest answered with the
// strongest algorithm offered (RFC 8760), then ACK, media and BYE. The
// returned stream carries provisional responses, the answer and, last, the
// outcome. Cancelling ctx (or closing the stream) hangs up: CANCEL while
// ringing, BYE once answered (RFC 3261 §9, §15).
func (s *session) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	p, err := s.planDial(req)
	if err != nil {
		return nil, fmt.Errorf("sip dial: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("sip dial: session closed: %w", protocol.ErrNotConnected)
	}
	t := s.targets[0]
	if s.bound != nil {
		t = s.bound.target
	}
	if p.target.IsEncrypted() && t.Transport != "tls" {
		s.mu.Unlock()
		// RFC 3261 §26.2.2: a SIPS URI is reached over TLS on every hop.
		return nil, fmt.Errorf("sip dial %s: a sips: target needs a TLS connection to the proxy (use a sips: address or ;transport=tls): %w",
			p.target.String(), protocol.ErrInsecure)
	}
	enc, _ := effectiveEncryption(p.media.Encryption, flowIsTLS(t))
	dtls := p.media.Keying == protocol.KeyingDTLS
	if enc == protocol.MediaEncryptionSRTP && !flowIsTLS(t) {
		s.mu.Unlock()
		if dtls {
			// RFC 5763 §8: the fingerprint is what binds the DTLS
			// handshake to the callee; over UDP or TCP anyone on the
			// path may replace it (and answer the handshake), so "SRTP
			// or no call" could not mean what it says.
			return nil, fmt.Errorf("sip dial %s: media_encryption = srtp needs SIP over TLS, also with DTLS-SRTP (the fingerprint would cross %s unprotected, RFC 5763 §8): use a ;transport=tls server or media_encryption = optional: %w",
				p.target.String(), strings.ToUpper(t.Transport), protocol.ErrMediaInsecure)
		}
		// RFC 4568 §8.3: the SDES key is in clear in the SDP, so it is
		// only sent over TLS. Refused before anything is sent.
		return nil, fmt.Errorf("sip dial %s: media_encryption = srtp needs SIP over TLS (the SDES key would cross %s in clear, RFC 4568 §8.3): use a ;transport=tls server or media_encryption = optional: %w",
			p.target.String(), strings.ToUpper(t.Transport), protocol.ErrMediaInsecure)
	}
	c := s.newCall(t, p)
	c.enc, c.suites, c.keyHook = enc, suitesFrom(ctx), keysHookFrom(ctx)
	switch {
	case enc == protocol.MediaEncryptionNone:
	case dtls:
		c.dtls = true
		if !flowIsTLS(t) {
			// "optional" over UDP/TCP: DTLS-SRTP puts no key in the SDP,
			// so it may be offered, but the fingerprint was not
			// integrity-protected (RFC 5763 §8): say so.
			c.notes = append(c.notes, fmt.Sprintf("DTLS-SRTP fingerprint sent over %s, not integrity-protected (RFC 5763 §8): the media is encrypted but an attacker on the signalling path could have answered the handshake", strings.ToUpper(t.Transport)))
		}
	case flowIsTLS(t):
		c.sdes = true
	default: // optional over UDP/TCP
		c.notes = append(c.notes, fmt.Sprintf("SRTP not offered: SIP goes over %s and an SDES key is only sent over TLS (RFC 4568 §8.3); media in clear", strings.ToUpper(t.Transport)))
	}
	fl, err := s.openFlow(ctx, t, c.probeRequest(t))
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sip dial %s: %w", p.target.String(), err)
	}
	c.flow = fl
	if err := c.openMedia(); err != nil {
		fl.release()
		return nil, fmt.Errorf("sip dial %s: %w", p.target.String(), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	st := newEventStream(cancel)
	s.addCall(c)
	// The first event names the call, so the caller can Hangup before any
	// response arrives.
	st.send(protocol.CallEvent{CallID: c.callID, Reason: "calling"})
	go func() {
		defer cancel()
		defer s.removeCall(c)
		defer fl.release()
		defer c.closeMedia()
		c.run(cctx, st)
	}()
	return st, nil
}

// Hangup implements protocol.TelephonySession: it ends the call as if its
// Dial context had been cancelled.
func (s *session) Hangup(_ context.Context, callID string) error {
	s.callsMu.Lock()
	c := s.calls[callID]
	s.callsMu.Unlock()
	if c == nil {
		return fmt.Errorf("sip hangup %s: no such call: %w", callID, protocol.ErrNotFound)
	}
	c.hangup()
	return nil
}

// flow is the connection a call's requests go over: the session's
// connected UDP socket or a pooled TCP/TLS connection.
type flow struct {
	t     Target
	local netip.AddrPort
	udp   *connectedUDP
	conn  gosip.Connection // TCP/TLS; holds a reference until release
}

func (f *flow) release() {
	if f.conn != nil {
		_, _ = f.conn.TryClose()
		f.conn = nil
	}
}

// openFlow makes sure the connection to t exists (dialled and, for TLS,
// verified before anything is written) and returns it. Called under s.mu.
func (s *session) openFlow(ctx context.Context, t Target, probe *gosip.Request) (*flow, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	f := &flow{t: t}
	if t.Transport == "udp" {
		c, err := s.udpSocket(ctx, t)
		if err != nil {
			return nil, err
		}
		f.udp, f.local = c, c.LocalAddrPort()
		return f, nil
	}
	conn, err := s.streamConn(ctx, t, probe)
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		_, _ = conn.TryClose()
		return nil, newError(protocol.ErrProtocol, err, "local address: %v", err)
	}
	f.conn, f.local = conn, ap
	return f, nil
}

// pin sends req over the flow: sipgo would otherwise choose transport and
// address from the Request-URI.
func (f *flow) pin(req *gosip.Request) {
	req.SetTransport(gosip.NetworkToUpper(f.t.Transport))
	// RFC 3261 §8.1.2: every request goes to the outbound proxy; with a
	// connected UDP socket nothing else could be reached anyway.
	req.SetDestination(f.t.Addr.String())
	if f.udp != nil {
		req.Laddr = gosip.Addr{IP: net.IP(f.local.Addr().AsSlice()), Port: int(f.local.Port())}
	}
}

// refused is the UDP socket's ICMP signal, nil for streams.
func (f *flow) refused() <-chan struct{} {
	if f.udp == nil {
		return nil
	}
	f.udp.drainRefused()
	return f.udp.refused
}

// inviteAttempt is one INVITE and its client transaction.
type inviteAttempt struct {
	req *gosip.Request
	tx  gosip.ClientTransaction
}

// sendInvite builds and sends the INVITE with the credentials gathered so
// far (RFC 3261 §22.2: a new CSeq and branch, same Call-ID and tags).
func (c *call) sendInvite(ctx context.Context, creds map[string]string) (*inviteAttempt, error) {
	req := c.newRequest(gosip.INVITE, c.plan.target, nil, nil)
	req.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	for _, h := range c.plan.headers {
		req.AppendHeader(gosip.NewHeader(h.Name, h.Value))
	}
	if c.plan.anon {
		// RFC 3325 §9.3 / RFC 3323 §4.2: ask the network to withhold our
		// identity; the From is already anonymous (RFC 3323 §4.1.1.3).
		req.AppendHeader(gosip.NewHeader("Privacy", "id"))
	}
	for _, name := range []string{"Proxy-Authorization", "Authorization"} {
		if v, ok := creds[name]; ok {
			req.AppendHeader(gosip.NewHeader(name, v))
		}
	}
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.sdp())
	tx, err := c.s.ua.TransactionLayer().Request(ctx, req)
	if err != nil {
		return nil, c.s.transportError(c.flow.t, "", err)
	}
	c.s.trace("sent", c.flow.t, req.String())
	return &inviteAttempt{req: req, tx: tx}, nil
}

// answerChallenge computes the credentials for a 401/407 to the INVITE
// (RFC 3261 §22.2, RFC 8760 strongest algorithm). It returns false when
// the server challenged again a header already answered without saying the
// nonce was stale: the credentials are wrong.
func (c *call) answerChallenge(res *gosip.Response, req *gosip.Request, creds map[string]string, answered map[string]bool) error {
	hdr := "WWW-Authenticate"
	if res.StatusCode == gosip.StatusProxyAuthRequired {
		hdr = "Proxy-Authenticate"
	}
	ch, _, perr := pickChallenge(hdr, headerValues(res, hdr))
	if answered[hdr] && (ch == nil || !ch.Stale) {
		return newError(protocol.ErrAuth, nil, "%d %s", res.StatusCode, res.Reason)
	}
	if perr != nil {
		return newError(protocol.ErrProtocol, perr, "%d %s: %v", res.StatusCode, res.Reason, perr)
	}
	if c.s.password == "" {
		return newError(protocol.ErrAuth, nil, "%d %s and no password for %s", res.StatusCode, res.Reason, c.s.aor.Addr())
	}
	cred, err := digest.Digest(ch.Challenge, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.String(),
		Username: c.s.authUser,
		Password: c.s.password,
	})
	if err != nil {
		return newError(protocol.ErrProtocol, err, "digest %s: %v", ch.Algorithm, err)
	}
	creds[ch.AuthorizationHeader()] = cred.String()
	answered[hdr] = true
	c.s.log.Debug("answering digest challenge", "method", req.Method, "header", hdr, "algorithm", ch.Algorithm, "realm", ch.Realm)
	return nil
}

// errCancelled marks the end of ringing by the user or the ring timeout.
var errCancelled = errors.New("cancelled")

// invite runs the INVITE transactions up to a final response. It returns
// the 2xx (nil with a final event sent for anything else) and the
// transaction that carried it.
func (c *call) invite(ctx context.Context, ringCtx context.Context, st *eventStream) (*gosip.Response, *inviteAttempt, error) {
	creds := map[string]string{}
	answered := map[string]bool{}
	for range maxSends {
		at, err := c.sendInvite(ctx, creds)
		if err != nil {
			return nil, nil, err
		}
		if c.start.IsZero() {
			c.start = time.Now()
		}
		res, err := c.await(ringCtx, at, st)
		if err != nil {
			at.tx.Terminate()
			return nil, nil, err
		}
		switch {
		case res.IsSuccess():
			return res, at, nil
		case res.StatusCode == gosip.StatusUnauthorized || res.StatusCode == gosip.StatusProxyAuthRequired:
			// sipgo's transaction has sent the ACK for this non-2xx
			// (RFC 3261 §17.1.1.3).
			at.tx.Terminate()
			if err := c.answerChallenge(res, at.req, creds, answered); err != nil {
				c.final(st, res, err.Error())
				return nil, nil, nil
			}
			continue
		}
		at.tx.Terminate()
		if res.StatusCode == gosip.StatusNotAcceptableHere && c.srtpOffered() && c.cancelled == nil {
			// RFC 3264 §6, RFC 4568 §7.1.2: the callee refused the
			// RTP/SAVP (or UDP/TLS/RTP/SAVP) offer (it cannot or will
			// not do SRTP, or not this keying).
			if c.enc != protocol.MediaEncryptionOptional {
				return nil, nil, fmt.Errorf("the callee refused the SRTP offer with %d %s (RFC 4568 §7.1.2): %w", res.StatusCode, res.Reason, protocol.ErrMediaInsecure)
			}
			// optional: one new INVITE with a plain RTP/AVP offer.
			if err := c.plainOffer(); err != nil {
				return nil, nil, err
			}
			c.notes = append(c.notes, fmt.Sprintf("the callee refused SRTP (%d %s); called again with plain RTP, media in clear", res.StatusCode, res.Reason))
			// A new call, not a retry of the old transaction: a callee
			// may take an INVITE with the refused call's Call-ID for a
			// stray retransmission (sipp does). A new challenge may come
			// with it, answered afresh.
			c.restart()
			answered = map[string]bool{}
			continue
		}
		c.final(st, res, "")
		return nil, nil, nil
	}
	return nil, nil, newError(protocol.ErrProtocol, nil, "no final answer after %d INVITEs", maxSends)
}

// await reads one INVITE transaction to its final response, passing
// provisional ones on. When ringCtx ends first it cancels the INVITE
// (RFC 3261 §9.1) and returns the final response that follows (normally
// 487), with c.cancelled set.
func (c *call) await(ringCtx context.Context, at *inviteAttempt, st *eventStream) (*gosip.Response, error) {
	refused := c.flow.refused()
	provisional := false
	// Until the proxy says anything (100 Trying at least, RFC 3261 §16.2)
	// the network timeout applies, not the ring timeout: a silent proxy
	// is a network failure.
	silence := time.NewTimer(c.s.timeout)
	defer silence.Stop()
	for {
		select {
		case <-silence.C:
			at.tx.Terminate()
			return nil, newError(protocol.ErrTimeout, nil, "no response from %s %s in time (timeout %s)", c.flow.t.Transport, c.flow.t.Addr, c.s.timeout)
		case res := <-at.tx.Responses():
			silence.Stop()
			c.s.trace("received", c.flow.t, res.String())
			if res.IsProvisional() {
				provisional = true
				if res.StatusCode > 100 {
					st.send(protocol.CallEvent{CallID: c.callID, StatusCode: res.StatusCode, Reason: res.Reason})
				}
				continue
			}
			return res, nil
		case <-at.tx.Done():
			err := at.tx.Err()
			if err == nil {
				err = errors.New("transaction ended without a response")
			}
			return nil, c.s.transportError(c.flow.t, "", err)
		case <-refused:
			return nil, c.s.transportError(c.flow.t, "", errRefused)
		case <-ringCtx.Done():
			c.cancelled = context.Cause(ringCtx)
			return c.cancelInvite(at, provisional)
		}
	}
}

// cancelInvite sends CANCEL for the pending INVITE and waits for its final
// response. RFC 3261 §9.1: a CANCEL may only follow a provisional
// response, so without one it waits (bounded) for one first.
func (c *call) cancelInvite(at *inviteAttempt, provisional bool) (*gosip.Response, error) {
	deadline := time.NewTimer(cancelWait)
	defer deadline.Stop()
	for !provisional {
		select {
		case res := <-at.tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
			provisional = true
		case <-at.tx.Done():
			return nil, c.s.transportError(c.flow.t, "", errors.Join(errors.New("no response before cancelling"), at.tx.Err()))
		case <-deadline.C:
			// Nothing heard: the transaction times out on its own.
			at.tx.Terminate()
			return nil, newError(protocol.ErrTimeout, nil, "no response to the INVITE")
		}
	}
	// RFC 3261 §9.1: same Request-URI, Call-ID, To, From, CSeq number and
	// top Via as the INVITE.
	cancel := gosip.NewRequest(gosip.CANCEL, at.req.Recipient)
	cancel.AppendHeader(gosip.HeaderClone(at.req.Via()))
	cancel.AppendHeader(gosip.HeaderClone(at.req.From()))
	cancel.AppendHeader(gosip.HeaderClone(at.req.To()))
	cancel.AppendHeader(gosip.HeaderClone(at.req.CallID()))
	cancel.AppendHeader(&gosip.CSeqHeader{SeqNo: at.req.CSeq().SeqNo, MethodName: gosip.CANCEL})
	maxFwd := gosip.MaxForwardsHeader(70)
	cancel.AppendHeader(&maxFwd)
	cancel.AppendHeader(gosip.NewHeader("User-Agent", "cusax/"+Version))
	cancel.SetBody(nil)
	c.flow.pin(cancel)
	ctx, stop := context.WithTimeout(context.Background(), cancelWait)
	defer stop()
	if ctx2, err := c.s.ua.TransactionLayer().Request(ctx, cancel); err == nil {
		c.s.trace("sent", c.flow.t, cancel.String())
		go func() {
			defer ctx2.Terminate()
			select {
			case <-ctx2.Done():
			case <-ctx.Done():
			}
		}()
	} else {
		c.s.log.Debug("sending CANCEL", "error", err)
	}
	for {
		select {
		case res := <-at.tx.Responses():
			c.s.trace("received", c.flow.t, res.String())
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-at.tx.Done():
			return nil, newError(protocol.ErrTimeout, at.tx.Err(), "no final response after CANCEL")
		case <-ctx.Done():
			at.tx.Terminate()
			return nil, newError(protocol.ErrTimeout, nil, "no final response within %s of the CANCEL", cancelWait)
		}
	}
}

// run is the life of one call, from the first INVITE to the last event.
func (c *call) run(ctx context.Context, st *eventStream) {
	defer st.finish(nil)
	ring := c.plan.media.RingTimeout
	if ring == 0 {
		ring = defaultRingTimeout
	}
	ringCtx, stopRing := context.WithTimeoutCause(ctx, ring, fmt.Errorf("no answer within %s", ring))
	defer stopRing()

	// The INVITE transactions live on past ctx so that CANCEL and the 487
	// can complete; ringCtx ends the ringing.
	res, at, err := c.invite(context.WithoutCancel(ctx), ringCtx, st)
	if err != nil {
		st.finish(fmt.Errorf("sip dial %s: %w", c.plan.target.String(), err))
		return
	}
	if res == nil {
		return // a final non-2xx was reported
	}
	defer at.tx.Terminate()
	c.setupTime = time.Since(c.start)
	if err := c.confirm(res, at); err != nil {
		st.finish(fmt.Errorf("sip dial %s: %w", c.plan.target.String(), err))
		return
	}
	if c.cancelled != nil {
		// The callee answered as we cancelled (RFC 3261 §9.1 race): the
		// call was not wanted, so end it at once.
		c.bye()
		ev := c.answeredEvent(res)
		ev.Final, ev.Note = true, "answered while being cancelled ("+c.cancelled.Error()+"); hung up"
		st.send(ev)
		return
	}
	neg, err := c.negotiate(res.Body())
	if err != nil {
		// RFC 4568 §7.1.3 leaves refusing to policy: "srtp" means no
		// call without SRTP, so hang up before any media is sent.
		c.bye()
		st.finish(fmt.Errorf("sip dial %s: %w", c.plan.target.String(), err))
		return
	}
	c.neg = neg
	if neg.peer != nil {
		// RFC 5764 §4: the keys come from the DTLS handshake on the RTP
		// socket, after the SDP exchange and before any media.
		defer neg.closeDTLS()
		if err := c.handshakeDTLS(ctx); err != nil {
			c.bye()
			st.finish(fmt.Errorf("sip dial %s: %w", c.plan.target.String(), err))
			return
		}
	}
	st.send(c.answeredEvent(res))
	c.talk(ctx, res, st)
}

func (c *call) answeredEvent(res *gosip.Response) protocol.CallEvent {
	ev := protocol.CallEvent{CallID: c.callID, StatusCode: res.StatusCode, Reason: res.Reason, Answered: true, SetupTime: c.setupTime}
	if c.neg != nil {
		ev.MediaProtection = protocol.MediaInClear
		if k := c.neg.keys; k != nil {
			ev.MediaProtection, ev.MediaKeying = k.Suite, protocol.KeyingSDES
			if c.neg.dtls != nil {
				ev.MediaKeying = protocol.KeyingDTLS
			}
		}
	}
	return ev
}

// final reports a non-2xx final response.
func (c *call) final(st *eventStream, res *gosip.Response, note string) {
	ev := protocol.CallEvent{CallID: c.callID, StatusCode: res.StatusCode, Reason: res.Reason, Final: true, Note: note}
	if c.cancelled != nil && note == "" {
		ev.Note = c.cancelled.Error()
		if errors.Is(c.cancelled, context.Canceled) {
			ev.Note = "hung up before the answer"
		}
	}
	for _, n := range c.notes {
		ev.Note = joinNote(ev.Note, n)
	}
	st.send(ev)
}
