package sip

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

const (
	// incomingBuffer is how many calls an IncomingCalls stream holds for a
	// reader that is busy. Beyond it a call is not handed to that stream
	// (sipgo's transaction goroutine must never wait for a slow reader) but
	// it is not lost without a word either: the stream's next Recv reports
	// it (IncomingCall.Missed), and the call itself gets the usual answer
	// when nobody responds (480 after answerTimeout).
	incomingBuffer = 64
	// maxMissedIDs bounds the Call-IDs kept for one missed-calls report.
	maxMissedIDs = 16
	// answerTimeout bounds how long an incoming call waits for Respond to
	// give it a final answer; then it gets 480.
	answerTimeout = 30 * time.Second
	// rawRing is how many received INVITE datagrams are kept for Raw.
	rawRing = 16
)

// incoming is the receive side of a session: the open IncomingCalls
// streams, the INVITEs waiting for Respond, and the last INVITE datagrams
// as received (for IncomingCall.Raw).
type incoming struct {
	mu      sync.Mutex
	streams map[*callStream]struct{}
	pending map[string]*pendingCall // by Call-ID
	closed  bool

	rawMu sync.Mutex
	raw   [][]byte // ring of INVITEs as received, oldest first

	framers streamFramers // TCP and TLS (streamraw.go)
}

// pendingCall is an INVITE server transaction waiting for a final answer.
// Whoever removes it from incoming.pending (Respond, the timeout, the
// last stream closing, a CANCEL, Close) owns its final answer.
type pendingCall struct {
	id    string
	req   *gosip.Request
	tx    gosip.ServerTransaction
	toTag string        // RFC 3261 §8.2.6.2: one tag for all our responses
	over  chan struct{} // closed once the final answer is sent (or sipgo sent it)
	// cancelled is closed when the caller's CANCEL arrives (sipgo then
	// answers the INVITE 487), whoever owns the call.
	cancelled chan struct{}
}

// handleIncoming takes a new INVITE (not in a dialog of ours): 100 Trying
// at once, delivery to every open stream, then it waits (the handler's
// goroutine is sipgo's, which terminates the transaction when the handler
// returns) until Respond, a CANCEL, the timeout or the streams closing
// settles it. Without an open stream it answers 480 as before.
func (s *session) handleIncoming(req *gosip.Request, tx gosip.ServerTransaction) {
	in := &s.in
	id := ""
	if h := req.CallID(); h != nil {
		id = h.Value()
	}
	p := &pendingCall{id: id, req: req, tx: tx, toTag: randomToken(8), over: make(chan struct{}), cancelled: make(chan struct{})}
	in.mu.Lock()
	switch {
	case in.closed || len(in.streams) == 0:
		in.mu.Unlock()
		_ = tx.Respond(p.response(gosip.StatusTemporarilyUnavailable, ""))
		return
	case in.pending[id] != nil:
		in.mu.Unlock()
		// RFC 3261 §8.2.2.2: a second INVITE of a call still pending
		// (merged request, e.g. a fork looping back).
		_ = tx.Respond(p.response(gosip.StatusLoopDetected, ""))
		return
	}
	if in.pending == nil {
		in.pending = map[string]*pendingCall{}
	}
	in.pending[id] = p
	streams := make([]*callStream, 0, len(in.streams))
	for st := range in.streams {
		streams = append(streams, st)
	}
	in.mu.Unlock()

	// RFC 3261 §17.2.1: 100 Trying at once (sipgo would send it after
	// 200 ms) stops the proxy's INVITE retransmissions over UDP.
	_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusTrying, "Trying", nil))
	// A CANCEL (RFC 3261 §9.2): sipgo answers it 200 and the INVITE 487;
	// the call is only forgotten here.
	var cancelOnce sync.Once
	onCancel := func() {
		cancelOnce.Do(func() { close(p.cancelled) })
		in.forget(p)
	}
	if !tx.OnCancel(func(*gosip.Request) { onCancel() }) {
		onCancel()
		return
	}

	ic := protocol.IncomingCall{
		CallID:   id,
		Raw:      s.rawInvite(req),
		Source:   req.Source(),
		Time:     time.Now(),
		ViaProxy: s.viaProxy(req),
	}
	for _, st := range streams {
		st.deliver(ic, s)
	}
	s.log.Debug("incoming call", "call_id", id, "source", ic.Source, "via_proxy", ic.ViaProxy, "streams", len(streams))

	timer := time.NewTimer(answerTimeout)
	defer timer.Stop()
	select {
	case <-p.over:
	case <-tx.Done():
		in.forget(p)
	case <-timer.C:
		if in.take(p) {
			s.log.Debug("incoming call not answered in time", "call_id", id, "after", answerTimeout)
			p.final(gosip.StatusTemporarilyUnavailable, "")
			return
		}
		// Answer owns it (it may ring longer): returning would end the
		// transaction under it.
		select {
		case <-p.over:
		case <-tx.Done():
		}
	}
}

