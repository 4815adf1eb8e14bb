package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/media/recording"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

var _ protocol.Answerer = (*session)(nil)

// answerT1 is RFC 3261's T1 (§17.1.1.1) for the 2xx a UAS retransmits
// itself (§13.3.1.4): first after T1, doubling up to T2, until the ACK
// comes or 64·T1 (Timer H's value) passes. A variable so that tests need
// not wait 32 s.
var answerT1 = 500 * time.Millisecond

const answerT2 = 4 * time.Second

// silenceLevel is the RMS (16-bit scale) below which the caller counts as
// silent for SilenceHangup: about -50 dBFS, under a quiet line's noise.
const silenceLevel = 100

// dtmfDigitSet is what a DTMF digit may be (RFC 4733 §3.2).
const dtmfDigitSet = "0123456789*#ABCD"

// Answer implements protocol.Answerer (see the interface for the
// contract). Whoever takes a call from the pending set owns its final
// response (incoming.go); Answer takes it once the request is checked, so
// a bad request leaves the call pending for Respond.
func (s *session) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	fail := func(err error) (protocol.Stream[protocol.AnswerEvent], error) {
		return nil, fmt.Errorf("sip answer %s: %w", req.CallID, err)
	}
	if err := checkAnswerRequest(req); err != nil {
		return fail(err)
	}
	var play []int16
	if req.PlayFile != "" {
		pcm, err := readPlayFile(req.PlayFile)
		if err != nil {
			return fail(err)
		}
		play = pcm
	}
	var rec *atomicfile.File
	if req.RecordFile != "" {
		f, err := recording.CreateNew(req.RecordFile)
		if err != nil {
			return fail(fmt.Errorf("record file %s: %w: %w", req.RecordFile, err, protocol.ErrInvalid))
		}
		rec = f
	}
	discard := func() {
		if rec != nil {
			recording.Discard(rec)
		}
	}

	in := &s.in
	in.mu.Lock()
	p := in.pending[req.CallID]
	if p != nil {
		delete(in.pending, req.CallID)
	}
	in.mu.Unlock()
	if p == nil {
		discard()
		return fail(fmt.Errorf("no pending call: %w", protocol.ErrNotFound))
	}
	select {
	case <-p.cancelled:
		discard()
		close(p.over)
		return fail(fmt.Errorf("the caller cancelled: %w", protocol.ErrNotFound))
	default:
	}

	// The dialog's requests (BYE) go over the flow the registration uses,
	// the one the INVITE came over (RFC 5626 would say the same).
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		discard()
		_ = p.final(gosip.StatusTemporarilyUnavailable, "")
		return fail(fmt.Errorf("session closed: %w", protocol.ErrNotConnected))
	}
	t := s.targets[0]
	if s.bound != nil {
		t = s.bound.target
	}
	probe := gosip.NewRequest(gosip.OPTIONS, s.aor)
	probe.AppendHeader(&gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Params: gosip.NewParams()})
	probe.SetTransport(gosip.NetworkToUpper(t.Transport))
	probe.SetDestination(t.Addr.String())
	fl, err := s.openFlow(ctx, t, probe)
	s.mu.Unlock()
	if err != nil {
		discard()
		_ = p.final(gosip.StatusTemporarilyUnavailable, "")
		return fail(err)
	}
	conn, err := listenRTP(fl.local.Addr())
	if err != nil {
		discard()
		fl.release()
		_ = p.final(gosip.StatusTemporarilyUnavailable, "")
		return fail(err)
	}
	c := s.newAnswerCall(p, fl)
	cctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	// Registered while it rings already, so that Close ends it too.
	s.addCall(c)
	st := &answerStream{ch: make(chan protocol.AnswerEvent, 64), cancel: cancel}
	go func() {
		defer cancel()
		defer s.removeCall(c)
		defer st.finish()
		defer fl.release()
		defer conn.Close()
		a := &answering{s: s, c: c, p: p, req: req, play: play, rec: rec, conn: conn, st: st}
		a.run(cctx)
	}()
	return st, nil
}

