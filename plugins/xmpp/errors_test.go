package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp/stream"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/certid"
)

func TestSASLFailure(t *testing.T) {
	for _, tc := range []struct {
		xml      string
		want     error
		wantText string
	}{
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>`, protocol.ErrAuth, "not-authorized"},
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text xml:lang='en'>Bad password</text></failure>`,
			protocol.ErrAuth, "not-authorized (Bad password)"},
		// <text/> first: the condition is still what counts.
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><text>Disabled</text><account-disabled/></failure>`,
			protocol.ErrAuth, "account-disabled (Disabled)"},
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><credentials-expired/></failure>`, protocol.ErrAuth, "credentials-expired"},
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><encryption-required/></failure>`, protocol.ErrInsecure, "encryption-required"},
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><malformed-request/></failure>`, protocol.ErrProtocol, "malformed-request"},
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><temporary-auth-failure/></failure>`, protocol.ErrProtocol, "temporary-auth-failure"},
		{`<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`, protocol.ErrProtocol, "failure"},
	} {
		f := &saslFailure{}
		if err := xml.Unmarshal([]byte(tc.xml), f); err != nil {
			t.Fatalf("%s: %v", tc.xml, err)
		}
		if !errors.Is(f, tc.want) {
			t.Errorf("%s: %v does not wrap %v", tc.xml, f, tc.want)
		}
		if f.Error() != tc.wantText {
			t.Errorf("%s: Error() = %q, want %q", tc.xml, f.Error(), tc.wantText)
		}
	}
}

func TestClassify(t *testing.T) {
	certErr := fmt.Errorf("certificate expired on 2020-01-01: %w", protocol.ErrCertificate)
	live := context.Background()
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()

	for _, tc := range []struct {
		name  string
		ctx   context.Context
		setup func(a *attempt)
		err   error
		want  error
		text  string
	}{
		{"certificate first", expired, func(a *attempt) { a.verification.Err = certErr }, io.EOF, protocol.ErrCertificate, "expired"},
		{"deadline", expired, nil, net.ErrClosed, protocol.ErrTimeout, "no answer within 2s (sasl)"},
		{"cancelled", cancelled, nil, net.ErrClosed, context.Canceled, "sasl"},
		{"starttls refused", live, func(a *attempt) { a.startTLSErr = errors.New("xmpp: receiver indicated that TLS negotiation failed") },
			errors.New("xmpp: receiver indicated that TLS negotiation failed"), protocol.ErrInsecure, "no credentials were sent"},
		{"sasl failure kept", live, nil, &saslFailure{Condition: "not-authorized"}, protocol.ErrAuth, "not-authorized"},
		{"handshake failure", live, func(a *attempt) { a.phase = "tls handshake" },
			errors.New("tls: protocol version not supported"), protocol.ErrInsecure, "TLS handshake failed"},
		{"handshake done, then EOF", live, func(a *attempt) {
			a.phase = "tls handshake"
			a.verification = certid.Verification{Verified: true}
		}, io.EOF, protocol.ErrUnreachable, "closed the connection"},
		{"stream error", live, nil, stream.HostUnknown, protocol.ErrProtocol, "host-unknown"},
		{"reset", live, nil, fmt.Errorf("read: %w", syscall.ECONNRESET), protocol.ErrUnreachable, "closed the connection during sasl"},
		{"deadline on the conn", live, nil, &net.OpError{Op: "read", Err: timeoutErr{}}, protocol.ErrTimeout, "no answer within 2s"},
		{"other", live, nil, errors.New("xmpp: features advertised out of order"), protocol.ErrProtocol, "out of order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &attempt{p: params{timeout: 2 * time.Second}, phase: "sasl", log: hclog.NewNullLogger()}
			if tc.setup != nil {
				tc.setup(a)
			}
			got := a.classify(tc.ctx, tc.err)
			if !errors.Is(got, tc.want) {
				t.Errorf("classify(%v) = %v, want it to wrap %v", tc.err, got, tc.want)
			}
			if !strings.Contains(got.Error(), tc.text) {
				t.Errorf("classify(%v) = %q, want it to mention %q", tc.err, got, tc.text)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestParseRequest(t *testing.T) {
	ok := protocol.ConnectRequest{Address: "alice@example.test", Password: "pw"}
	for _, tc := range []struct {
		name   string
		modify func(r *protocol.ConnectRequest)
		field  string // "" = valid
		check  func(t *testing.T, p params)
	}{
		{"defaults", nil, "", func(t *testing.T, p params) {
			if p.username != "alice" || p.server != "" || p.timeout != DefaultTimeout || p.origin.String() != "alice@example.test" {
				t.Errorf("params = %+v", p)
			}
		}},
		{"username and resource", func(r *protocol.ConnectRequest) { r.Username = "a1"; r.Resource = "cli" }, "", func(t *testing.T, p params) {
			if p.username != "a1" || p.origin.String() != "alice@example.test/cli" {
				t.Errorf("username %q origin %q", p.username, p.origin)
			}
		}},
		{"server without port", func(r *protocol.ConnectRequest) { r.Server = "xmpp.example.test" }, "", func(t *testing.T, p params) {
			if p.server != "xmpp.example.test:5222" {
				t.Errorf("server = %q", p.server)
			}
		}},
		{"direct TLS server without port", func(r *protocol.ConnectRequest) { r.Server = "127.0.0.1"; r.DirectTLS = true }, "", func(t *testing.T, p params) {
			if p.server != "127.0.0.1:5223" {
				t.Errorf("server = %q", p.server)
			}
		}},
		{"IPv6 server", func(r *protocol.ConnectRequest) { r.Server = "[::1]:5222" }, "", func(t *testing.T, p params) {
			if p.server != "[::1]:5222" {
				t.Errorf("server = %q", p.server)
			}
		}},
		{"not a JID", func(r *protocol.ConnectRequest) { r.Address = "alice@" }, "address", nil},
		{"domain only", func(r *protocol.ConnectRequest) { r.Address = "example.test" }, "address", nil},
		{"full JID", func(r *protocol.ConnectRequest) { r.Address = "alice@example.test/phone" }, "address", nil},
		{"bad port", func(r *protocol.ConnectRequest) { r.Server = "host:99999" }, "server", nil},
		{"bad server", func(r *protocol.ConnectRequest) { r.Server = "a b:5222" }, "server", nil},
		{"no password", func(r *protocol.ConnectRequest) { r.Password = "" }, "password", nil},
		{"unknown mechanism", func(r *protocol.ConnectRequest) { r.Mechanisms = []string{"CRAM-MD5"} }, "mechanisms", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := ok
			if tc.modify != nil {
				tc.modify(&req)
			}
			p, err := parseRequest(req)
			if tc.field != "" {
				if !errors.Is(err, protocol.ErrInvalid) || !strings.HasPrefix(err.Error(), tc.field) {
					t.Fatalf("err = %v, want ErrInvalid naming %q", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

func TestConnectInvalidRequest(t *testing.T) {
	_, err := New(nil).Connect(context.Background(), protocol.ConnectRequest{Address: "nope", Password: "secret-pw"})
	if !errors.Is(err, protocol.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Error("the error contains the password")
	}
}

func TestInfo(t *testing.T) {
	info, err := New(nil).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != protocol.KindIMPP || info.Name != "xmpp" || info.Version != Version ||
		info.APIVersion != protocol.APIVersion || !info.Has(protocol.CapLogin) {
		t.Errorf("Info = %+v", info)
	}
}
