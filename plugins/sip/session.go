package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// session is one user agent bound to one account. Register, Unregister and
// Close are serialised by mu: a REGISTER's Call-ID and CSeq sequence
// belong to the session (RFC 3261 §10.2.4), and the TLS verification
// result is written during a handshake that runs under mu.
type session struct {
	protocol.UnsupportedTelephonySession

	log       hclog.Logger
	aor       gosip.Uri
	authUser  string
	password  string
	display   string
	timeout   time.Duration
	targets   []Target
	proxyHost string
	tlsConfig *tls.Config
	ua        *sipgo.UserAgent

	mu      sync.Mutex
	verif   certid.Verification // filled by tlsConfig.VerifyConnection
	callID  string
	fromTag string
	cseq    uint32
	udp     *connectedUDP                 // the UDP socket, connected to udp.raddr
	streams map[*gosip.TCPConnection]bool // TCP and TLS connections used
	bound   *binding                      // the registered binding; nil when none
	closed  bool
	keeping bool          // a keeper goroutine runs (keep.go)
	stop    chan struct{} // closed by Close: the keeper ends

	callsMu sync.Mutex
	calls   map[string]*call // outgoing calls by Call-ID

	in incoming // incoming calls (incoming.go)
}

// binding is what Register left at the registrar.
type binding struct {
	target  Target
	contact *gosip.ContactHeader
	conn    *gosip.TCPConnection // the TCP or TLS flow it was made over; nil over UDP
	asked   time.Duration        // the lifetime asked for
	granted time.Duration        // the lifetime the registrar granted
	at      time.Time            // when it was granted
}

var _ protocol.TelephonySession = (*session)(nil)

