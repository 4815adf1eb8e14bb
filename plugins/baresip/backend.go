package baresip

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
)

// Name is the plugin's name: its executable is
// cusax-plugin-telephony-baresip and an account selects it with
// backend = "baresip" in [account.sip].
const Name = "baresip"

// Version is set at release time (goreleaser ldflags).
var Version = "dev"

const (
	defaultTimeout = 10 * time.Second
	defaultExpires = time.Hour
	cmdWait        = 5 * time.Second
)

// Backend implements protocol.Telephony over baresip.
type Backend struct{ log hclog.Logger }

var _ protocol.Telephony = (*Backend)(nil)

// New returns the backend; log gets debug lines, never a secret.
func New(log hclog.Logger) *Backend {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Backend{log: log}
}

// Info declares what the backend does. Not declared: srtp (SDES keys
// need TLS signalling, and TLS accounts are refused, see Connect),
// respond-any (baresip 1.0 rejects with 486 only), video.
func (b *Backend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind: protocol.KindTelephony, Name: Name, Version: Version, APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapRegister, protocol.CapDial, protocol.CapIncomingCalls,
			protocol.CapMedia, protocol.CapDTMF, protocol.CapAnswer},
		Description: "baresip 1.0 (" + Package + ") driven over ctrl_tcp: sound card calls, SIP over UDP/TCP, MD5 digest; " +
			"no TLS (baresip 1.0 does not check the server certificate), no extra headers, rejects with 486 only",
	}, nil
}

// Connect validates the account, starts one baresip for it and creates its
// user agent (not registered: Register does that). Errors: ErrInvalid (bad
// AOR, server, or a password baresip's account syntax cannot carry),
// ErrInsecure (SIP over TLS: see below), ErrUnsupported (baresip missing).
func (b *Backend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	var aor sip.Uri
	if hasControl(req.Address) || sip.ParseUri(req.Address, &aor) != nil ||
		(aor.Scheme != "sip" && aor.Scheme != "sips") || aor.User == "" || aor.Host == "" {
		return nil, fmt.Errorf("sip account %q: want an AOR sip:user@domain: %w", req.Address, protocol.ErrInvalid)
	}
	transport, host, port := "udp", aor.Host, 0
	if req.Server != "" {
		var u sip.Uri
		if hasControl(req.Server) || sip.ParseUri(req.Server, &u) != nil || u.Host == "" {
			return nil, fmt.Errorf("sip server %q: want sip:host:port;transport=udp|tcp: %w", req.Server, protocol.ErrInvalid)
		}
		if tp, ok := u.UriParams.Get("transport"); ok {
			transport = strings.ToLower(tp)
		}
		if u.Scheme == "sips" {
			transport = "tls"
		}
		host, port = u.Host, u.Port
	}
	// RFC 5922 §7 wants the server's certificate checked against the SIP
	// domain. baresip 1.0 (libre 1.1) neither checks the chain against
	// sip_cafile nor the name (internal/testbed TestBaresipSRTPUnknownCA),
	// so a TLS account through it would be weaker than the built-in
	// backend: refused, before any process starts.
	if aor.Scheme == "sips" || transport == "tls" {
		return nil, fmt.Errorf("sip account %s: SIP over TLS through baresip 1.0 is refused: it does not verify the server's certificate or name (use backend = \"sip\"): %w", req.Address, protocol.ErrInsecure)
	}
	if transport != "udp" && transport != "tcp" {
		return nil, fmt.Errorf("sip server %q: transport %q: want udp or tcp: %w", req.Server, transport, protocol.ErrInvalid)
	}
	user := req.Username
	if user == "" {
		user = aor.User
	}
	// The account line is <uri>;param=value;…: these characters would end
	// a value early (and let it add parameters), so they are refused.
	for what, v := range map[string]string{"user": user, "password": req.Password} {
		if strings.ContainsAny(v, ";>\"<, \t\r\n\x00\\") {
			return nil, fmt.Errorf("sip account %s: the %s contains a character baresip's account syntax cannot carry (; > < \" , space or a control): %w", req.Address, what, protocol.ErrInvalid)
		}
	}
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	serverAddr := host
	if port != 0 {
		serverAddr = net.JoinHostPort(host, strconv.Itoa(port))
	} else {
		serverAddr = net.JoinHostPort(host, "5060")
	}
	audio := os.Getenv(AudioEnv)
	if audio == "" {
		audio = "device"
	}
	if audio != "device" && audio != "none" {
		return nil, fmt.Errorf("%s=%q: want device or none: %w", AudioEnv, audio, protocol.ErrInvalid)
	}
	p, err := start(bin, localIPFor(serverAddr), audio)
	if err != nil {
		return nil, err
	}
	s := &session{log: b.log.With("aor", req.Address), p: p, audio: audio, timeout: timeout,
		aor: "sip:" + aor.User + "@" + aor.Host, server: serverAddr, transport: transport,
		calls: map[string]sink{}, incoming: map[string]*inCall{}, streams: map[*callStream]struct{}{}}
	outbound := ""
	s.proxied = req.Server != ""
	if req.Server != "" {
		outbound = fmt.Sprintf(";outbound=\"sip:%s;transport=%s\"", serverAddr, transport)
	}
	aorHost := aor.Host
	if aor.Port != 0 {
		aorHost = net.JoinHostPort(aor.Host, strconv.Itoa(aor.Port))
	}
	// The password goes to baresip over the loopback control connection
	// only (uanew): never argv, never a file.
	s.line = func(regint int) string {
		return fmt.Sprintf("<sip:%s@%s;transport=%s>;auth_user=%s;auth_pass=%s%s;regint=%d;answermode=manual;audio_codecs=PCMU,PCMA",
			aor.User, aorHost, transport, user, req.Password, outbound, regint)
	}
	_, portStr, _ := net.SplitHostPort(p.ctrl)
	ctrlPort, _ := strconv.Atoi(portStr)
	if ok, err := ownsListener(p.cmd.Process.Pid, ctrlPort); !ok {
		p.stop()
		return nil, fmt.Errorf("baresip ctrl_tcp %s: the port is not baresip's (taken by another process?) %v: %w", p.ctrl, err, protocol.ErrUnreachable)
	}
	conn, err := net.DialTimeout("tcp", p.ctrl, cmdWait)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("baresip ctrl_tcp %s: %v: %w", p.ctrl, err, protocol.ErrUnreachable)
	}
	s.c = newCtrl(conn, s.onEvent)
	go s.watch()
	if err := s.newUA(0); err != nil {
		_ = s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// localIPFor is the local address that reaches server (UDP "connect"
// sends nothing), so that the contact baresip registers is reachable.
func localIPFor(server string) string {
	c, err := net.Dial("udp", server)
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}

// hasControl: CR, LF or NUL would let a value inject SIP headers.
func hasControl(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