func checkAnswerRequest(req protocol.AnswerRequest) error {
	switch {
	case req.CallID == "":
		return fmt.Errorf("no call ID: %w", protocol.ErrInvalid)
	case req.Ring < 0 || req.Duration < 0 || req.DigitTimeout < 0 || req.SilenceHangup < 0 || req.Digits < 0:
		return fmt.Errorf("negative duration or digit count: %w", protocol.ErrInvalid)
	}
	if err := checkEncryption(req.Encryption); err != nil {
		return err
	}
	for _, set := range []struct{ name, v string }{{"DTMF to send", req.SendDTMF}, {"until digits", req.Until}} {
		for _, d := range strings.ToUpper(set.v) {
			if !strings.ContainsRune(dtmfDigitSet, d) {
				return fmt.Errorf("%s: %q is not a DTMF digit (want 0-9 * # A-D): %w", set.name, d, protocol.ErrInvalid)
			}
		}
	}
	return nil
}

// listenRTP binds an even UDP port on ip (RFC 3550 §11).
func listenRTP(ip netip.Addr) (*net.UDPConn, error) {
	for range 20 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP(ip.AsSlice())})
		if err != nil {
			return nil, newError(protocol.ErrUnreachable, err, "RTP socket on %s: %v", ip, err)
		}
		if u.LocalAddr().(*net.UDPAddr).Port%2 == 0 {
			return u, nil
		}
		defer u.Close() // keep odd ports taken until an even one is found
	}
	return nil, newError(protocol.ErrUnreachable, nil, "no even UDP port free for RTP on %s", ip)
}

// newAnswerCall is the dialog of an incoming call as its UAS (RFC 3261
// §12.1.1): our From is the INVITE's To with our tag, our To its From;
// the remote target is its Contact and the route set its Record-Route in
// the order received. It is registered under the caller's Call-ID, so
// ACK, BYE, INFO and re-INVITE find it, and Close hangs it up.
func (s *session) newAnswerCall(p *pendingCall, fl *flow) *call {
	c := &call{s: s, callID: p.id, cseq: 1, flow: fl, remoteBye: make(chan struct{}), acked: make(chan struct{}), cancel: func() {}}
	from := &gosip.FromHeader{Params: gosip.NewParams()}
	if to := p.req.To(); to != nil {
		from.DisplayName, from.Address = to.DisplayName, to.Address
	}
	from.Params.Add("tag", p.toTag)
	c.from = from
	c.to = &gosip.ToHeader{Params: gosip.NewParams()}
	if f := p.req.From(); f != nil {
		c.to.DisplayName, c.to.Address = f.DisplayName, f.Address
		if tag, ok := f.Params.Get("tag"); ok {
			c.to.Params.Add("tag", tag)
		}
	}
	c.remoteTarget = c.to.Address
	if ct := p.req.Contact(); ct != nil {
		c.remoteTarget = ct.Address
	}
	for _, h := range p.req.GetHeaders("Record-Route") {
		for _, v := range strings.Split(h.Value(), ",") {
			var u gosip.Uri
			if err := gosip.ParseUri(strings.Trim(strings.TrimSpace(v), "<>"), &u); err == nil {
				c.routes = append(c.routes, u)
			}
		}
	}
	return c
}

// answering is one Answer call's life.
type answering struct {
	s    *session
	c    *call
	p    *pendingCall
	req  protocol.AnswerRequest
	play []int16
	rec  *atomicfile.File
	conn *net.UDPConn
	st   *answerStream

	overOnce sync.Once
}

// settle lets handleIncoming return (and sipgo end the INVITE
// transaction, gracefully) once the final response is out.
func (a *answering) settle() { a.overOnce.Do(func() { close(a.p.over) }) }

func (a *answering) event(kind string) protocol.AnswerEvent {
	return protocol.AnswerEvent{CallID: a.c.callID, Kind: kind}
}

// end sends a final event for a call that never got to media.
func (a *answering) end(status int, by, note string) {
	ev := a.event(protocol.AnswerEnded)
	ev.Final, ev.StatusCode, ev.Reason, ev.HungUpBy, ev.Note = true, status, reasonPhrase(status), by, note
	if status == gosip.StatusOK {
		ev.Reason = "OK"
	}
	a.st.send(ev)
}

