package xmpp

import (
	"context"
	"crypto/tls"
	"github.com/cusax/cusax/pkg/protocol/certid"
	"net"
	"slices"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/mux"

	"github.com/cusax/cusax/pkg/protocol"
)

// Version is the backend's version, set at build time with
// -ldflags "-X github.com/cusax/cusax/plugins/xmpp.Version=…".
var Version = "dev"

// Backend is the XMPP IMPP backend. The zero value is not ready: use New.
// A Backend holds no connection state; every Connect makes its own session,
// and one Backend may be used concurrently.
type Backend struct {
	// Logger receives Debug lines for each connection step. It never sees
	// passwords or SASL payloads.
	Logger hclog.Logger

	// DialContext, when set, replaces net.Dialer for TCP connections to an
	// explicit ConnectRequest.Server (tests, proxies).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Resolver, when set, is used for the SRV lookups (_xmpps-client,
	// _xmpp-client) made when ConnectRequest.Server is empty.
	Resolver *net.Resolver

	// tlsHook, when set, may adjust every client tls.Config after it was
	// built (tests force TLS 1.2 to exercise tls-unique channel binding).
	tlsHook func(*tls.Config)
	// extraHandlers are added to every session's mux, which serves IQ
	// get/set payloads (tests); messages and presence never reach it.
	extraHandlers []mux.Option
}

var _ protocol.IMPP = (*Backend)(nil)

// New returns a Backend that logs to logger (nil: no logging).
func New(logger hclog.Logger) *Backend {
	certid.Prewarm() // overlap loading the system roots with the plugin handshake
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Backend{Logger: logger}
}

// capabilities lists what this backend implements; everything else
// answers protocol.ErrUnsupported.
var capabilities = []protocol.Capability{
	protocol.CapLogin, protocol.CapRoster, protocol.CapVCard, protocol.CapPresence,
	protocol.CapMessage, protocol.CapMessageRecv, protocol.CapMUC, protocol.CapDisco,
	protocol.CapReach, protocol.CapPublishReach, protocol.CapSubscribe, protocol.CapActivity,
	protocol.CapPresenceView,
}

// Info describes the backend. It does no network IO.
func (b *Backend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{
		Kind:         protocol.KindIMPP,
		Name:         "xmpp",
		Version:      Version,
		APIVersion:   protocol.APIVersion,
		Capabilities: slices.Clone(capabilities),
		Description:  "XMPP (RFC 6120/6121) on mellium.im/xmpp",
	}, nil
}

func (b *Backend) logger() hclog.Logger {
	if b == nil || b.Logger == nil {
		return hclog.NewNullLogger()
	}
	return b.Logger
}
