package sip

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// call is one outgoing call and, once answered, its dialog (RFC 3261 §12).
type call struct {
	s       *session
	plan    *dialPlan
	callID  string
	aliases []string // earlier Call-IDs of the call (restart)
	from    *gosip.FromHeader
	to      *gosip.ToHeader
	cseq    uint32
	flow    *flow
	offer   []byte // our SDP (the offer, then what a re-INVITE gets); c.mu once the call runs
	rtp     *rtpSocket

	// Media encryption of a placed call (srtp.go): the effective setting,
	// whether SDES is offered, the a=crypto lines offered (nil: a plain
	// offer), what the answer gave, and remarks for the final Note.
	enc     string
	sdes    bool
	suites  []string
	keyHook func([]callmedia.Crypto, *callmedia.SRTPKeys) // tests only
	cryptos []callmedia.Crypto
	// DTLS-SRTP (dtls.go): whether it is offered, and the per-call
	// certificate whose fingerprint the offer carries (nil: no DTLS offer).
	dtls     bool
	dtlsCert *callmedia.DTLSCertificate
	sessID   uint64
	neg      *negotiated
	notes    []string

	start     time.Time
	setupTime time.Duration
	cancelled error // why ringing was cancelled, nil if it was not

	// The dialog, set by confirm from the 2xx (RFC 3261 §12.1.2).
	remoteTarget gosip.Uri
	routes       []gosip.Uri
	answeredRes  *gosip.Response

	cancel context.CancelFunc // ends the call (Hangup, closing the stream)

	mu        sync.Mutex
	remoteBye chan struct{} // closed when the callee sends BYE
	byeSeen   bool

	// An answered incoming call (answer.go): acked is closed by the ACK
	// of our 2xx; infoDigit takes digits from SIP INFO while media runs.
	acked     chan struct{}
	ackSeen   bool
	infoDigit func(rune)
}

func (s *session) newCall(t Target, p *dialPlan) *call {
	c := &call{
		s: s, plan: p, callID: randomToken(16) + "@cusax", cseq: 1,
		remoteBye: make(chan struct{}), cancel: func() {},
	}
	from := &gosip.FromHeader{DisplayName: quoteDisplayName(p.display), Address: s.aor, Params: gosip.NewParams()}
	if p.anon {
		// RFC 3323 §4.1.1.3: the anonymous From.
		from = &gosip.FromHeader{DisplayName: "Anonymous", Address: gosip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}, Params: gosip.NewParams()}
	}
	from.Params.Add("tag", randomToken(8))
	c.from = from
	c.to = &gosip.ToHeader{Address: p.target, Params: gosip.NewParams()}
	return c
}

// probeRequest is a request to the proxy used only to dial a TCP/TLS
// connection before the INVITE exists.
func (c *call) probeRequest(t Target) *gosip.Request {
	req := gosip.NewRequest(gosip.OPTIONS, c.plan.target)
	req.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Params: gosip.NewParams()})
	req.SetTransport(gosip.NetworkToUpper(t.Transport))
	req.SetDestination(t.Addr.String())
	return req
}

// newRequest builds a request of the call: the INVITE (to without a tag) or
// one inside the dialog (RFC 3261 §12.2.1.1), with the route set as Route
// headers. Every request gets a new branch (RFC 3261 §8.1.1.7).
func (c *call) newRequest(method gosip.RequestMethod, ruri gosip.Uri, routes []gosip.Uri, to *gosip.ToHeader) *gosip.Request {
	req := gosip.NewRequest(method, ruri)
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: gosip.NetworkToUpper(c.flow.t.Transport), Params: gosip.NewParams()}
	via.Params.Add("branch", gosip.GenerateBranchN(16))
	via.Params.Add("rport", "")
	req.AppendHeader(via)
	for _, r := range routes {
		req.AppendHeader(&gosip.RouteHeader{Address: r})
	}
	req.AppendHeader(gosip.HeaderClone(c.from))
	if to == nil {
		to = c.to
	}
	req.AppendHeader(gosip.HeaderClone(to))
	callID := gosip.CallIDHeader(c.callID)
	req.AppendHeader(&callID)
	seq := c.cseq
	if method == gosip.ACK {
		// RFC 3261 §13.2.2.4: the ACK of a 2xx has the INVITE's CSeq number.
		seq = c.answeredRes.CSeq().SeqNo
	} else {
		c.cseq++ // RFC 3261 §12.2.1.1: up by one for each new request
	}
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: method})
	maxFwd := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	if method == gosip.INVITE {
		req.AppendHeader(c.s.contactFor(c.flow.t, c.flow.local))
	}
	req.AppendHeader(gosip.NewHeader("User-Agent", "cusax/"+Version))
	if method != gosip.INVITE {
		req.SetBody(nil) // Content-Length: 0 (RFC 3261 §20.14)
	}
	c.flow.pin(req)
	return req
}