// IncomingCalls implements protocol.TelephonySession. The stream delivers
// every new INVITE that reaches the session (through its proxy, after
// Register) until ctx ends (Recv: ctx.Err()), the stream is closed or the
// session is (Recv: io.EOF). With several streams open each gets every
// call. A reader that falls more than 16 calls behind loses the newest
// (counted, logged). Calls delivered must be answered with Respond, or
// taken with Answer (answer.go), within 30 s; when the last stream closes,
// the calls still pending get 480 (a call Answer took is no longer
// pending).
//
// Raw is the request exactly as received: over UDP the datagram (taken in
// the connected socket's ReadFrom), over TCP and TLS the bytes cut from
// the stream by a read filter sipgo calls before parsing (streamraw.go).
// Only when that fails (a stream without Content-Length, a message over
// 256 KiB, more than 16 INVITEs in flight) is Raw sipgo's
// re-serialisation, req.String(): the same headers in the same order, but
// whitespace and header-name spelling normalised.
//
// ViaProxy is true when the request came over the session's flow to one
// of the account's resolved proxy targets: always over UDP (the socket is
// connected to the proxy, the kernel drops anything else), over TCP/TLS
// when the connection's remote address is a target's.
//
// Errors: ErrNotConnected after Close.
func (s *session) IncomingCalls(ctx context.Context) (protocol.Stream[protocol.IncomingCall], error) {
	in := &s.in
	st := &callStream{in: in, ch: make(chan protocol.IncomingCall, incomingBuffer), done: make(chan struct{})}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil, fmt.Errorf("sip incoming calls: session closed: %w", protocol.ErrNotConnected)
	}
	if in.streams == nil {
		in.streams = map[*callStream]struct{}{}
	}
	in.streams[st] = struct{}{}
	in.mu.Unlock()
	s.mu.Lock()
	s.keepLocked() // a binding made before the stream opened is kept from now on
	s.mu.Unlock()
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				st.end(ctx.Err())
			case <-st.done:
			}
		}()
	}
	return st, nil
}

// Respond implements protocol.TelephonySession: it answers a pending
// incoming call. A provisional status (101–199, e.g. 180) leaves it
// pending; a final one (300–699, e.g. 486, 603, 480) ends it. reason ""
// means the RFC 3261 §21 phrase. Errors: ErrUnsupported for 2xx (a call is
// taken with Answer, answer.go, which owns the media), ErrInvalid for a status outside 101–699 or a
// reason with CR, LF or NUL, ErrNotFound for a call that is not pending
// (unknown, answered, cancelled or timed out), ErrUnreachable when the
// response cannot be sent.
func (s *session) Respond(_ context.Context, callID string, status int, reason string) error {
	switch {
	case status >= 200 && status < 300:
		return fmt.Errorf("sip respond %s: %d: a call is accepted with Answer (media), not Respond: %w", callID, status, protocol.ErrUnsupported)
	case status <= 100 || status > 699:
		return fmt.Errorf("sip respond %s: status %d: want 101-199 or 300-699: %w", callID, status, protocol.ErrInvalid)
	}
	if err := checkText("reason", reason); err != nil {
		return fmt.Errorf("sip respond %s: %w", callID, err)
	}
	in := &s.in
	if status < 200 {
		in.mu.Lock()
		p := in.pending[callID]
		in.mu.Unlock()
		if p == nil {
			return fmt.Errorf("sip respond %s: no pending call: %w", callID, protocol.ErrNotFound)
		}
		if err := p.tx.Respond(p.response(status, reason)); err != nil {
			return fmt.Errorf("sip respond %s: %w", callID, classify(err))
		}
		return nil
	}
	in.mu.Lock()
	p := in.pending[callID]
	if p != nil {
		delete(in.pending, callID)
	}
	in.mu.Unlock()
	if p == nil {
		return fmt.Errorf("sip respond %s: no pending call: %w", callID, protocol.ErrNotFound)
	}
	if err := p.final(status, reason); err != nil {
		return fmt.Errorf("sip respond %s: %w", callID, classify(err))
	}
	return nil
}

