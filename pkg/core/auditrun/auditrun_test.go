package auditrun

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// SIP over UDP or TCP is recorded, not probed: a plaintext transport and
// an endpoint without TLS, so sip.tls and cusax.encryption can judge it.
func TestAccountPlaintextSIP(t *testing.T) {
	tests := []struct {
		name, proxy, transport, id string
	}{
		{"udp", "sip:192.0.2.1;transport=udp", "udp", "sip-udp:192.0.2.1:5060"},
		{"default udp", "sip:192.0.2.1:5080", "udp", "sip-udp:192.0.2.1:5080"},
		{"tcp", "sip:192.0.2.1:5070;transport=TCP", "tcp", "sip-tcp:192.0.2.1:5070"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := config.Account{Name: "x", SIP: &config.SIPAspect{AOR: "sip:alice@example.test", Proxy: tt.proxy}}
			facts, probed, err := Account(context.Background(), a, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(probed) != 0 {
				t.Errorf("probed %d endpoints, want none", len(probed))
			}
			tel := facts.Telephony
			if tel.Domain != "example.test" || tel.Discovery.Method != "configured" {
				t.Errorf("domain %q discovery %q", tel.Domain, tel.Discovery.Method)
			}
			if len(tel.PlaintextTransports) != 1 || tel.PlaintextTransports[0] != tt.transport {
				t.Errorf("plaintext transports %v, want [%s]", tel.PlaintextTransports, tt.transport)
			}
			if len(tel.Endpoints) != 1 {
				t.Fatalf("endpoints %+v", tel.Endpoints)
			}
			ep := tel.Endpoints[0]
			if ep.ID != tt.id || ep.TLS != nil || ep.NoTLS == "" || ep.Error != "" || ep.SIP != nil {
				t.Errorf("endpoint %+v", ep)
			}
		})
	}
}

// An XMPP server that refuses the connection is an endpoint Error (the
// audit is incomplete), not a Go error.
func TestAccountUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	a := config.Account{Name: "x", XMPP: &config.XMPPAspect{JID: "alice@example.test", Server: addr}}
	facts, _, err := Account(context.Background(), a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	eps := facts.Chat.Endpoints
	if len(eps) != 1 || eps[0].Error == "" || eps[0].Transport != audit.StartTLS || eps[0].ID != "xmpp-starttls:"+addr {
		t.Errorf("endpoints %+v", eps)
	}
}

func TestAccountInvalid(t *testing.T) {
	tests := []struct {
		name string
		a    config.Account
	}{
		{"bad proxy", config.Account{SIP: &config.SIPAspect{AOR: "sip:a@example.test", Proxy: "sip:h;transport=sctp"}}},
		{"bad server", config.Account{XMPP: &config.XMPPAspect{JID: "a@example.test", Server: "no-port"}}},
		{"empty ca file", config.Account{CAFile: "/dev/null", XMPP: &config.XMPPAspect{JID: "a@example.test"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Account(context.Background(), tt.a, Options{}); !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("err %v, want ErrInvalid", err)
			}
		})
	}
}

func TestIdentityBy(t *testing.T) {
	for in, want := range map[string]string{
		"pkix dns-id example.com":              "DNS-ID",
		"pkix srv-id _xmpp-client.example.com": "SRV-ID",
		"pkix xmppaddr example.com":            "XmppAddr",
		"pkix sip-uri sip:example.com":         "URI-ID",
		"":                                     "",
	} {
		if got := identityBy(in); got != want {
			t.Errorf("identityBy(%q) = %q, want %q", in, got, want)
		}
	}
}
