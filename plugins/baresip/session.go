package baresip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
)

// session is one baresip process bound to one account.
type session struct {
	log       hclog.Logger
	p         *proc
	c         *ctrl
	audio     string
	timeout   time.Duration
	aor       string // sip:user@domain, as baresip names the UA
	server    string // host:port of the registrar / outbound proxy
	transport string
	proxied   bool                    // ConnectRequest.Server named the outbound proxy
	line      func(regint int) string // the account line: holds the password

	cmdMu sync.Mutex // "callfind ID" + a command on that call, as one step
	regMu sync.Mutex // one Register/Unregister at a time

	mu         sync.Mutex
	regWait    chan event // Register waits for REGISTER_OK / REGISTER_FAIL
	registered bool
	regint     int // the lifetime asked for, seconds
	regLost    time.Time
	dialing    *call           // placed, its Call-ID not yet known
	calls      map[string]sink // outgoing calls and answered incoming ones
	incoming   map[string]*inCall
	streams    map[*callStream]struct{}
	dead       error // set when baresip or its control connection is gone
	closing    sync.Once
}

// sink takes the events of one call.
type sink interface {
	event(event)
	fail(error)
}

// inCall is an incoming call waiting for Respond.
type inCall struct {
	id   string
	peer string
}

// command runs one ctrl_tcp command; a not-ok response is an error (its
// data is not quoted: uanew's echoes the password).
func (s *session) command(cmd, params string) (response, error) {
	if err := s.deadErr(); err != nil {
		return response{}, err
	}
	res, err := s.c.command(cmd, params, cmdWait)
	if err != nil {
		if errors.Is(err, errCtrlClosed) {
			return res, fmt.Errorf("%v: %w", err, protocol.ErrNotConnected)
		}
		return res, fmt.Errorf("%v: %w", err, protocol.ErrTimeout)
	}
	if !res.OK {
		return res, fmt.Errorf("baresip %s failed: %w", cmd, protocol.ErrProtocol)
	}
	return res, nil
}

// onCall runs cmd on call id: callfind makes it baresip's current call
// (menu commands act on that one), then cmd.
func (s *session) onCall(id, cmd, params string) (response, error) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	res, err := s.command("callfind", id)
	if err != nil {
		return res, err
	}
	if strings.HasPrefix(res.Data, "call not found") {
		return res, fmt.Errorf("call %s: %w", id, protocol.ErrNotFound)
	}
	return s.command(cmd, params)
}

// newUA (re)creates the account's user agent; regint 0: not registered.
func (s *session) newUA(regint int) error {
	_, _ = s.command("uadel", s.aor) // ENOENT when there is none
	if _, err := s.command("uanew", s.line(regint)); err != nil {
		return fmt.Errorf("sip account %s: %w", s.aor, err)
	}
	// uadel leaves baresip 1.0's current UA pointing at the deleted one
	// (menu commands act on it): make the new one current.
	if _, err := s.command("uafind", s.aor); err != nil {
		return fmt.Errorf("sip account %s: %w", s.aor, err)
	}
	return nil
}

// watch notices baresip's end or the loss of the control connection. The
// connection is ours alone: ctrl_tcp serves one client and a new one
// replaces the old, so a lost connection may mean another local process
// took control; either way baresip is stopped at once and the session is
// over (its streams end with ErrNotConnected).
func (s *session) watch() {
	var why string
	select {
	case <-s.c.done:
		why = "the baresip control connection was closed (another local process may have connected to it)"
	case <-s.p.done:
		why = "baresip exited: " + s.p.lastLines()
	}
	s.mu.Lock()
	if s.dead == nil {
		s.dead = fmt.Errorf("%s: %w", why, protocol.ErrNotConnected)
	}
	calls := make([]sink, 0, len(s.calls)+1)
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	if s.dialing != nil {
		calls = append(calls, s.dialing)
	}
	streams := make([]*callStream, 0, len(s.streams))
	for st := range s.streams {
		streams = append(streams, st)
	}
	err := s.dead
	s.mu.Unlock()
	s.c.close()
	s.p.stop()
	for _, c := range calls {
		c.fail(err)
	}
	for _, st := range streams {
		st.end(err)
	}
}

func (s *session) deadErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

// onEvent dispatches a baresip event; it runs on the control reader and
// never blocks for long.
func (s *session) onEvent(ev event) {
	s.log.Debug("baresip event", "type", ev.Type, "call", ev.ID, "param", ev.Param)
	switch ev.Type {
	case "REGISTER_OK", "REGISTER_FAIL":
		s.mu.Lock()
		w := s.regWait
		registered := s.registered
		s.mu.Unlock()
		if w != nil {
			select {
			case w <- ev:
			default:
			}
			return
		}
		if registered {
			s.reportRegistration(ev)
		}
		return
	case "CALL_INCOMING":
		s.incomingCall(ev)
		return
	}
	if ev.Class != "call" && ev.Type != "CALL_RTPESTAB" {
		return
	}
	s.mu.Lock()
	c := s.calls[ev.ID]
	if c == nil && ev.ID != "" && ev.Direction == "outgoing" && s.dialing != nil {
		d := s.dialing
		s.dialing = nil
		s.calls[ev.ID] = d // run learns the ID from the event itself
		c = d
	}
	if ev.Type == "CALL_CLOSED" {
		delete(s.calls, ev.ID)
		delete(s.incoming, ev.ID)
	}
	s.mu.Unlock()
	if c != nil {
		c.event(ev)
	}
}

