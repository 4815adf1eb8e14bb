package sip

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestParseProxy(t *testing.T) {
	tests := []struct {
		in   string
		want proxySpec
		err  bool
	}{
		{in: "sip:127.0.0.1:5060;transport=udp", want: proxySpec{Host: "127.0.0.1", Port: 5060, Transport: "udp"}},
		{in: "sip:proxy.example.test:5070;transport=TCP", want: proxySpec{Host: "proxy.example.test", Port: 5070, Transport: "tcp"}},
		{in: "sip:proxy.example.test;transport=tls;lr", want: proxySpec{Host: "proxy.example.test", Transport: "tls"}},
		{in: "sips:proxy.example.test:5061", want: proxySpec{Host: "proxy.example.test", Port: 5061, Transport: "tls", Secure: true}},
		{in: "sips:[::1]:5061;transport=tcp", want: proxySpec{Host: "::1", Port: 5061, Transport: "tls", Secure: true}},
		{in: "SIP:Proxy.Example.Test", want: proxySpec{Host: "Proxy.Example.Test"}},
		{in: "proxy.example.test:5060", want: proxySpec{Host: "proxy.example.test", Port: 5060}},
		{in: "sip:proxy.example.test.", want: proxySpec{Host: "proxy.example.test"}},
		{in: "sips:proxy.example.test;transport=udp", err: true},
		{in: "sip:proxy.example.test;transport=sctp", err: true},
		{in: "sip:proxy.example.test;transport=ws", err: true},
		{in: "sip:alice@proxy.example.test", err: true},
		{in: "sip:proxy.example.test:99999", err: true},
		{in: "sip:proxy.example.test:abc", err: true},
		{in: "sip:proxy.example.test?X-Header=1", err: true},
		{in: "sip:proxy\r\nX-Injected: 1", err: true},
		{in: "sip:proxy.example.test;transport=udp\n", err: true},
		{in: "sip:proxy.exa\x00mple.test", err: true},
		{in: "sip:proxy example", err: true},
		{in: "sip:<proxy>", err: true},
		{in: "sip:bad_host!", err: true},
		{in: "https://proxy.example.test", err: true},
		{in: "tel:+15551234", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseProxy(tt.in)
			if tt.err {
				if !errors.Is(err, protocol.ErrInvalid) {
					t.Fatalf("parseProxy(%q) = %+v, %v; want ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseProxy(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseAOR(t *testing.T) {
	good := map[string]string{
		"sip:alice@example.test":      "sip:alice@example.test",
		"sips:alice@Example.Test":     "sips:alice@example.test",
		"SIP:alice@example.test":      "sip:alice@example.test",
		"sip:+15551234@example.test":  "sip:+15551234@example.test",
		"sip:alice@example.test:5080": "sip:alice@example.test:5080",
	}
	for in, want := range good {
		u, err := parseAOR(in)
		if err != nil {
			t.Errorf("parseAOR(%q): %v", in, err)
			continue
		}
		if got := u.Addr(); got != want {
			t.Errorf("parseAOR(%q) = %s, want %s", in, got, want)
		}
	}
	bad := []string{
		"", "alice@example.test", "tel:+15551234", "sip:example.test", "xmpp:alice@example.test",
		"sip:alice:secret@example.test", "sip:alice@example.test;transport=tcp", "sip:alice@example.test?subject=x",
		"sip:alice@example.test\r\nX-Injected: 1", "sip:ali\nce@example.test", "sip:alice@exa\x00mple.test",
		"sip:al ice@example.test", "sip:al<ice@example.test", "sip:alice@exa_mple.test", "sip:\"alice\"@example.test",
	}
	for _, in := range bad {
		if _, err := parseAOR(in); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("parseAOR(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

// TestConnectRejectsControlCharacters checks every user-supplied string,
// and that nothing reaches the server when one is refused.
func TestConnectRejectsControlCharacters(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	server := "sip:" + pc.LocalAddr().String() + ";transport=udp"
	base := protocol.ConnectRequest{Address: "sip:alice@example.test", Password: "pw", Server: server, Timeout: time.Second}

	tests := []struct {
		name string
		mod  func(r *protocol.ConnectRequest)
	}{
		{"address CRLF", func(r *protocol.ConnectRequest) { r.Address = "sip:alice@example.test\r\nX-Injected: 1" }},
		{"address LF", func(r *protocol.ConnectRequest) { r.Address = "sip:alice\n@example.test" }},
		{"address NUL", func(r *protocol.ConnectRequest) { r.Address = "sip:alice\x00@example.test" }},
		{"username CRLF", func(r *protocol.ConnectRequest) { r.Username = "alice\r\nX-Injected: 1" }},
		{"username NUL", func(r *protocol.ConnectRequest) { r.Username = "alice\x00" }},
		{"username quote", func(r *protocol.ConnectRequest) { r.Username = `alice", response="x` }},
		{"display name CR", func(r *protocol.ConnectRequest) {
			r.Options = map[string]string{OptionDisplayName: "Alice\rX-Injected: 1"}
		}},
		{"display name LF", func(r *protocol.ConnectRequest) { r.Options = map[string]string{OptionDisplayName: "Alice\n"} }},
		{"display name NUL", func(r *protocol.ConnectRequest) { r.Options = map[string]string{OptionDisplayName: "A\x00"} }},
		{"server CRLF", func(r *protocol.ConnectRequest) { r.Server = server + "\r\nX-Injected: 1" }},
		{"server NUL", func(r *protocol.ConnectRequest) { r.Server = "sip:127.0.0.1\x00:5060" }},
		{"dns server option LF", func(r *protocol.ConnectRequest) { r.Options = map[string]string{OptionDNSServer: "127.0.0.1:53\n"} }},
	}
	b := New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			tt.mod(&req)
			s, err := b.Connect(context.Background(), req)
			if err == nil {
				_, rerr := s.Register(context.Background(), protocol.RegisterRequest{})
				_ = s.Close(context.Background())
				t.Fatalf("Connect accepted it (Register: %v)", rerr)
			}
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	_ = pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 2048)
	if n, _, err := pc.ReadFrom(buf); err == nil {
		t.Errorf("the server received %d bytes:\n%s", n, buf[:n])
	}
}

func TestDisplayNameQuoted(t *testing.T) {
	if got := quoteDisplayName(`Alice "Al" \ B`); got != `Alice \"Al\" \\ B` {
		t.Errorf("quoteDisplayName = %s", got)
	}
}

func TestInfo(t *testing.T) {
	info, err := New(nil).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != protocol.KindTelephony || info.Name != "sip" || info.APIVersion != protocol.APIVersion ||
		info.Version != Version || !info.Has(protocol.CapRegister) || !info.Has(protocol.CapDial) || !info.Has(protocol.CapDTMF) || !info.Has(protocol.CapIncomingCalls) {
		t.Errorf("Info = %+v", info)
	}
}

func TestRegisterRejectsNegativeExpiry(t *testing.T) {
	s, err := New(nil).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@example.test", Server: "sip:127.0.0.1:9;transport=udp", Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if _, err := s.Register(context.Background(), protocol.RegisterRequest{Expires: -time.Second}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("err = %v, want ErrInvalid", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Register(context.Background(), protocol.RegisterRequest{}); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Register after Close: %v, want ErrNotConnected", err)
	}
}
