package fake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
)

// TelephonyCapabilities is what a telephony backend of the fake declares by
// default.
var TelephonyCapabilities = []protocol.Capability{
	protocol.CapRegister, protocol.CapDial, protocol.CapIncomingCalls, protocol.CapMedia, protocol.CapDTMF,
	protocol.CapAnswer, protocol.CapSRTP, protocol.CapRespondAny, protocol.CapOptions,
}

// TelephonyBackend is a telephony backend bound to a Service.
type TelephonyBackend struct {
	svc          *Service
	Name         string
	Capabilities []protocol.Capability
	// Report, when set, adjusts each registration report.
	Report func(*protocol.ConnectionReport)
}

// Telephony returns a telephony backend of the service declaring caps (all
// of TelephonyCapabilities when none are given).
func (s *Service) Telephony(caps ...protocol.Capability) *TelephonyBackend {
	if len(caps) == 0 {
		caps = TelephonyCapabilities
	}
	return &TelephonyBackend{svc: s, Name: "fake", Capabilities: caps}
}

// Info implements protocol.Describer.
func (b *TelephonyBackend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindTelephony, Name: b.Name, Version: "0.0.0-fake", APIVersion: protocol.APIVersion,
		Capabilities: slices.Clone(b.Capabilities), Description: "in-memory telephony backend for tests"}, nil
}

// Connect prepares a user agent: like a real backend it checks only the
// address; the password is checked by Register.
func (b *TelephonyBackend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	if err := checkText(req.Address); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(req.Address, "sip:") && !strings.HasPrefix(req.Address, "sips:") || !strings.Contains(req.Address, "@") {
		return nil, fmt.Errorf("address %q is not a SIP AOR: %w", req.Address, protocol.ErrInvalid)
	}
	return &telSession{b: b, req: req, calls: newStream[protocol.IncomingCall](context.Background()), live: map[string]chan struct{}{}, rung: map[string]bool{}}, nil
}

type telSession struct {
	b          *TelephonyBackend
	req        protocol.ConnectRequest
	calls      *stream[protocol.IncomingCall]
	mu         sync.Mutex
	registered bool
	live       map[string]chan struct{} // answered calls, until hung up
	rung       map[string]bool          // incoming calls handed over
	closeOnce  sync.Once
}

func (s *telSession) has(c protocol.Capability) error {
	if !slices.Contains(s.b.Capabilities, c) {
		return fmt.Errorf("%s: %w", c, protocol.ErrUnsupported)
	}
	return nil
}

func (s *telSession) Register(ctx context.Context, req protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	t0 := time.Now()
	if _, err := s.b.svc.login(s.req); err != nil {
		rep := report(protocol.AspectTelephony, s.b.Name, "failed", "", time.Since(t0)+time.Microsecond)
		return rep, err
	}
	exp := req.Expires
	if exp <= 0 {
		exp = time.Hour
	}
	rep := report(protocol.AspectTelephony, s.b.Name, "registered", strings.SplitN(key(s.req.Address), "@", 2)[0]+"@127.0.0.1:5061;transport=tls", time.Since(t0)+time.Microsecond)
	rep.AuthMechanism, rep.AuthOffered, rep.Expires = "digest SHA-256", []string{"SHA-256", "MD5"}, exp
	if !s.b.svc.overTLS(s.req.Address) {
		rep.Address = strings.Replace(rep.Address, "5061;transport=tls", "5060", 1)
		rep.Transport, rep.Encrypted, rep.TLS = "udp", false, nil
	}
	if s.b.Report != nil {
		s.b.Report(&rep)
	}
	s.mu.Lock()
	first := !s.registered
	s.registered = true
	s.mu.Unlock()
	if first {
		s.b.svc.mu.Lock()
		k := key(s.req.Address)
		s.b.svc.callHub[k] = append(s.b.svc.callHub[k], s)
		s.b.svc.mu.Unlock()
	}
	return rep, nil
}

func (s *telSession) Unregister(context.Context) error {
	s.mu.Lock()
	was := s.registered
	s.registered = false
	s.mu.Unlock()
	if was {
		s.b.svc.mu.Lock()
		k := key(s.req.Address)
		s.b.svc.callHub[k] = slices.DeleteFunc(s.b.svc.callHub[k], func(o *telSession) bool { return o == s })
		s.b.svc.mu.Unlock()
	}
	return nil
}

