package xmpp

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/cusax/cusax/pkg/protocol"
)

// DefaultTimeout bounds a Connect whose request sets no Timeout.
const DefaultTimeout = 15 * time.Second

// Default ports: RFC 6120 §3.2.1 (STARTTLS) and XEP-0368 §3 (direct TLS
// has no registered port; 5223 is the customary one).
const (
	defaultPort          = "5222"
	defaultDirectTLSPort = "5223"
)

// params is a validated ConnectRequest.
type params struct {
	addr       jid.JID // the account, bare
	origin     jid.JID // addr plus the requested resource, if any
	username   string  // SASL authentication identity
	password   string
	server     string // host:port, or "" for DNS
	directTLS  bool
	allowPlain bool
	mechanisms []string
	timeout    time.Duration
	caPEM      []byte
	minTLS     uint16 // lowest TLS version accepted (ConnectRequest.MinTLS)
}

// parseRequest validates req. Errors wrap protocol.ErrInvalid and name the
// field.
func parseRequest(req protocol.ConnectRequest) (params, error) {
	var p params
	addr, err := jid.Parse(strings.TrimSpace(req.Address))
	switch {
	case err != nil:
		return p, fmt.Errorf("address %q: not a JID: %v: %w", req.Address, err, protocol.ErrInvalid)
	case addr.Localpart() == "":
		return p, fmt.Errorf("address %q: want a bare JID user@domain: %w", req.Address, protocol.ErrInvalid)
	case addr.Resourcepart() != "":
		return p, fmt.Errorf("address %q: want a bare JID without /resource (use the resource setting): %w", req.Address, protocol.ErrInvalid)
	}
	p.addr = addr
	p.origin = addr
	if req.Resource != "" {
		p.origin, err = jid.New(addr.Localpart(), addr.Domainpart(), req.Resource)
		if err != nil {
			return p, fmt.Errorf("resource %q: %v: %w", req.Resource, err, protocol.ErrInvalid)
		}
	}
	p.username = addr.Localpart()
	if req.Username != "" {
		p.username = req.Username
	}
	if req.Password == "" {
		return p, fmt.Errorf("password: empty: %w", protocol.ErrInvalid)
	}
	p.password = req.Password
	p.directTLS = req.DirectTLS
	p.allowPlain = req.AllowPlaintext
	if req.Server != "" {
		p.server, err = normalizeServer(req.Server, req.DirectTLS)
		if err != nil {
			return p, err
		}
	}
	p.mechanisms, err = mechanismPreference(req.Mechanisms)
	if err != nil {
		return p, err
	}
	p.timeout = req.Timeout
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	p.caPEM = req.CAPEM
	var ok bool
	if p.minTLS, ok = protocol.TLSVersion(req.MinTLS); !ok {
		return p, fmt.Errorf("min TLS version %q: want 1.2 or 1.3: %w", req.MinTLS, protocol.ErrInvalid)
	}
	return p, nil
}

// normalizeServer checks "host:port" ("host" alone gets the default port).
func normalizeServer(s string, directTLS bool) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port (or an IPv6 literal without brackets and port).
		host, port = strings.Trim(s, "[]"), defaultPort
		if directTLS {
			port = defaultDirectTLSPort
		}
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return "", fmt.Errorf("server %q: want host:port: %w", s, protocol.ErrInvalid)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("server %q: bad port: %w", s, protocol.ErrInvalid)
	}
	return net.JoinHostPort(host, port), nil
}