// take removes p from the pending calls; true if it was still there (the
// caller now owns its final answer).
func (in *incoming) take(p *pendingCall) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.pending[p.id] != p {
		return false
	}
	delete(in.pending, p.id)
	return true
}

// forget drops p without answering (sipgo answered, or the transaction
// is gone).
func (in *incoming) forget(p *pendingCall) {
	if in.take(p) {
		close(p.over)
	}
}

// settleAll answers every pending call 480; with closing set, it also
// refuses new streams and ends the open ones.
func (in *incoming) settleAll(closing bool) {
	in.mu.Lock()
	if closing {
		in.closed = true
	}
	ps := make([]*pendingCall, 0, len(in.pending))
	for _, p := range in.pending {
		ps = append(ps, p)
	}
	clear(in.pending)
	var sts []*callStream
	if closing {
		for st := range in.streams {
			sts = append(sts, st)
		}
	}
	in.mu.Unlock()
	for _, p := range ps {
		_ = p.final(gosip.StatusTemporarilyUnavailable, "")
	}
	for _, st := range sts {
		st.end(nil)
	}
	if closing {
		in.framers.mu.Lock()
		in.framers.m = nil
		in.framers.mu.Unlock()
	}
}

// close ends the receive side with the session: pending calls get 480
// (while the flow still exists), streams end with io.EOF.
func (in *incoming) close() { in.settleAll(true) }

// final sends the final response of a call its caller has taken.
func (p *pendingCall) final(status int, reason string) error {
	defer close(p.over)
	return p.tx.Respond(p.response(status, reason))
}

func (p *pendingCall) response(status int, reason string) *gosip.Response {
	if reason == "" {
		reason = reasonPhrase(status)
	}
	res := gosip.NewResponseFromRequest(p.req, status, reason, nil)
	if to := res.To(); to != nil && status > 100 && p.req.To() != nil && !p.req.To().Params.Has("tag") {
		to.Params.Add("tag", p.toTag)
	}
	return res
}

// reasonPhrase is the RFC 3261 §21 phrase of the statuses a callee uses.
func reasonPhrase(status int) string {
	switch status {
	case 180:
		return "Ringing"
	case 181:
		return "Call Is Being Forwarded"
	case 182:
		return "Queued"
	case 183:
		return "Session Progress"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 482:
		return "Loop Detected"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	case 604:
		return "Does Not Exist Anywhere"
	case 606:
		return "Not Acceptable"
	}
	switch status / 100 {
	case 1:
		return "Progress"
	case 3:
		return "Redirect"
	case 4:
		return "Request Failure"
	case 5:
		return "Server Failure"
	}
	return "Global Failure"
}

// viaProxy reports whether req came over the flow to one of the account's
// targets (see IncomingCalls). The targets never change after Connect.
func (s *session) viaProxy(req *gosip.Request) bool {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return false
	}
	tr := strings.ToLower(req.Transport())
	for _, t := range s.targets {
		if t.Transport == tr && t.Addr.Addr().Unmap() == src.Addr().Unmap() && t.Addr.Port() == src.Port() {
			return true
		}
	}
	return false
}

// recordRaw keeps a received message if it is an INVITE. It runs in
// sipgo's read loop, before the message is parsed.
func (in *incoming) recordRaw(b []byte) {
	if !bytes.HasPrefix(b, []byte("INVITE ")) {
		return
	}
	c := bytes.Clone(b)
	in.rawMu.Lock()
	defer in.rawMu.Unlock()
	if len(in.raw) == rawRing {
		copy(in.raw, in.raw[1:])
		in.raw = in.raw[:rawRing-1]
	}
	in.raw = append(in.raw, c)
}

