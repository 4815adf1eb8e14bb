package fake

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Account is one account of the service, for either aspect: a bare JID
// (IMPP) or a SIP AOR (telephony) as Address.
type Account struct {
	Address  string
	Password string
	// Roster is what Roster returns (IMPP).
	Roster []protocol.RosterItem
	// VCard is the account's own vCard in RFC 6350 text; "" = none.
	VCard string
	// Reach is the account's XEP-0152 addresses (IMPP).
	Reach []protocol.ReachAddress
	// PlainSignalling: the account's SIP flow is UDP or TCP, not TLS (the
	// default is TLS). SDES keys are then never sent nor accepted (RFC
	// 4568 §8.3): Encryption "" means plain RTP and "srtp" is refused
	// (protocol.ErrMediaInsecure), as the contract says.
	PlainSignalling bool
}

// Response is how the code under test answered an incoming call.
type Response struct {
	Account string
	CallID  string
	Status  int
	Reason  string
}

// Service is the in-memory service shared by the backends made from it.
// Its methods are safe for concurrent use.
type Service struct {
	// Now stamps received messages; nil is time.Now.
	Now func() time.Time

	mu         sync.Mutex
	accounts   map[string]*Account
	connectErr map[string]error
	sent       []protocol.Message
	responses  []Response
	dialled    []protocol.DialRequest
	dials      map[string][]protocol.CallEvent
	presences  []protocol.Presence
	rooms      map[string][]occupant
	digits     map[string]string // target → RFC 4733 digits it received
	hub        map[string][]*imppSession
	callHub    map[string][]*telSession
	closed     int
	seq        int
	answered   chan struct{}      // closed and replaced on every response (waitFinal)
	callers    map[string]*caller // the far ends of incoming calls (Answer)
	// calleeMedia: how dialled targets treat media encryption (CalleeMedia).
	calleeMedia map[string]MediaMode
	// subscriptions and activities: see subscribe.go.
	subscriptions []SubscriptionEvent
	activities    []ActivityEvent
}

// NewService returns a service with the accounts given.
func NewService(accounts ...Account) *Service {
	s := &Service{
		accounts: map[string]*Account{}, connectErr: map[string]error{},
		dials: map[string][]protocol.CallEvent{}, rooms: map[string][]occupant{}, digits: map[string]string{},
		hub: map[string][]*imppSession{}, callHub: map[string][]*telSession{},
		answered: make(chan struct{}),
	}
	for _, a := range accounts {
		s.Add(a)
	}
	return s
}

// key is how accounts are found: case-insensitive, sips: as sip:, a JID
// without its resource. A JID and a SIP AOR are different accounts.
func key(addr string) string {
	addr = strings.ToLower(addr)
	if strings.HasPrefix(addr, "sips:") {
		addr = "sip:" + addr[len("sips:"):]
	}
	if i := strings.IndexByte(addr, '/'); i >= 0 { // a full JID's resource
		addr = addr[:i]
	}
	return addr
}

// Add adds or replaces an account.
func (s *Service) Add(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[key(a.Address)] = &a
}

// FailConnect makes every later Connect of address fail with err (e.g.
// protocol.ErrUnreachable, protocol.ErrCertificate); nil clears it.
func (s *Service) FailConnect(address string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.connectErr, key(address))
		return
	}
	s.connectErr[key(address)] = err
}

// OnDial scripts the progress of a call to target (a URI as dialled): Dial
// streams these events; the last one should have Final set. A target
// without a script is answered 404 Not Found.
func (s *Service) OnDial(target string, events ...protocol.CallEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dials[target] = events
}

// Sent returns every message sent through the service, in order.
func (s *Service) Sent() []protocol.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]protocol.Message(nil), s.sent...)
}

// Dialled returns every call placed, in order.
func (s *Service) Dialled() []protocol.DialRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]protocol.DialRequest(nil), s.dialled...)
}

// Responses returns every answer given to an incoming call, in order.
func (s *Service) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// Presences returns every presence set through the service, in order.
func (s *Service) Presences() []protocol.Presence {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]protocol.Presence(nil), s.presences...)
}

// Open counts the sessions connected and not yet closed.
func (s *Service) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.hub {
		n += len(ss)
	}
	for _, ss := range s.callHub {
		n += len(ss)
	}
	return n
}

// Deliver hands m to every open Messages stream of the account m.To (as
// if the server had routed it there) and reports how many received it.
func (s *Service) Deliver(m protocol.Message) int {
	if m.Type == "" {
		m.Type = "chat"
	}
	s.mu.Lock()
	m.Time = s.now()
	targets := append([]*imppSession(nil), s.hub[key(m.To)]...)
	s.mu.Unlock()
	n := 0
	for _, t := range targets {
		if t.messages.push(m) {
			n++
		}
	}
	return n
}