func (a *answering) run(ctx context.Context) {
	log := a.s.log.With("call_id", a.c.callID)
	if a.rec != nil {
		defer recording.Discard(a.rec) // a no-op after CommitNew
	}
	// How the media is protected (srtp_answer.go): SRTP, plain, or 488.
	plan, refused, err := planAnswer(a.p.req.Body(), a.req.Encryption, requestOverTLS(a.p.req))
	if err != nil || refused != nil {
		status := gosip.StatusNotAcceptableHere
		var note string
		switch {
		case refused != nil:
			note = refused.note
		case errors.Is(err, callmedia.ErrNoCommonCodec):
			note = "no codec in common with the caller's offer (we take PCMU or PCMA)"
		default:
			note = "no usable SDP offer: " + redactKeys(err.Error())
		}
		// RFC 3264 §6 (and RFC 4568 §7.1.2 for SRTP): an offer we
		// cannot or will not answer is refused with 488.
		log.Warn("answer: refusing the call with 488 Not Acceptable Here", "reason", note)
		_ = a.p.final(status, "")
		a.overOnce.Do(func() {})
		a.end(status, protocol.HungUpByError, note)
		return
	}
	offer := plan.offer

	// RFC 3261 §13.3.1.1: 180 while the user is alerted.
	if err := a.p.tx.Respond(a.p.response(gosip.StatusRinging, "")); err != nil {
		log.Debug("answer: 180 not sent", "error", err)
	}
	a.st.send(a.event(protocol.AnswerRinging))
	if a.req.Ring > 0 {
		timer := time.NewTimer(a.req.Ring)
		select {
		case <-timer.C:
		case <-a.p.cancelled:
			timer.Stop()
			a.settle() // sipgo answered the CANCEL 200 and the INVITE 487
			a.end(gosip.StatusRequestTerminated, protocol.HungUpByCaller, "the caller cancelled before the answer")
			return
		case <-ctx.Done():
			timer.Stop()
			_ = a.p.final(gosip.StatusTemporarilyUnavailable, "")
			a.overOnce.Do(func() {})
			a.end(gosip.StatusTemporarilyUnavailable, protocol.HungUpByHost, "the host gave up before the answer")
			return
		}
	}

	var sess [8]byte
	_, _ = rand.Read(sess[:])
	port := a.conn.LocalAddr().(*net.UDPAddr).Port
	var body []byte
	var cert *callmedia.DTLSCertificate
	switch {
	case plan.dtlsPeer != nil:
		// RFC 5763 §5: our answer has a fresh certificate's fingerprint
		// and a=setup:active to an actpass offer.
		if cert, err = callmedia.NewDTLSCertificate(); err == nil {
			body, err = callmedia.AnswerDTLS(offer, *plan.dtlsPeer, binary.BigEndian.Uint64(sess[:])>>1, a.c.flow.local.Addr(), port, cert.Fingerprint())
		}
	case plan.keys != nil:
		// RFC 4568 §7.1.2: one a=crypto line, the offered tag and
		// suite, our own fresh key (we send with it, §6.1).
		body, err = callmedia.AnswerSRTP(offer, plan.local, binary.BigEndian.Uint64(sess[:])>>1, a.c.flow.local.Addr(), port)
	default:
		body, err = callmedia.AnswerSDP(offer, binary.BigEndian.Uint64(sess[:])>>1, a.c.flow.local.Addr(), port)
	}
	if err != nil {
		_ = a.p.final(gosip.StatusInternalServerError, "")
		a.overOnce.Do(func() {})
		a.end(gosip.StatusInternalServerError, protocol.HungUpByError, redactKeys(err.Error()))
		return
	}
	a.c.offer = body // a re-INVITE gets the same SDP (handleInvite)
	res := a.p.response(gosip.StatusOK, "OK")
	res.SetBody(body)
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(a.s.contactFor(a.c.flow.t, a.c.flow.local))
	res.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"))
	select {
	case <-a.p.cancelled:
		a.settle()
		a.end(gosip.StatusRequestTerminated, protocol.HungUpByCaller, "the caller cancelled before the answer")
		return
	default:
	}
	if err := a.p.tx.Respond(res); err != nil {
		a.settle()
		a.end(0, protocol.HungUpByError, "200 not sent: "+err.Error())
		return
	}
	a.settle()
	okAt := time.Now()
	var hs *answerDTLS
	if plan.dtlsPeer != nil {
		hs = startAnswerDTLS(ctx, a.conn, plan, cert)
		defer hs.stop() // before the socket is closed (Answer)
	}

	// RFC 3261 §13.3.1.4: the 2xx is retransmitted by us until the ACK;
	// none within 64·T1 ends the dialog with a BYE.
	interval := answerT1
	retrans := time.NewTimer(interval)
	timerH := time.NewTimer(64 * answerT1)
	acked := false
	for !acked {
		select {
		case <-a.c.acked:
			acked = true
		case <-retrans.C:
			if err := a.p.tx.Respond(res); err != nil {
				// The transaction is gone (over TCP/TLS sipgo ends it
				// at once): the core retransmits all the same.
				if tc, ok := a.p.tx.(interface{ Connection() gosip.Connection }); ok && tc.Connection() != nil {
					_ = tc.Connection().WriteMsg(res)
				}
			}
			interval = min(2*interval, answerT2)
			retrans.Reset(interval)
		case <-timerH.C:
			retrans.Stop()
			log.Warn("answer: no ACK for the 200; hanging up (RFC 3261 §13.3.1.4, Timer H)", "after", 64*answerT1)
			a.c.bye()
			a.end(gosip.StatusOK, protocol.HungUpByError, fmt.Sprintf("no ACK within %s (RFC 3261 Timer H): hung up", 64*answerT1))
			return
		case <-a.c.remoteBye:
			retrans.Stop()
			timerH.Stop()
			a.end(gosip.StatusOK, protocol.HungUpByCaller, "the caller hung up before the ACK")
			return
		case <-ctx.Done():
			retrans.Stop()
			timerH.Stop()
			a.c.bye()
			a.end(gosip.StatusOK, protocol.HungUpByHost, "hung up before the ACK")
			return
		}
	}
	retrans.Stop()
	timerH.Stop()
	if hs != nil {
		select {
		case <-hs.done:
		case <-a.c.remoteBye:
			a.end(gosip.StatusOK, protocol.HungUpByCaller, "the caller hung up during the DTLS-SRTP handshake")
			return
		case <-ctx.Done():
			a.c.bye()
			a.end(gosip.StatusOK, protocol.HungUpByHost, "hung up during the DTLS-SRTP handshake")
			return
		}
		if hs.err != nil {
			// RFC 5763 §5: a failed handshake or a certificate that
			// does not match the offer's fingerprint ends the call
			// before any media (dtls.go: no plain fallback).
			note := dtlsFailure(hs.err).Error()
			log.Warn("answer: DTLS-SRTP failed; hanging up", "reason", note)
			a.c.bye()
			a.end(gosip.StatusOK, protocol.HungUpByError, note)
			return
		}
		plan.dtls, plan.keys, plan.protection = hs.ds, hs.ds.Keys(), hs.ds.Keys().Suite
		if f := keysHookFrom(ctx); f != nil {
			f(nil, plan.keys) // tests: no key in any log
		}
	}
	log.Debug("answered", "setup", time.Since(okAt), "codec", offer.Codec, "remote", offer.Remote, "media_protection", plan.protection)
	ev := a.event(protocol.AnswerAnswered)
	ev.StatusCode, ev.Reason, ev.Answered, ev.Codec, ev.MediaPeer = gosip.StatusOK, "OK", true, offer.Codec, offer.Remote.String()
	plan.protect(&ev)
	a.st.send(ev)
	a.talk(ctx, plan)
}

