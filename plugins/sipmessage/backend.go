package sipmessage

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

// Name is the plugin's name: its executable is cusax-plugin-impp-sipmessage
// and the built-in one runs as `cusax __plugin impp sipmessage`.
const Name = "sipmessage"

// Version is set at release time (-ldflags -X).
var Version = "dev"

// defaultTimeout bounds a Connect whose request sets no Timeout.
const defaultTimeout = 15 * time.Second

// Backend implements protocol.IMPP over SIP MESSAGE.
type Backend struct{ log hclog.Logger }

var _ protocol.IMPP = (*Backend)(nil)

// New returns the backend; log gets debug lines, never a secret.
func New(log hclog.Logger) *Backend {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Backend{log: log}
}

// Capabilities are what this backend does: log in (REGISTER), send and
// receive MESSAGE. Nothing else of IMPP exists in RFC 3428.
var Capabilities = []protocol.Capability{protocol.CapLogin, protocol.CapMessage, protocol.CapMessageRecv}

// Info declares exactly what the backend implements (no network IO).
func (b *Backend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindIMPP, Name: Name, Version: Version, APIVersion: protocol.APIVersion,
		Capabilities: Capabilities,
		Description:  "instant messages over SIP MESSAGE (RFC 3428), sipgo; no roster, presence, vCard or rooms",
	}, nil
}

// flow is where the session's one TCP or TLS connection goes.
type flow struct {
	transport string // "tcp" or "tls"
	addr      string // host:port dialled
	proxyHost string // the proxy's host name, also accepted as TLS identity; "" for an IP
}