// confirm turns the 2xx into a dialog and acknowledges it (RFC 3261
// §13.2.2.4): the remote target is the 2xx's Contact, the route set its
// Record-Route in reverse order (§12.1.2). Retransmitted 2xx get the ACK
// again.
func (c *call) confirm(res *gosip.Response, at *inviteAttempt) error {
	c.answeredRes = res
	c.cseq = res.CSeq().SeqNo + 1
	c.to = &gosip.ToHeader{Address: c.plan.target, Params: gosip.NewParams()}
	if tag, ok := res.To().Params.Get("tag"); ok {
		c.to.Params.Add("tag", tag)
	}
	c.remoteTarget = c.plan.target
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = ct.Address
	}
	rrs := res.GetHeaders("Record-Route")
	c.routes = nil
	for i := len(rrs) - 1; i >= 0; i-- {
		rr, ok := rrs[i].(*gosip.RecordRouteHeader)
		if !ok {
			var u gosip.Uri
			if err := gosip.ParseUri(strings.Trim(rrs[i].Value(), "<> "), &u); err != nil {
				return newError(protocol.ErrProtocol, err, "Record-Route %q: %v", rrs[i].Value(), err)
			}
			c.routes = append(c.routes, u)
			continue
		}
		c.routes = append(c.routes, rr.Address)
	}
	ack := c.inDialog(gosip.ACK)
	send := func() error {
		return c.s.ua.TransportLayer().WriteMsg(ack.Clone())
	}
	at.tx.OnRetransmission(func(r *gosip.Response) {
		if r.IsSuccess() {
			_ = send()
		}
	})
	if err := send(); err != nil {
		return c.s.transportError(c.flow.t, "", err)
	}
	c.s.trace("sent", c.flow.t, ack.String())
	return nil
}

// inDialog builds a request inside the dialog. With a strict router first
// in the route set, its URI becomes the Request-URI and the remote target
// the last route (RFC 3261 §12.2.1.1).
func (c *call) inDialog(method gosip.RequestMethod) *gosip.Request {
	ruri, routes := c.remoteTarget, c.routes
	if len(routes) > 0 && !routes[0].UriParams.Has("lr") {
		ruri = routes[0]
		routes = append(append([]gosip.Uri{}, routes[1:]...), c.remoteTarget)
	}
	return c.newRequest(method, ruri, routes, c.to)
}

// bye ends the dialog (RFC 3261 §15.1.1), unless the callee already did.
// It answers one digest challenge, as some proxies authenticate BYE.
func (c *call) bye() {
	if c.remoteHungUp() {
		return
	}
	creds := map[string]string{}
	answered := map[string]bool{}
	for range 3 {
		req := c.inDialog(gosip.BYE)
		for name, v := range creds {
			req.AppendHeader(gosip.NewHeader(name, v))
		}
		ctx, cancel := context.WithTimeout(context.Background(), byeWait)
		res, err := c.s.roundTrip(ctx, c.flow.t, req)
		cancel()
		if err != nil {
			c.s.log.Debug("BYE failed", "error", err)
			return
		}
		if res.StatusCode == gosip.StatusUnauthorized || res.StatusCode == gosip.StatusProxyAuthRequired {
			if err := c.answerChallenge(res, req, creds, answered); err == nil {
				continue
			}
		}
		if !res.IsSuccess() {
			c.s.log.Debug("BYE answered", "status", res.StatusCode, "reason", res.Reason)
		}
		return
	}
}

// onBye is the callee hanging up: answer 200 (RFC 3261 §15.1.2) and let
// the call end.
func (c *call) onBye() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.byeSeen {
		c.byeSeen = true
		close(c.remoteBye)
	}
}

func (c *call) remoteHungUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byeSeen
}

func (c *call) hangup() { c.cancel() }

// talk runs the media of an answered call until it should end, then hangs
// up and sends the final event.
func (c *call) talk(ctx context.Context, res *gosip.Response, st *eventStream) {
	answeredAt := time.Now()
	ev := c.answeredEvent(res)
	ev.Final = true
	stats, note := c.runMedia(ctx, c.neg)
	c.bye()
	ev.Duration = time.Since(answeredAt)
	ev.RTPSent, ev.RTPRecv, ev.DTMFSent = stats.sent, stats.received, stats.dtmfSent
	ev.Codec, ev.MediaPeer, ev.RecordedSamples = stats.codec, stats.peer, stats.recorded
	ev.SRTPAuthFailures = stats.authFailures
	for _, n := range c.notes {
		note = joinNote(note, n)
	}
	if c.remoteHungUp() {
		note = joinNote("the callee hung up", note)
	}
	ev.Note = note
	st.send(ev)
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Incoming requests ---------------------------------------------------------

func (s *session) addCall(c *call) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	if s.calls == nil {
		s.calls = map[string]*call{}
	}
	s.calls[c.callID] = c
}