// talk runs the media of an answered call and ends it as req says.
func (a *answering) talk(ctx context.Context, plan answerMedia) {
	offer := plan.offer
	req := a.req
	answeredAt := time.Now()
	final := a.event(protocol.AnswerEnded)
	final.Final, final.StatusCode, final.Reason, final.Answered = true, gosip.StatusOK, "OK", true
	final.Codec, final.MediaPeer = offer.Codec, offer.Remote.String()
	plan.protect(&final)

	type digitIn struct {
		d   rune
		via string
	}
	digits := make(chan digitIn, 256)
	firstMedia := make(chan struct{})
	var firstOnce sync.Once
	var lastLoud atomic.Int64
	lastLoud.Store(time.Now().UnixNano())
	onDigit := func(d rune, via string) {
		select {
		case digits <- digitIn{d, via}:
		default: // a flood: the call ends on its rules long before
		}
	}
	a.c.mu.Lock()
	a.c.infoDigit = func(d rune) { onDigit(d, "sip-info") }
	a.c.mu.Unlock()

	dtmf := req.SendDTMF
	var notes []string
	if plan.note != "" {
		notes = append(notes, plan.note)
	}
	if dtmf != "" && !offer.HasEvents {
		notes = append(notes, "the caller did not offer telephone-event (RFC 4733): DTMF not sent")
		dtmf = ""
	}
	playOnly := req.Duration == 0 && req.PlayFile != "" && req.Digits == 0 && req.Until == "" && req.DigitTimeout == 0 && req.SilenceHangup == 0
	cfg := callmedia.SessionConfig{
		Conn: a.conn, Remote: offer.Remote, PayloadType: offer.PayloadType,
		Play: a.play, DTMF: dtmf, StopWhenDone: playOnly, Record: a.rec != nil,
		SRTP: plan.keys, // nil: plain RTP
		// RFC 7983 §7: late DTLS records go to the association.
		OnDTLS: func(b []byte) {
			if plan.dtls != nil {
				plan.dtls.HandlePacket(b)
			}
		},
		OnAudio: func(s []int16) {
			firstOnce.Do(func() { close(firstMedia) })
			if rms(s) >= silenceLevel {
				lastLoud.Store(time.Now().UnixNano())
			}
		},
		OnDigit: func(d rune) {
			firstOnce.Do(func() { close(firstMedia) })
			onDigit(d, "rfc4733")
		},
	}
	if offer.HasEvents {
		cfg.EventPT = offer.EventPayloadType
	}
	mctx, stopMedia := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMedia()
	type result struct {
		st  callmedia.Stats
		err error
	}
	mediaDone := make(chan result, 1)
	if offer.Direction == "inactive" {
		notes = append(notes, "the caller's offer is inactive (on hold): no media")
		go func() { <-mctx.Done(); mediaDone <- result{} }()
	} else {
		go func() {
			st, err := callmedia.Run(mctx, cfg)
			mediaDone <- result{st, err}
		}()
	}

	var timeout <-chan time.Time
	if req.Duration > 0 {
		t := time.NewTimer(req.Duration)
		defer t.Stop()
		timeout = t.C
	}
	greeting := time.Duration(len(a.play)) * time.Second / media.TelephonyRate
	var digitTimer *time.Timer
	var digitC <-chan time.Time
	if req.DigitTimeout > 0 {
		digitTimer = time.NewTimer(greeting + req.DigitTimeout)
		defer digitTimer.Stop()
		digitC = digitTimer.C
	}
	var silenceC <-chan time.Time
	if req.SilenceHangup > 0 {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		silenceC = tk.C
	}
	var got []byte
	var res *result
	by := ""
loop:
	for {
		select {
		case <-a.c.remoteBye:
			by = protocol.HungUpByCaller
			notes = append(notes, "the caller hung up")
			break loop
		case <-ctx.Done():
			by = protocol.HungUpByHost
			break loop
		case <-timeout:
			by = protocol.HungUpByUs
			notes = append(notes, "duration reached")
			break loop
		case r := <-mediaDone:
			res = &r
			by = protocol.HungUpByUs
			if r.err != nil && !errors.Is(r.err, context.Canceled) {
				by = protocol.HungUpByError
				notes = append(notes, "media: "+redactKeys(r.err.Error()))
			} else {
				notes = append(notes, "played")
			}
			break loop
		case <-firstMedia:
			firstMedia = nil
			a.st.send(a.event(protocol.AnswerMedia))
		case d := <-digits:
			// An Until digit ends the call and is not one of the digits
			// (no digit event; the final note names it).
			if strings.ContainsRune(strings.ToUpper(req.Until), d.d) {
				by = protocol.HungUpByUs
				notes = append(notes, "digit "+string(d.d)+" ends the call")
				break loop
			}
			ev := a.event(protocol.AnswerDigit)
			ev.Digit, ev.Via = string(d.d), d.via
			a.st.send(ev)
			got = append(got, byte(d.d))
			if req.Digits > 0 && len(got) >= req.Digits {
				by = protocol.HungUpByUs
				notes = append(notes, fmt.Sprintf("%d digits read", len(got)))
				break loop
			}
			if digitTimer != nil {
				digitTimer.Reset(req.DigitTimeout)
			}
		case <-digitC:
			by = protocol.HungUpByUs
			notes = append(notes, "no digit within "+req.DigitTimeout.String())
			break loop
		case <-silenceC:
			if time.Since(time.Unix(0, lastLoud.Load())) >= req.SilenceHangup {
				by = protocol.HungUpByUs
				notes = append(notes, "silence for "+req.SilenceHangup.String())
				break loop
			}
		}
	}
	stopMedia()
	if res == nil {
		r := <-mediaDone
		res = &r
	}
	a.c.mu.Lock()
	a.c.infoDigit = nil
	a.c.mu.Unlock()
	if by != protocol.HungUpByCaller {
		a.c.bye() // RFC 3261 §15.1.1
	}
	final.HungUpBy = by
	final.Duration = time.Since(answeredAt)
	final.Digits = string(got)
	final.RTPSent, final.RTPRecv = res.st.Sent, res.st.Received
	if plan.keys != nil {
		final.SRTPAuthFailures = res.st.AuthFailures
	}
	if res.st.Peer != "" {
		final.MediaPeer = res.st.Peer
	}
	if a.rec != nil {
		f := a.rec
		a.rec = nil
		samples := res.st.Recorded
		if err := media.WriteWAV(f, media.TelephonyRate, samples); err != nil {
			recording.Discard(f)
			notes = append(notes, fmt.Sprintf("record file %s: %v", req.RecordFile, err))
		} else if err := recording.CommitNew(f, req.RecordFile); err != nil {
			notes = append(notes, fmt.Sprintf("record file %s: %v", req.RecordFile, err))
		} else {
			final.RecordedSamples = int64(len(samples))
		}
	}
	final.Note = strings.Join(notes, "; ")
	a.st.send(final)
}