// rawInvite returns req as received: the recorded message with the same
// top Via branch, Call-ID and CSeq, else sipgo's serialisation.
func (s *session) rawInvite(req *gosip.Request) []byte {
	via, cid, cseq := req.Via(), req.CallID(), req.CSeq()
	if via == nil || cid == nil || cseq == nil {
		return []byte(req.String())
	}
	branch, _ := via.Params.Get("branch")
	s.in.rawMu.Lock()
	defer s.in.rawMu.Unlock()
	for i := len(s.in.raw) - 1; i >= 0; i-- {
		b := s.in.raw[i]
		if branch == "" || !bytes.Contains(b, []byte(branch)) || !bytes.Contains(b, []byte(cid.Value())) {
			continue
		}
		m, err := gosip.ParseMessage(b)
		if err != nil {
			continue
		}
		r, ok := m.(*gosip.Request)
		if !ok || r.Via() == nil || r.CallID() == nil || r.CSeq() == nil {
			continue
		}
		if rb, _ := r.Via().Params.Get("branch"); rb == branch && r.CallID().Value() == cid.Value() && r.CSeq().SeqNo == cseq.SeqNo {
			return b
		}
	}
	return []byte(req.String())
}

// callStream is one IncomingCalls stream.
type callStream struct {
	in      *incoming
	ch      chan protocol.IncomingCall
	dropped atomic.Uint64 // all calls this stream missed, for tests and logs

	missMu    sync.Mutex
	missed    uint64   // missed since the last report
	missedIDs []string // their first Call-IDs (maxMissedIDs)

	once sync.Once
	done chan struct{} // closed by end
	err  error         // set before done is closed
}

// listening reports whether an IncomingCalls stream is open.
func (in *incoming) listening() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.streams) > 0 && !in.closed
}

// broadcast hands ic (a registration change) to every open stream.
func (in *incoming) broadcast(ic protocol.IncomingCall, s *session) {
	in.mu.Lock()
	sts := make([]*callStream, 0, len(in.streams))
	for st := range in.streams {
		sts = append(sts, st)
	}
	in.mu.Unlock()
	for _, st := range sts {
		st.deliver(ic, s)
	}
}

// deliver hands ic to the reader without ever blocking.
func (st *callStream) deliver(ic protocol.IncomingCall, s *session) {
	select {
	case <-st.done:
		return
	default:
	}
	select {
	case st.ch <- ic:
	default:
		// Recorded for the report before it is counted: whoever sees the
		// count also finds the call in the next report.
		st.missMu.Lock()
		st.missed++
		if len(st.missedIDs) < maxMissedIDs && ic.CallID != "" {
			st.missedIDs = append(st.missedIDs, ic.CallID)
		}
		st.missMu.Unlock()
		n := st.dropped.Add(1)
		s.log.Warn("incoming call not handed over: the reader is behind", "call_id", ic.CallID, "missed", n)
	}
}

// missedReport returns, and resets, the report of calls this stream
// missed since the last one; ok is false when it missed none.
func (st *callStream) missedReport() (protocol.IncomingCall, bool) {
	st.missMu.Lock()
	defer st.missMu.Unlock()
	if st.missed == 0 {
		return protocol.IncomingCall{}, false
	}
	r := protocol.IncomingCall{Time: time.Now(), Missed: st.missed, MissedCallIDs: st.missedIDs}
	st.missed, st.missedIDs = 0, nil
	return r, true
}

// Recv returns the next call; after the end, the calls still buffered,
// then io.EOF or the context's error.
func (st *callStream) Recv() (protocol.IncomingCall, error) {
	// What the reader missed is said before anything newer, so that the
	// host can tell its user (nothing is dropped silently).
	if r, ok := st.missedReport(); ok {
		return r, nil
	}
	select {
	case ic := <-st.ch:
		return ic, nil
	case <-st.done:
	}
	select {
	case ic := <-st.ch:
		return ic, nil
	default:
	}
	if st.err != nil {
		return protocol.IncomingCall{}, st.err
	}
	return protocol.IncomingCall{}, io.EOF
}

// Close ends the stream; it is safe to call more than once.
func (st *callStream) Close() error {
	st.end(nil)
	return nil
}

// end removes the stream; when it was the last one, pending calls get 480
// (nobody is left to answer them).
func (st *callStream) end(err error) {
	st.once.Do(func() {
		in := st.in
		in.mu.Lock()
		delete(in.streams, st)
		last := len(in.streams) == 0 && !in.closed
		in.mu.Unlock()
		st.err = err
		close(st.done)
		if last {
			in.settleAll(false)
		}
	})
}