// reportRegistration tells the open incoming-call streams that baresip's
// own refresh of the binding failed or succeeded again.
func (s *session) reportRegistration(ev event) {
	s.mu.Lock()
	re := &protocol.RegistrationEvent{Server: s.server, Transport: s.transport, Reason: ev.Param}
	switch {
	case ev.Type == "REGISTER_FAIL" && s.regLost.IsZero():
		s.regLost = time.Now()
		re.State = protocol.RegistrationLost
		go s.reregister()
	case ev.Type == "REGISTER_FAIL":
		re.State = protocol.RegistrationRetrying
	case !s.regLost.IsZero():
		re.State, re.Down = protocol.RegistrationRestored, time.Since(s.regLost)
		s.regLost = time.Time{}
	default:
		s.mu.Unlock()
		return // a routine refresh
	}
	streams := s.streamList()
	s.mu.Unlock()
	for _, st := range streams {
		st.send(protocol.IncomingCall{Time: time.Now(), Registration: re})
	}
}

// reregister registers again while the binding is lost: baresip 1.0's
// own retry waits longer after each failure (libre: 30 s, doubling), so
// the plugin recreates the user agent every few seconds instead (RFC 3261
// §10.2.4 leaves the client to refresh). Not while a call is up:
// recreating the user agent would end it.
func (s *session) reregister() {
	wait := 2 * time.Second
	for {
		select {
		case <-s.c.done:
			return
		case <-time.After(wait):
		}
		s.mu.Lock()
		lost, busy, reg := !s.regLost.IsZero(), len(s.calls) > 0 || len(s.incoming) > 0, s.registered
		s.mu.Unlock()
		if !lost || !reg {
			return
		}
		if !busy {
			s.regMu.Lock()
			_ = s.newUA(s.regint)
			s.regMu.Unlock()
		}
		if wait < 16*time.Second {
			wait *= 2
		}
	}
}

func (s *session) streamList() []*callStream {
	out := make([]*callStream, 0, len(s.streams))
	for st := range s.streams {
		out = append(out, st)
	}
	return out
}

// Register binds the account (baresip's REGISTER with regint = expires,
// refreshed by baresip itself) and waits for the result. Errors: ErrAuth
// (401/403), ErrNotFound (404), ErrUnsupported (the registrar wants a
// digest other than MD5: baresip 1.0 computes no RFC 8760 SHA-256),
// ErrUnreachable, ErrTimeout.
func (s *session) Register(ctx context.Context, rr protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	start := time.Now()
	s.regMu.Lock()
	defer s.regMu.Unlock()
	expires := rr.Expires
	if expires <= 0 {
		expires = defaultExpires
	}
	rep := protocol.ConnectionReport{Aspect: protocol.AspectTelephony, Backend: Name, State: "failed",
		Server: s.server, Transport: s.transport}
	ch := make(chan event, 4)
	s.mu.Lock()
	s.regWait, s.registered = ch, false
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.regWait = nil
		s.mu.Unlock()
	}()
	s.regint = int(expires / time.Second)
	if err := s.newUA(s.regint); err != nil {
		return rep, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var ev event
	select {
	case ev = <-ch:
	case <-s.c.done:
		return rep, fmt.Errorf("register %s: %w", s.aor, s.deadOr(protocol.ErrNotConnected))
	case <-ctx.Done():
		_ = s.newUA(0) // stop baresip's retries
		return rep, fmt.Errorf("register %s: %s: no answer within %s: %w", s.aor, s.server, s.timeout, protocol.ErrTimeout)
	}
	offered := s.p.offered()
	rep.AuthOffered = offered
	if len(offered) > 0 {
		rep.AuthMechanism = "digest MD5" // the only one baresip 1.0 computes
	} else {
		rep.AuthMechanism = "none"
	}
	if ev.Type == "REGISTER_FAIL" {
		_ = s.newUA(0)
		rep.AuthMechanism = ""
		return rep, fmt.Errorf("register %s: %w", s.aor, registerError(ev.Param, offered))
	}
	s.mu.Lock()
	s.registered = true
	s.mu.Unlock()
	rep.State = "registered"
	rep.Address = "sip:" + strings.TrimPrefix(s.aor, "sip:")[:strings.Index(strings.TrimPrefix(s.aor, "sip:"), "@")] + "@" + s.p.sip
	rep.Expires = s.p.granted()
	if rep.Expires <= 0 {
		rep.Expires = expires // not in the trace: what was asked
	}
	rep.Elapsed = time.Since(start)
	rep.Notes = append(rep.Notes, "baresip 1.0: signalling over "+s.transport+" (no TLS), MD5 digest only")
	return rep, nil
}

