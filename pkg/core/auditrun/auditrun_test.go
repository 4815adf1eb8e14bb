package auditrun

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/cusax/cusax/pkg/protocol"
)

// SIP over UDP or TCP is not probed for TLS: a plaintext transport and an
// endpoint without TLS, so sip.tls and cusax.encryption can judge it. A
// REGISTER is still sent there; here nothing answers (a silent UDP socket,
// a closed TCP port), which is a fact, not an error.
func TestAccountPlaintextSIP(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, udpPort, _ := net.SplitHostPort(silent.LocalAddr().String())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, tcpPort, _ := net.SplitHostPort(l.Addr().String())
	l.Close()

	tests := []struct {
		name, proxy, transport, id string
	}{
		{"udp", "sip:127.0.0.1:" + udpPort + ";transport=udp", "udp", "sip-udp:127.0.0.1:" + udpPort},
		{"default udp", "sip:127.0.0.1:" + udpPort, "udp", "sip-udp:127.0.0.1:" + udpPort},
		{"tcp", "sip:127.0.0.1:" + tcpPort + ";transport=TCP", "tcp", "sip-tcp:127.0.0.1:" + tcpPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := config.Account{Name: "x", SIP: &config.SIPAspect{AOR: "sip:alice@example.test", Proxy: tt.proxy}}
			facts, probed, err := Account(context.Background(), a, Options{Probe: tlsprobe.Options{DialTimeout: 300 * time.Millisecond}})
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
			if ep.ID != tt.id || ep.TLS != nil || ep.NoTLS == "" || ep.Error != "" {
				t.Errorf("endpoint %+v", ep)
			}
			if ep.SIP == nil || ep.SIP.Answers != audit.No || ep.SIP.Challenges != nil || ep.SIP.Response == "" {
				t.Errorf("SIP facts %+v, want no answer with the reason", ep.SIP)
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