func (s *session) removeCall(c *call) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	delete(s.calls, c.callID)
	for _, id := range c.aliases {
		delete(s.calls, id)
	}
}

// restart gives a placed call a new Call-ID and From tag for an INVITE
// that starts it over (the plain offer after a 488 to SRTP, RFC 3264 §6).
// The old Call-ID stays valid for Hangup: the caller learnt it from the
// first event. Only the call's own goroutine calls it.
func (c *call) restart() {
	c.s.callsMu.Lock()
	defer c.s.callsMu.Unlock()
	c.aliases = append(c.aliases, c.callID)
	c.callID = randomToken(16) + "@cusax"
	c.s.calls[c.callID] = c
	from := gosip.HeaderClone(c.from).(*gosip.FromHeader)
	from.Params = gosip.NewParams()
	from.Params.Add("tag", randomToken(8))
	c.from = from
	c.cseq = 1
}

func (s *session) callFor(req *gosip.Request) *call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.calls[id.Value()]
}

// handleBye answers a BYE: 200 for a call of ours, 481 otherwise (RFC 3261
// §15.1.2).
func (s *session) handleBye(req *gosip.Request, tx gosip.ServerTransaction) {
	c := s.callFor(req)
	if c == nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusOK, "OK", nil))
	c.onBye()
}

// handleInvite answers a re-INVITE of one of our calls with the same offer
// (a session refresh, RFC 4028, or a target refresh we keep simple), 481
// to an INVITE in a dialog we do not know (RFC 3261 §12.2.2), and hands
// new calls to handleIncoming (incoming.go).
func (s *session) handleInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	if c := s.callFor(req); c != nil && req.To() != nil && req.To().Params.Has("tag") {
		res := gosip.NewResponseFromRequest(req, gosip.StatusOK, "OK", c.sdp())
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
		res.AppendHeader(s.contactFor(c.flow.t, c.flow.local))
		_ = tx.Respond(res)
		return
	}
	if req.To() != nil && req.To().Params.Has("tag") {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	s.handleIncoming(req, tx)
}

// handleOptions answers OPTIONS (RFC 3261 §11.2).
func (s *session) handleOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	res := gosip.NewResponseFromRequest(req, gosip.StatusOK, "OK", nil)
	res.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	res.AppendHeader(gosip.NewHeader("Accept", "application/sdp"))
	_ = tx.Respond(res)
}

// Event stream --------------------------------------------------------------

// eventStream carries a call's events to the caller. Closing it hangs up.
type eventStream struct {
	ch     chan protocol.CallEvent
	cancel context.CancelFunc

	mu   sync.Mutex
	done bool
	err  error
}

func newEventStream(cancel context.CancelFunc) *eventStream {
	return &eventStream{ch: make(chan protocol.CallEvent, 32), cancel: cancel}
}

// send delivers ev; the buffer is large enough for a call's few events, and
// a stalled reader never blocks the call (events beyond it are dropped,
// the final one included only if the reader is gone).
func (e *eventStream) send(ev protocol.CallEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return
	}
	select {
	case e.ch <- ev:
	default:
	}
}

// finish ends the stream with err (nil: io.EOF after the events).
func (e *eventStream) finish(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return
	}
	e.done, e.err = true, err
	close(e.ch)
}

func (e *eventStream) Recv() (protocol.CallEvent, error) {
	ev, ok := <-e.ch
	if ok {
		return ev, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return protocol.CallEvent{}, e.err
	}
	return protocol.CallEvent{}, io.EOF
}

// Close hangs up the call (CANCEL or BYE happen in the call's goroutine).
func (e *eventStream) Close() error {
	e.cancel()
	return nil
}

// hangupAll ends every call and waits (bounded) for their BYE or CANCEL, so
// Close never leaves a call up.
func (s *session) hangupAll() {
	s.callsMu.Lock()
	calls := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.callsMu.Unlock()
	for _, c := range calls {
		c.hangup()
	}
	deadline := time.Now().Add(byeWait + cancelWait)
	for time.Now().Before(deadline) {
		s.callsMu.Lock()
		n := len(s.calls)
		s.callsMu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
