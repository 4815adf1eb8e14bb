package telephonytemplate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/cusax/cusax/pkg/protocol"
)

// Register binds the account's contact (RFC 3261 §10.2) and reports the
// connection. Errors wrap ErrAuth (wrong credentials), ErrCertificate
// (the password is never sent then), ErrUnreachable, ErrTimeout,
// ErrNotFound or ErrProtocol; the report still says what was learnt.
func (s *session) Register(ctx context.Context, rr protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	expires := rr.Expires
	if expires <= 0 {
		expires = defaultExpires
	}
	rep := protocol.ConnectionReport{Aspect: protocol.AspectTelephony, Backend: Name, State: "failed",
		Server: s.server, Transport: "tls"}

	req := s.newRegister(uint32(expires / time.Second))
	if s.contact == nil {
		// The Contact names our end of the TLS flow, so connect first (the
		// handshake and certid's check run here) and read the local address.
		if err := sipgo.ClientRequestBuild(s.client, req); err != nil {
			return rep, fmt.Errorf("register %s: %v: %w", &s.aor, err, protocol.ErrProtocol)
		}
		conn, err := s.ua.TransportLayer().ClientRequestConnection(ctx, req)
		if err != nil {
			return rep, fmt.Errorf("register %s: %w", &s.aor, s.transportError(ctx, err))
		}
		local := conn.LocalAddr().String()
		_, _ = conn.TryClose() // release our reference; the pool keeps the flow
		host, port, _ := net.SplitHostPort(local)
		p, _ := strconv.Atoi(port)
		c := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: s.aor.User, Host: host, Port: p, UriParams: sip.NewParams()}}
		if s.aor.Scheme == "sips" {
			c.Address.Scheme = "sips" // RFC 5630 §3.1.3: no transport=tls with sips
		} else {
			c.Address.UriParams.Add("transport", "tls")
		}
		s.contact = c
	}
	req.AppendHeader(s.contact)

	res, err := s.send(ctx, req, &rep)
	s.fillTLS(&rep)
	if err != nil {
		return rep, fmt.Errorf("register %s: %w", &s.aor, err)
	}
	rep.State, rep.Address = "registered", s.contact.Address.String()
	rep.Expires = granted(res, s.contact, expires)
	rep.Elapsed = time.Since(start)
	s.bound = true
	s.log.Debug("registered", "contact", rep.Address, "expires", rep.Expires, "auth", rep.AuthMechanism)
	return rep, nil
}

// Unregister removes the binding: REGISTER with Expires: 0 for our
// Contact (RFC 3261 §10.2.2).
func (s *session) Unregister(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unregister(ctx)
}

func (s *session) unregister(ctx context.Context) error {
	if !s.bound {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := s.newRegister(0)
	req.AppendHeader(s.contact)
	var rep protocol.ConnectionReport
	if _, err := s.send(ctx, req, &rep); err != nil {
		return fmt.Errorf("unregister %s: %w", &s.aor, err)
	}
	s.bound = false
	return nil
}

// Close unregisters (bounded) and stops the user agent. Safe to call more
// than once.
func (s *session) Close(ctx context.Context) error {
	var err error
	s.closing.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		err = s.unregister(ctx)
		_ = s.client.Close()
		_ = s.ua.Close()
	})
	return err
}

// newRegister builds a REGISTER: Request-URI the registrar's domain
// without user (RFC 3261 §10.2), one Call-ID and From tag per session and
// CSeq up by one each time. sipgo adds Via and Max-Forwards.
func (s *session) newRegister(expires uint32) *sip.Request {
	if s.callID == "" {
		s.callID, s.tag = sip.GenerateTagN(24)+"@cusax-template", sip.GenerateTagN(16)
	}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: s.aor.Scheme, Host: s.aor.Host, Port: s.aor.Port})
	from := &sip.FromHeader{Address: s.aor, Params: sip.NewParams()}
	from.Params.Add("tag", s.tag)
	callID := sip.CallIDHeader(s.callID)
	s.cseq++
	exp := sip.ExpiresHeader(expires)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: s.aor})
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: sip.REGISTER})
	req.AppendHeader(&exp)
	req.SetTransport("TLS")
	req.SetDestination(s.server)
	req.SetBody(nil) // Content-Length: 0, required over TLS (RFC 3261 §20.14)
	return req
}

// send runs the transaction and answers one digest challenge (RFC 3261
// §22.2, 401 or 407). A second challenge means the credentials are wrong.
func (s *session) send(ctx context.Context, req *sip.Request, rep *protocol.ConnectionReport) (*sip.Response, error) {
	res, err := s.client.Do(ctx, req)
	if err != nil {
		return nil, s.transportError(ctx, err)
	}
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		hdr := "WWW-Authenticate"
		if res.StatusCode == sip.StatusProxyAuthRequired {
			hdr = "Proxy-Authenticate"
		}
		for _, h := range res.GetHeaders(hdr) {
			if ch, err := digest.ParseChallenge(h.Value()); err == nil {
				alg := strings.ToUpper(ch.Algorithm)
				if alg == "" {
					alg = "MD5" // RFC 3261 §22.4: the default
				}
				rep.AuthOffered = append(rep.AuthOffered, alg)
				if rep.AuthMechanism == "" {
					rep.AuthMechanism = "digest " + alg
				}
			}
		}
		res, err = s.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: s.user, Password: s.password})
		if err != nil {
			return nil, s.transportError(ctx, err)
		}
		s.cseq = req.CSeq().SeqNo // sipgo counted the retry
	}
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		if rep.AuthMechanism == "" {
			rep.AuthMechanism = "none" // the registrar did not challenge
		}
		return res, nil
	case code == 401 || code == 403 || code == 407:
		return nil, fmt.Errorf("%d %s: %w", code, res.Reason, protocol.ErrAuth)
	case code == 404:
		return nil, fmt.Errorf("%d %s: %w", code, res.Reason, protocol.ErrNotFound)
	default:
		return nil, fmt.Errorf("%d %s: %w", code, res.Reason, protocol.ErrProtocol)
	}
}

// transportError classifies a failure to reach the registrar. A failed
// certificate comes first: the handshake was aborted because of it.
func (s *session) transportError(ctx context.Context, err error) error {
	switch {
	case s.verif.Err != nil:
		return s.verif.Err // wraps protocol.ErrCertificate
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: no answer within %s: %w", s.server, s.timeout, protocol.ErrTimeout)
	}
	return fmt.Errorf("%s: %v: %w", s.server, err, protocol.ErrUnreachable)
}

// fillTLS adds what RFC 7590 §3.6 wants a user to see about the TLS layer.
func (s *session) fillTLS(rep *protocol.ConnectionReport) {
	if s.tls.Version == 0 {
		return
	}
	rep.Encrypted = true
	rep.TLS = &protocol.TLSInfo{
		Version:     tls.VersionName(s.tls.Version),
		CipherSuite: tls.CipherSuiteName(s.tls.CipherSuite),
		ServerName:  s.tls.ServerName,
		ALPN:        s.tls.NegotiatedProtocol,
		Verified:    s.verif.Verified,
		ServerAuth:  s.verif.Method,
		Chain:       s.verif.Chain,
	}
}

// granted is the lifetime the registrar granted our contact (RFC 3261
// §10.2.4): its expires parameter in the 200, else the Expires header,
// else what we asked for.
func granted(res *sip.Response, ours *sip.ContactHeader, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.Host != ours.Address.Host || c.Address.Port != ours.Address.Port {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