// Dial streams the events scripted with OnDial (or Answer) for the target.
// A target without a script that is a registered account of the service
// rings there (its IncomingCalls stream) and ends with the status it is
// answered with; any other target is answered 404 Not Found. An answered
// call without a final event in the script lasts until ctx ends, Hangup,
// the Duration passes, or (Duration 0) its file or digits are sent.
//
// Media encryption (CapSRTP) follows the contract with the target's
// CalleeMedia: "srtp" off TLS (Account.PlainSignalling) fails here with
// ErrMediaInsecure and nothing is dialled; "srtp" to a plain callee ends
// the stream with ErrMediaInsecure where it would have answered; a plain
// offer to an SRTP-only callee is answered 488. Answered events carry
// MediaProtection (SRTPSuite or "none") unless the script set it.
func (s *telSession) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	if err := s.has(protocol.CapDial); err != nil {
		return nil, err
	}
	hdrs := []string{req.Target, req.DisplayName}
	for _, h := range req.Headers {
		hdrs = append(hdrs, h.Name, h.Value)
	}
	if err := checkText(hdrs...); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(req.Target, "sip:") && !strings.HasPrefix(req.Target, "sips:") && !strings.HasPrefix(req.Target, "tel:") {
		return nil, fmt.Errorf("target %q: %w", req.Target, protocol.ErrInvalid)
	}
	svc := s.b.svc
	tls := svc.overTLS(s.req.Address)
	srtp := s.has(protocol.CapSRTP) == nil // without it, Encryption is not read: media in clear
	if err := checkEncryption(req.Media.Encryption, tls); srtp && err != nil {
		return nil, err
	}
	svc.mu.Lock()
	svc.dialled = append(svc.dialled, req)
	events, scripted := svc.dials[req.Target]
	events = slices.Clone(events)
	registered := len(svc.callHub[key(req.Target)]) > 0
	var ms mediaSec
	if srtp {
		ms = dialMedia(req.Media.Encryption, tls, svc.calleeMedia[req.Target])
	}
	svc.seq++
	callID := fmt.Sprintf("fake-dial-%d", svc.seq)
	svc.mu.Unlock()
	out := newStream[protocol.CallEvent](context.Background())
	if ms.reject != "" {
		// RFC 3264 §6, RFC 4568 §7.1.2: an offer the callee cannot take.
		events, scripted = []protocol.CallEvent{{StatusCode: 488, Reason: "Not Acceptable Here", Final: true, Note: ms.reject}}, true
	}
	if !scripted && registered {
		go s.ringAccount(ctx, out, callID, req, ms)
		return out, nil
	}
	if !scripted {
		events = []protocol.CallEvent{{StatusCode: 404, Reason: "Not Found", Final: true}}
	}
	go s.play(ctx, out, callID, req, events, ms)
	return out, nil
}

// ringAccount places a call to another account of the service and ends
// with the final response it gets there.
func (s *telSession) ringAccount(ctx context.Context, out *stream[protocol.CallEvent], callID string, req protocol.DialRequest, ms mediaSec) {
	var fail error
	defer func() { out.end(fail) }()
	svc := s.b.svc
	svc.Ring(req.Target, protocol.IncomingCall{CallID: callID, Raw: invite(req.Target, s.req.Address, callID), Source: "127.0.0.1:5060"})
	wait := ctx
	if req.Media.RingTimeout > 0 {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, req.Media.RingTimeout)
		defer cancel()
	}
	r, err := svc.WaitFinal(wait, callID)
	if err != nil {
		out.push(protocol.CallEvent{CallID: callID, StatusCode: 487, Reason: "Request Terminated", Final: true})
		return
	}
	ev := protocol.CallEvent{CallID: callID, StatusCode: r.Status, Reason: r.Reason, Answered: r.Status < 300, Final: true}
	if ev.Answered {
		if ms.refuse != nil { // ACK, then BYE at once
			fail = ms.refuse
			return
		}
		ms.fill(&ev.MediaProtection, &ev.MediaKeying, &ev.Note)
	}
	out.push(ev)
}