// rms is the root mean square of s.
func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// onAck marks the 2xx acknowledged (RFC 3261 §13.3.1.4).
func (c *call) onAck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acked != nil && !c.ackSeen {
		c.ackSeen = true
		close(c.acked)
	}
}

// handleAck takes the ACK of a 2xx we sent (a request of its own, outside
// the INVITE transaction, RFC 3261 §17.1.1.3).
func (s *session) handleAck(req *gosip.Request, _ gosip.ServerTransaction) {
	if c := s.callFor(req); c != nil {
		c.onAck()
	}
}

// handleInfo takes SIP INFO in a call: application/dtmf-relay carries a
// digit where the caller sends DTMF that way instead of RFC 4733 (no RFC;
// the de-facto format). Other bodies get 415, INFO outside a call 481
// (RFC 3261 §12.2.2).
func (s *session) handleInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	c := s.callFor(req)
	if c == nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.Split(h.Value(), ";")[0]))
	}
	if ct != "application/dtmf-relay" {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusUnsupportedMediaType, "Unsupported Media Type", nil))
		return
	}
	d, err := callmedia.ParseDTMFRelay(req.Body())
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusBadRequest, "Bad Request", nil))
		return
	}
	_ = tx.Respond(gosip.NewResponseFromRequest(req, gosip.StatusOK, "OK", nil))
	c.mu.Lock()
	f := c.infoDigit
	c.mu.Unlock()
	if f != nil {
		f(d)
	}
}

// answerStream carries an answered call's events. Closing it hangs up.
type answerStream struct {
	ch     chan protocol.AnswerEvent
	cancel context.CancelFunc

	mu   sync.Mutex
	done bool
}

// send never blocks the call: the buffer holds far more than a call's
// events unless the peer floods digits, and then a digit event is
// dropped, never the final one (it waits for room, bounded).
func (e *answerStream) send(ev protocol.AnswerEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return
	}
	if ev.Final {
		select {
		case e.ch <- ev:
		case <-time.After(5 * time.Second):
		}
		return
	}
	select {
	case e.ch <- ev:
	default:
	}
}

func (e *answerStream) finish() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		e.done = true
		close(e.ch)
	}
}

func (e *answerStream) Recv() (protocol.AnswerEvent, error) {
	if ev, ok := <-e.ch; ok {
		return ev, nil
	}
	return protocol.AnswerEvent{}, io.EOF
}

func (e *answerStream) Close() error {
	e.cancel()
	return nil
}