// PublishPresence hands p to every open Presences stream of account to.
func (s *Service) PublishPresence(to string, p protocol.Presence) int {
	s.mu.Lock()
	targets := append([]*imppSession(nil), s.hub[key(to)]...)
	s.mu.Unlock()
	n := 0
	s.mu.Lock()
	for _, t := range targets {
		t.remember(p)
	}
	s.mu.Unlock()
	for _, t := range targets {
		if t.presences.push(p) {
			n++
		}
	}
	return n
}

// Answer scripts target as an endpoint that answers: 180, then 200 with
// media, until the caller hangs up (or the call's Duration passes, or its
// file is played). The final event carries RTP counts, the codec (PCMU),
// the digits sent and, with a RecordFile, a WAV of silence.
func (s *Service) Answer(target string) {
	s.OnDial(target, protocol.CallEvent{StatusCode: 180, Reason: "Ringing"},
		protocol.CallEvent{StatusCode: 200, Reason: "OK", Answered: true})
}

// DTMFReceived returns the digits the calls to target sent, in order (an
// answering endpoint's view, for Answer targets).
func (s *Service) DTMFReceived(target string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.digits[target]
}

// Ring hands in to every open IncomingCalls stream of the account aor and
// reports how many received it. A call without a CallID gets one; one
// without Raw gets a minimal INVITE naming the call; one without Source a
// placeholder address.
func (s *Service) Ring(aor string, in protocol.IncomingCall) (callID string, n int) {
	s.mu.Lock()
	isCall := in.Registration == nil && in.Missed == 0
	if in.CallID == "" && isCall {
		s.seq++
		in.CallID = fmt.Sprintf("fake-call-%d", s.seq)
	}
	if isCall && in.Raw == nil {
		in.Raw = invite(aor, "sip:anonymous@anonymous.invalid", in.CallID)
	}
	if isCall && in.Source == "" {
		in.Source = "192.0.2.1:5060"
	}
	if in.Time.IsZero() {
		in.Time = s.now()
	}
	targets := append([]*telSession(nil), s.callHub[key(aor)]...)
	s.mu.Unlock()
	for _, t := range targets {
		t.mu.Lock()
		t.rung[in.CallID] = true
		t.mu.Unlock()
		if t.calls.push(in) {
			n++
		}
	}
	return in.CallID, n
}

// invite is a minimal INVITE from caller to aor (RFC 3261 §8.1.1).
func invite(aor, caller, callID string) []byte {
	return []byte("INVITE " + aor + " SIP/2.0\r\n" +
		"From: <" + caller + ">;tag=fake\r\nTo: <" + aor + ">\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
}

// WaitFinal waits until the incoming call callID got a final response
// (2xx–6xx) through Respond and returns it; ctx bounds the wait.
func (s *Service) WaitFinal(ctx context.Context, callID string) (Response, error) {
	for {
		s.mu.Lock()
		ch := s.answered
		for _, r := range s.responses {
			if r.CallID == callID && r.Status >= 200 {
				s.mu.Unlock()
				return r, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Response{}, fmt.Errorf("call %s: no final response: %w", callID, ctx.Err())
		}
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) login(req protocol.ConnectRequest) (*Account, error) {
	if err := checkText(req.Address); err != nil {
		return nil, err
	}
	addr := key(req.Address)
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" {
		return nil, fmt.Errorf("address %q: %w", req.Address, protocol.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.connectErr[addr]; err != nil {
		return nil, err
	}
	a, ok := s.accounts[addr]
	if !ok || a.Password != req.Password {
		// One answer for both, as a server gives: no account enumeration.
		return nil, fmt.Errorf("%s: not authorized: %w", req.Address, protocol.ErrAuth)
	}
	cp := *a
	return &cp, nil
}

// checkText refuses what would inject a header or a stanza on a wire.
func checkText(ss ...string) error {
	for _, s := range ss {
		if strings.ContainsAny(s, "\r\n\x00") {
			return fmt.Errorf("CR, LF or NUL in %q: %w", s, protocol.ErrInvalid)
		}
	}
	return nil
}

// report is the connection report of a fake login: TLS 1.3, verified, so
// that parity checks see a well-protected aspect unless a test says
// otherwise (Backend.Report).
func report(aspect protocol.Aspect, backend, state, address string, elapsed time.Duration) protocol.ConnectionReport {
	return protocol.ConnectionReport{
		Aspect: aspect, Backend: backend, State: state, Address: address,
		Server: "fake.invalid:0", Transport: "tls", Encrypted: true,
		TLS: &protocol.TLSInfo{
			Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "fake.invalid",
			Verified: true, ServerAuth: "pkix dns-id fake.invalid",
			Chain: []protocol.CertInfo{{
				Subject: "CN=fake.invalid", Issuer: "CN=fake CA", SHA256: strings.Repeat("0", 64),
				NotBefore: time.Unix(0, 0).UTC(), NotAfter: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
				DNSNames: []string{"fake.invalid"}, KeyAlgorithm: "ECDSA P-256", SignatureAlg: "ECDSA-SHA256",
			}},
		},
		AuthMechanism: "SCRAM-SHA-256", AuthOffered: []string{"SCRAM-SHA-256"},
		Elapsed: elapsed,
	}
}