// play streams a scripted call; an answered one without a final event is
// kept up as Dial says, then ended with its media figures.
func (s *telSession) play(ctx context.Context, out *stream[protocol.CallEvent], callID string, req protocol.DialRequest, events []protocol.CallEvent, ms mediaSec) {
	var fail error
	defer func() { out.end(fail) }()
	answered := false
	for _, ev := range events {
		ev.CallID = callID
		if ev.Answered {
			if ms.refuse != nil { // ACK, then BYE at once: no media
				fail = ms.refuse
				return
			}
			var note *string // the remark goes on the final event
			if ev.Final {
				note = &ev.Note
			}
			ms.fill(&ev.MediaProtection, &ev.MediaKeying, note)
		}
		answered = answered || ev.Answered
		out.push(ev)
		if ev.Final {
			return
		}
	}
	if !answered {
		out.push(protocol.CallEvent{CallID: callID, StatusCode: 408, Reason: "Request Timeout", Final: true})
		return
	}
	start := time.Now()
	hung := make(chan struct{})
	s.mu.Lock()
	s.live[callID] = hung
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.live, callID)
		s.mu.Unlock()
	}()
	var ends <-chan time.Time
	switch m := req.Media; {
	case m.Duration > 0:
		ends = time.After(m.Duration)
	case m.PlayFile != "" || m.DTMF != "":
		ends = time.After(100 * time.Millisecond) // "when play ends"
	}
	select {
	case <-ctx.Done():
	case <-hung:
	case <-ends:
	}
	ev := s.ended(callID, req, time.Since(start))
	ms.fill(&ev.MediaProtection, &ev.MediaKeying, &ev.Note)
	out.push(ev)
}

// ended is the final event of an answered call that lasted d: 50 RTP
// packets a second each way (20 ms of PCMU each), at least one.
func (s *telSession) ended(callID string, req protocol.DialRequest, d time.Duration) protocol.CallEvent {
	packets := max(int64(d/(20*time.Millisecond)), 1)
	ev := protocol.CallEvent{CallID: callID, StatusCode: 200, Reason: "OK", Answered: true, Final: true,
		Duration: d, RTPSent: packets, RTPRecv: packets, Codec: "PCMU", MediaPeer: "192.0.2.2:40000",
		DTMFSent: req.Media.DTMF}
	if req.Media.DTMF != "" {
		s.b.svc.mu.Lock()
		s.b.svc.digits[req.Target] += req.Media.DTMF
		s.b.svc.mu.Unlock()
	}
	if req.Media.RecordFile != "" {
		samples := packets * 160
		var wav bytes.Buffer
		err := media.WriteWAV(&wav, media.TelephonyRate, make([]int16, samples))
		if err == nil {
			err = os.WriteFile(req.Media.RecordFile, wav.Bytes(), 0o600)
		}
		if err != nil {
			ev.Note = "record: " + err.Error()
		} else {
			ev.RecordedSamples = samples
		}
	}
	return ev
}

func (s *telSession) Hangup(_ context.Context, callID string) error {
	if err := s.has(protocol.CapDial); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hung, ok := s.live[callID]
	if !ok {
		return fmt.Errorf("call %s: %w", callID, protocol.ErrNotFound)
	}
	delete(s.live, callID)
	close(hung)
	return nil
}

func (s *telSession) IncomingCalls(context.Context) (protocol.Stream[protocol.IncomingCall], error) {
	if err := s.has(protocol.CapIncomingCalls); err != nil {
		return nil, err
	}
	return s.calls, nil
}

func (s *telSession) Respond(_ context.Context, callID string, status int, reason string) error {
	if err := s.has(protocol.CapIncomingCalls); err != nil {
		return err
	}
	if err := checkText(callID, reason); err != nil {
		return err
	}
	if status < 100 || status > 699 {
		return fmt.Errorf("status %d: %w", status, protocol.ErrInvalid)
	}
	s.mu.Lock()
	known := s.rung[callID]
	s.mu.Unlock()
	if !known {
		return fmt.Errorf("call %s: %w", callID, protocol.ErrNotFound)
	}
	if status >= 200 { // final: the transaction is over (RFC 3261 §17.2.1)
		s.mu.Lock()
		delete(s.rung, callID)
		s.mu.Unlock()
	}
	s.respondAs(callID, status, reason)
	return nil
}

// Close unregisters and ends the incoming-call stream; safe to repeat.
func (s *telSession) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		_ = s.Unregister(ctx)
		s.calls.Close()
	})
	return nil
}

var _ protocol.Telephony = (*TelephonyBackend)(nil)