// Register implements protocol.TelephonySession: REGISTER (RFC 3261 §10.2)
// with digest authentication (RFC 8760), to the resolved targets in turn
// until one answers (RFC 3263 §4.3). It is bounded by ctx and the
// ConnectRequest's Timeout. From then on until Unregister or Close, while
// an IncomingCalls stream is open, the session keeps the binding alive
// (keep.go): it refreshes it at half the granted lifetime, notices a
// closed TCP/TLS flow, registers again, and reports each change to the
// streams.
func (s *session) Register(ctx context.Context, rr protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	start := time.Now()
	rep := protocol.ConnectionReport{Aspect: protocol.AspectTelephony, Backend: "sip", State: "failed"}
	if rr.Expires < 0 {
		return rep, fmt.Errorf("sip register %s: negative expiry %s: %w", s.aor.Addr(), rr.Expires, protocol.ErrInvalid)
	}
	exp := rr.Expires
	if exp == 0 {
		exp = defaultExpires
	}
	secs := uint32((exp + time.Second - 1) / time.Second)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return rep, fmt.Errorf("sip register %s: session closed: %w", s.aor.Addr(), protocol.ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	targets := s.targets
	if s.bound != nil {
		// Refresh where the binding is (RFC 3261 §10.2.4); fail over after.
		targets = append([]Target{s.bound.target}, without(targets, s.bound.target)...)
	}
	var lastErr error
	for i, t := range targets {
		ex, err := s.exchange(ctx, t, secs, nil)
		if err == nil {
			err = statusError(ex.res)
		}
		s.fillReport(&rep, t, ex, start)
		if err == nil {
			rep.State = "registered"
			rep.Expires = grantedExpiry(ex.res, ex.contact, ex.expires)
			b := &binding{target: t, contact: ex.contact, asked: exp, granted: rep.Expires, at: time.Now()}
			if tc, ok := ex.conn.(*gosip.TCPConnection); ok {
				b.conn = tc
			}
			prev := s.bound
			s.bound = b
			s.dropStaleLocked(ctx, prev)
			s.keepLocked()
			s.log.Debug("registered", "contact", rep.Address, "server", rep.Server, "transport", rep.Transport,
				"auth", rep.AuthMechanism, "expires", rep.Expires, "elapsed", rep.Elapsed)
			return rep, nil
		}
		lastErr = err
		// RFC 3263 §4.3: try the next target when this one cannot be
		// reached, never after a certificate failure. The targets share
		// one transport (resolve.go), so failing over never downgrades.
		if ctx.Err() != nil || !errors.Is(err, protocol.ErrUnreachable) || errors.Is(err, protocol.ErrCertificate) {
			break
		}
		if i+1 < len(targets) {
			s.log.Debug("target failed, trying the next", "target", t.String(), "error", err)
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, fmt.Errorf("sip register %s: %w", s.aor.Addr(), lastErr)
}

// Unregister removes the binding Register made: REGISTER with the same
// Contact and Expires: 0 (RFC 3261 §10.2.2). Without a binding it does
// nothing. Errors as for Register; ErrNotConnected after Close.
func (s *session) Unregister(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sip unregister %s: session closed: %w", s.aor.Addr(), protocol.ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.unregisterLocked(ctx)
}

func (s *session) unregisterLocked(ctx context.Context) error {
	if s.bound == nil {
		return nil
	}
	ex, err := s.exchange(ctx, s.bound.target, 0, s.bound.contact)
	if err == nil {
		err = statusError(ex.res)
	}
	if err == nil && stillBound(ex.res, s.bound.contact) {
		// RFC 3261 §10.3: the 200 lists the bindings left; ours must not be.
		err = newError(protocol.ErrProtocol, nil, "%d %s but the registrar still lists %s",
			ex.res.StatusCode, ex.res.Reason, s.bound.contact.Address.String())
	}
	if err != nil {
		return fmt.Errorf("sip unregister %s: %w", s.aor.Addr(), err)
	}
	s.log.Debug("unregistered", "contact", s.bound.contact.Address.String())
	s.bound = nil
	return nil
}

// Close unregisters (bounded by closeTimeout) when registered, then
// releases the sockets. It is safe to call more than once; the error is
// the unregistration's, the resources are released regardless.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.hangupAll() // before unregistering: BYE and CANCEL need the flow
	s.in.close()  // 480 to calls still pending, over the same flow
	var err error
	if s.bound != nil {
		uctx, cancel := context.WithTimeout(ctx, min(closeTimeout, s.timeout))
		err = s.unregisterLocked(uctx)
		cancel()
	}
	s.closed = true
	if s.stop != nil {
		close(s.stop)
	}
	if s.udp != nil {
		_ = s.udp.Close()
		s.udp = nil
	}
	s.closeStreams()
	if cerr := s.ua.Close(); cerr != nil {
		s.log.Debug("closing the user agent", "error", cerr)
	}
	return err
}

// closeStreams closes the TCP and TLS connections underneath sipgo and
// waits (briefly) for its readers to release them. Left to UA.Close, sipgo
// v1.7.2 force-closes them first and its readers then drive the reference
// count negative and log "TCP ref went negative" through the global slog
// logger, straight to the user's terminal.
func (s *session) closeStreams() {
	if len(s.streams) == 0 {
		return
	}
	for c := range s.streams {
		_ = c.Conn.Close()
	}
	s.streams = nil
	tp := s.ua.TransportLayer()
	for range 100 {
		if tp.Pool("tcp").Size()+tp.Pool("tls").Size() == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fillReport records what is known after an attempt, successful or not.
func (s *session) fillReport(rep *protocol.ConnectionReport, t Target, ex *exchange, start time.Time) {
	rep.Server = t.Addr.String()
	rep.Transport = t.Transport
	rep.Encrypted = t.Transport == "tls"
	rep.Elapsed = time.Since(start)
	rep.Notes = nil
	if ex == nil {
		return
	}
	if ex.contact != nil {
		rep.Address = ex.contact.Address.String()
	}
	rep.AuthOffered = ex.offered
	rep.AuthMechanism = ""
	if ex.used != nil {
		rep.AuthMechanism = "digest " + ex.used.Algorithm
	}
	if t.Transport == "tls" {
		rep.TLS = s.tlsInfo(ex.conn)
	} else {
		rep.TLS = nil
		rep.Notes = append(rep.Notes, fmt.Sprintf(
			"SIP over %s is not encrypted: digest authentication keeps the password secret, but the messages, "+
				"who calls whom and the digest (open to offline guessing) can be read and changed on the path; "+
				"use a sips: address or ;transport=tls for parity with an encrypted chat connection", t.Transport))
	}
	if ex.res != nil && ex.res.IsSuccess() && ex.used == nil {
		rep.Notes = append(rep.Notes, "the registrar accepted the registration without asking for authentication")
	}
}

// tlsInfo describes the TLS connection a request went over, with the
// verification result certid recorded during its handshake.
func (s *session) tlsInfo(conn gosip.Connection) *protocol.TLSInfo {
	info := &protocol.TLSInfo{
		ServerName: s.tlsConfig.ServerName,
		Verified:   s.verif.Verified,
		ServerAuth: s.verif.Method,
		Chain:      s.verif.Chain,
	}
	if tc, ok := conn.(*gosip.TCPConnection); ok {
		if c, ok := tc.Conn.(*tls.Conn); ok {
			cs := c.ConnectionState()
			info.Version = tls.VersionName(cs.Version)
			info.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)
			info.ALPN = cs.NegotiatedProtocol
		}
	}
	return info
}

func without(ts []Target, t Target) []Target {
	out := make([]Target, 0, len(ts))
	for _, x := range ts {
		if x != t {
			out = append(out, x)
		}
	}
	return out
}
