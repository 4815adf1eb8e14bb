// Package telephonytemplate is a minimal telephony backend for cusax,
// written the way a third party writes one: it imports the SDK
// (pkg/protocol/...) and third-party libraries (emiago/sipgo), never
// pkg/core. Copy the directory, rename it, and grow it one capability at a
// time; docs/plugin-protocol.md explains the rules.
//
// It declares one capability, register: Register binds the account at its
// registrar with REGISTER (RFC 3261 §10) over TLS, answering the digest
// challenge (RFC 3261 §22.2) and checking the server's certificate for the
// SIP domain (RFC 5922 §7) with pkg/protocol/certid; Unregister removes the
// binding (Expires: 0). Dial, IncomingCalls, Hangup and Respond answer
// protocol.ErrUnsupported through the embedded
// protocol.UnsupportedTelephonySession.
//
// Deliberately left out, for brevity: UDP and TCP, RFC 3263 DNS (without
// ConnectRequest.Server it dials the AOR's domain on port 5061), refreshing
// the registration before it expires, and 423 Interval Too Brief.
package telephonytemplate

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// Name is the plugin's name: its executable is
// cusax-plugin-telephony-template and an account selects it with
// backend = "template".
const (
	Name    = "template"
	Version = "0.1.0"
)

const (
	defaultTimeout = 15 * time.Second
	defaultExpires = time.Hour
)

// Backend implements protocol.Telephony.
type Backend struct{ log hclog.Logger }

var _ protocol.Telephony = (*Backend)(nil)

// New returns the backend; log gets debug lines, never a secret.
func New(log hclog.Logger) *Backend {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Backend{log: log}
}

// Info declares exactly what the backend implements (no network IO).
func (b *Backend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindTelephony, Name: Name, Version: Version, APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapRegister},
		Description:  "template telephony backend: SIP REGISTER over TLS only (emiago/sipgo)",
	}, nil
}

// Connect checks the request and prepares a user agent; it does no
// network IO. Errors wrap ErrInvalid.
func (b *Backend) Connect(_ context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	var aor sip.Uri
	if hasControl(req.Address) || sip.ParseUri(req.Address, &aor) != nil ||
		(aor.Scheme != "sip" && aor.Scheme != "sips") || aor.User == "" || aor.Host == "" {
		return nil, fmt.Errorf("sip account %q: want an AOR sip:user@domain: %w", req.Address, protocol.ErrInvalid)
	}
	// The registrar: ConnectRequest.Server (sip:host:port;transport=tls),
	// else the domain itself on the SIP-over-TLS port (RFC 3261 §19.1.2).
	host, port := aor.Host, 5061
	if req.Server != "" {
		var u sip.Uri
		if hasControl(req.Server) || sip.ParseUri(req.Server, &u) != nil || u.Host == "" {
			return nil, fmt.Errorf("sip server %q: want sip:host:port;transport=tls: %w", req.Server, protocol.ErrInvalid)
		}
		if tp, _ := u.UriParams.Get("transport"); !strings.EqualFold(tp, "tls") && u.Scheme != "sips" {
			return nil, fmt.Errorf("sip server %q: this backend speaks SIP over TLS only: %w", req.Server, protocol.ErrInvalid)
		}
		host = u.Host
		if u.Port != 0 {
			port = u.Port
		}
	}
	minTLS, ok := protocol.TLSVersion(req.MinTLS)
	if !ok {
		return nil, fmt.Errorf("min TLS %q: want 1.2 or 1.3: %w", req.MinTLS, protocol.ErrInvalid)
	}
	roots, err := certid.Roots(req.CAPEM) // the account's CA plus the system roots
	if err != nil {
		return nil, fmt.Errorf("sip account %s: %w", req.Address, err)
	}
	s := &session{log: b.log.With("aor", req.Address), aor: aor, server: net.JoinHostPort(host, strconv.Itoa(port)),
		user: req.Username, password: req.Password, timeout: req.Timeout}
	if s.user == "" {
		s.user = aor.User
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	// certid checks chain and identity (RFC 5922 §7.1: a sip: URI or DNS
	// name of the domain, or the proxy's host name) inside the handshake, so
	// a bad certificate aborts it before any request is written. We keep a
	// copy of the connection state for the report.
	cfg := certid.SIPClientConfig(aor.Host, host, roots, &s.verif)
	cfg.MinVersion = minTLS
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		s.tls = cs
		return verify(cs)
	}
	if s.ua, err = sipgo.NewUA(sipgo.WithUserAgent("cusax-template/"+Version), sipgo.WithUserAgenTLSConfig(cfg)); err != nil {
		return nil, fmt.Errorf("sip user agent: %v: %w", err, protocol.ErrProtocol)
	}
	if s.client, err = sipgo.NewClient(s.ua); err != nil {
		_ = s.ua.Close()
		return nil, fmt.Errorf("sip client: %v: %w", err, protocol.ErrProtocol)
	}
	return s, nil
}

// hasControl: CR, LF or NUL would let a value inject SIP headers.
func hasControl(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// session is one user agent bound to one account. The embedded stub
// answers ErrUnsupported to every optional operation; override one when
// you add its capability to Info.
type session struct {
	protocol.UnsupportedTelephonySession
	log            hclog.Logger
	aor            sip.Uri
	server         string // host:port of the registrar
	user, password string // password: a secret, never logged
	timeout        time.Duration
	ua             *sipgo.UserAgent
	client         *sipgo.Client

	mu          sync.Mutex
	verif       certid.Verification // the last handshake's certificate check
	tls         tls.ConnectionState // and its TLS parameters
	callID, tag string              // one per session (RFC 3261 §10.2)
	cseq        uint32
	contact     *sip.ContactHeader // our end of the flow, set by the first Register
	bound       bool
	closing     sync.Once
}