func (s *session) deadOr(err error) error {
	if d := s.deadErr(); d != nil {
		return d
	}
	return err
}

// registerError maps baresip's REGISTER_FAIL parameter ("401
// Unauthorized", or an errno text like "Connection refused").
func registerError(param string, offered []string) error {
	md5 := false
	for _, a := range offered {
		md5 = md5 || a == "MD5"
	}
	switch {
	case len(offered) > 0 && !md5:
		return fmt.Errorf("the registrar asks for digest %s; baresip 1.0 computes MD5 only (RFC 8760 SHA-256 is not supported): %w", strings.Join(offered, ", "), protocol.ErrUnsupported)
	case strings.HasPrefix(param, "401"), strings.HasPrefix(param, "403"), strings.HasPrefix(param, "407"):
		return fmt.Errorf("%s: %w", param, protocol.ErrAuth)
	case strings.HasPrefix(param, "404"):
		return fmt.Errorf("%s: %w", param, protocol.ErrNotFound)
	case strings.Contains(strings.ToLower(param), "timed out"):
		return fmt.Errorf("%s: %w", param, protocol.ErrTimeout)
	case len(param) >= 3 && param[0] >= '1' && param[0] <= '6':
		return fmt.Errorf("%s: %w", param, protocol.ErrProtocol)
	}
	return fmt.Errorf("%s: %w", param, protocol.ErrUnreachable)
}

// Unregister removes the binding: deleting baresip's user agent sends
// REGISTER with Expires: 0 (RFC 3261 §10.2.2); a new one without
// registration takes its place for calls.
func (s *session) Unregister(ctx context.Context) error {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.mu.Lock()
	was := s.registered
	s.registered = false
	s.mu.Unlock()
	if !was {
		return nil
	}
	return s.newUA(0)
}

// Close ends the session: baresip is stopped (its user agent unregisters
// on the way out, bounded), its private directory removed. Idempotent.
func (s *session) Close(ctx context.Context) error {
	s.closing.Do(func() {
		s.mu.Lock()
		reg := s.registered
		s.registered = false
		if s.dead == nil {
			s.dead = fmt.Errorf("session closed: %w", protocol.ErrNotConnected)
		}
		s.mu.Unlock()
		_ = reg
		// SIGTERM first: baresip unregisters (ua_stop_all) before it
		// exits; SIGKILL after 2 s.
		s.p.stop()
		s.c.close()
	})
	return nil
}

// IncomingCalls streams the INVITEs baresip reports (CALL_INCOMING), each
// with the INVITE as received (from baresip's SIP trace).
func (s *session) IncomingCalls(ctx context.Context) (protocol.Stream[protocol.IncomingCall], error) {
	if err := s.deadErr(); err != nil {
		return nil, err
	}
	st := &callStream{ch: make(chan protocol.IncomingCall, 64), done: make(chan struct{})}
	st.unlink = func() {
		s.mu.Lock()
		delete(s.streams, st)
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.streams[st] = struct{}{}
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			st.end(ctx.Err())
		case <-st.done:
		}
	}()
	return st, nil
}

func (s *session) incomingCall(ev event) {
	s.mu.Lock()
	s.incoming[ev.ID] = &inCall{id: ev.ID, peer: ev.PeerURI}
	streams := s.streamList()
	s.mu.Unlock()
	now := time.Now()
	// The INVITE comes through baresip's output, not the control socket:
	// waited for off the control reader, so that it is never held up.
	go func() {
		tr := s.p.invite(ev.ID, time.Second)
		// Via the proxy only when it came from the proxy's address (RFC
		// 3325 §9.1: a P-Asserted-Identity is trusted from there only);
		// baresip takes INVITEs from anyone who reaches its port.
		ic := protocol.IncomingCall{CallID: ev.ID, Raw: tr.raw, Time: now, Source: tr.src,
			ViaProxy: s.proxied && tr.src != "" && tr.src == s.server}
		for _, st := range streams {
			st.send(ic)
		}
	}()
}

// Respond answers an incoming call. 180: baresip sent Ringing on its own
// already; 200: accept (media from the session's sound device or silence);
// 486: reject. baresip 1.0 rejects with "486 Rejected" whatever code it is
// given (src/call.c call_hangup), so other codes answer ErrUnsupported and
// leave the call waiting: the host may Respond 486 instead.
func (s *session) Respond(ctx context.Context, callID string, status int, reason string) error {
	s.mu.Lock()
	_, ok := s.incoming[callID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("call %s: no such call waiting: %w", callID, protocol.ErrNotFound)
	}
	switch {
	case status >= 100 && status < 200:
		return nil
	case status == 200:
		_, err := s.onCall(callID, "accept", "")
		return err
	case status == 486:
		s.mu.Lock()
		delete(s.incoming, callID)
		s.mu.Unlock()
		_, err := s.onCall(callID, "hangup", "")
		return err
	}
	return fmt.Errorf("respond %d to %s: baresip 1.0 can reject a call with 486 only: %w", status, callID, protocol.ErrUnsupported)
}