// Connect checks the request, registers the AOR and returns the session.
// Errors wrap ErrInvalid (bad address or server), ErrCertificate,
// ErrInsecure, ErrAuth, ErrUnreachable, ErrTimeout or ErrProtocol. The
// password never appears in a log line or an error.
func (b *Backend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	start := time.Now()
	aor, err := parseAOR(req.Address)
	if err != nil {
		return nil, err
	}
	fl, err := flowFor(ctx, aor, req.Server)
	if err != nil {
		return nil, err
	}
	minTLS := uint16(tls.VersionTLS12)
	switch req.MinTLS {
	case "", "1.2":
	case "1.3":
		minTLS = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("min TLS version %q: want 1.2 or 1.3: %w", req.MinTLS, protocol.ErrInvalid)
	}
	if fl.transport == "tcp" && req.MinTLS == "1.3" {
		// --min-tls asks for TLS on both aspects (RFC 7081 §7).
		return nil, fmt.Errorf("server %q: transport tcp, but TLS %s was asked for: %w", req.Server, req.MinTLS, protocol.ErrInsecure)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	roots, err := certid.Roots(req.CAPEM)
	if err != nil {
		return nil, err
	}
	user := req.Username
	if user == "" {
		user = aor.User
	}
	s := &session{
		log: b.log.With("aor", aor.Addr()), aor: aor, flow: fl,
		authUser: user, password: req.Password, timeout: timeout,
		regCallID: token(12) + "@cusax", fromTag: token(8), cseq: 1,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	s.in.init()
	// RFC 5922 §7.3: the identity is the SIP domain of the AOR (a proxy
	// host name is also accepted, as by the built-in backend).
	s.tlsConfig = certid.SIPClientConfig(aor.Host, fl.proxyHost, roots, &s.verif)
	s.tlsConfig.MinVersion = max(s.tlsConfig.MinVersion, minTLS)
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("cusax-sipmessage/"+Version),
		sipgo.WithUserAgentHostname(aor.Host),
		sipgo.WithUserAgenTLSConfig(s.tlsConfig),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(quietLogger(b.log))),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(quietLogger(b.log)),
			// A flow the proxy closes fails a transaction at once.
			gosip.WithTransactionLayerTerminateOnConnClose(),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(s.ua, sipgo.WithServerLogger(quietLogger(b.log)))
	if err != nil {
		_ = s.ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	srv.OnMessage(s.handleMessage)
	srv.OnOptions(s.handleOptions)
	// The registrar forks every request for the AOR to every binding: a
	// call reaches this one too. 480 leaves the other branches (a
	// telephony backend's binding) free to answer; 405 answers the rest
	// with the Allow header RFC 3261 §21.4.6 asks for.
	srv.OnInvite(s.refuseInvite)
	srv.OnNoRoute(s.notAllowed)
	s.report = protocol.ConnectionReport{Aspect: protocol.AspectChat, Backend: Name, State: "failed", Server: fl.addr, Transport: fl.transport}
	if err := s.register(ctx, registerExpiry); err != nil {
		_ = s.ua.Close()
		return nil, fmt.Errorf("sipmessage register %s: %w", aor.Addr(), err)
	}
	s.report.State = "connected"
	s.report.Elapsed = time.Since(start)
	if !s.report.Encrypted {
		s.report.Notes = append(s.report.Notes, "SIP over TCP: messages travel unencrypted to the proxy (digest never reveals the password)")
	}
	go s.keep()
	s.log.Debug("registered", "contact", s.report.Address, "server", fl.addr, "transport", fl.transport, "auth", s.report.AuthMechanism)
	return s, nil
}

// parseAOR takes sip:user@domain or sips:user@domain (a bare user@domain
// means sip:). The AOR needs a user and no port or parameters beyond what
// RFC 3261 §10.2 allows in a To header.
func parseAOR(s string) (gosip.Uri, error) {
	var u gosip.Uri
	if s == "" || len(s) > 512 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return u, fmt.Errorf("address %q: want a SIP address of record sip:user@domain: %w", s, protocol.ErrInvalid)
	}
	l := strings.ToLower(s)
	if !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
		s = "sip:" + s
	}
	if err := gosip.ParseUri(s, &u); err != nil || u.User == "" || u.Host == "" || u.Password != "" {
		return gosip.Uri{}, fmt.Errorf("address %q: want a SIP address of record sip:user@domain: %w", s, protocol.ErrInvalid)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(strings.TrimSuffix(u.Host, "."))
	u.UriParams, u.Headers = nil, nil
	return u, nil
}

// flowFor decides where the one flow goes: the outbound proxy named by
// server (sip:host:port;transport=tcp|tls, sips: means TLS), else the AOR's
// domain: its _sips._tcp SRV record, else the domain itself on 5061, over
// TLS (a simplified RFC 3263: no NAPTR, no UDP). UDP is refused: RFC 3428
// §7 limits a MESSAGE over UDP to 1300 bytes and a flow the proxy can
// reach us on needs a connection.
func flowFor(ctx context.Context, aor gosip.Uri, server string) (flow, error) {
	if server == "" {
		host, port := aor.Host, 5061
		if aor.Port != 0 {
			port = aor.Port
		} else if _, srvs, err := net.DefaultResolver.LookupSRV(ctx, "sips", "tcp", aor.Host); err == nil && len(srvs) > 0 {
			host, port = strings.TrimSuffix(srvs[0].Target, "."), int(srvs[0].Port)
		}
		return flow{transport: "tls", addr: net.JoinHostPort(host, strconv.Itoa(port)), proxyHost: hostName(host)}, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("server %q: %s (want sip:host:port;transport=tls or tcp): %w", server, why, protocol.ErrInvalid)
	}
	if strings.ContainsAny(server, " \t\r\n<>\"") || len(server) > 512 {
		return flow{}, bad("not a SIP URI")
	}
	s := server
	if l := strings.ToLower(s); !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
		s = "sip:" + s
	}
	var u gosip.Uri
	if err := gosip.ParseUri(s, &u); err != nil || u.Host == "" || u.User != "" {
		return flow{}, bad("not a proxy URI")
	}
	tr := "tcp"
	if strings.EqualFold(u.Scheme, "sips") || aor.Scheme == "sips" {
		tr = "tls"
	}
	if t, ok := u.UriParams.Get("transport"); ok {
		switch strings.ToLower(t) {
		case "tls":
			tr = "tls"
		case "tcp":
			if tr == "tls" {
				// RFC 3261 §26.2.2: sips is TLS on every hop.
				return flow{}, bad("a sips: address or proxy needs transport=tls")
			}
		case "udp":
			return flow{}, bad("transport udp is not supported by the sipmessage backend")
		default:
			return flow{}, bad("unknown transport " + t)
		}
	}
	port := u.Port
	if port == 0 {
		port = 5060
		if tr == "tls" {
			port = 5061
		}
	}
	host := strings.Trim(u.Host, "[]")
	return flow{transport: tr, addr: net.JoinHostPort(host, strconv.Itoa(port)), proxyHost: hostName(host)}, nil
}

// hostName is h when it is a name, "" for an IP address.
func hostName(h string) string {
	if net.ParseIP(h) != nil {
		return ""
	}
	return strings.TrimSuffix(h, ".")
}

func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// quietLogger gives sipgo a logger that shows its errors only when the
// plugin logs at debug: sipgo reports expected events (a closed flow) as
// errors, and its messages may quote SIP headers.
func quietLogger(l hclog.Logger) *slog.Logger {
	if !l.IsDebug() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := l.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
