package audittls

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/auditrun"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		arg  string
		f    endpointFlags
		want auditrun.EndpointTarget
	}{
		{"127.0.0.1:15222", endpointFlags{starttls: "xmpp", sni: "example.test"},
			auditrun.EndpointTarget{Host: "127.0.0.1", Port: 15222, Service: auditrun.ServiceXMPPStartTLS, SNI: "example.test", Identity: "example.test"}},
		{"Xmpp.Example.COM:5222", endpointFlags{},
			auditrun.EndpointTarget{Host: "xmpp.example.com", Port: 5222, Service: auditrun.ServiceXMPPStartTLS, Identity: "xmpp.example.com"}},
		{"xmpp.example.com:5223", endpointFlags{expectName: "example.com"},
			auditrun.EndpointTarget{Host: "xmpp.example.com", Port: 5223, Service: auditrun.ServiceXMPPTLS, Identity: "example.com"}},
		{"[::1]:5061", endpointFlags{sni: "sip.example.com", expectName: "example.com"},
			auditrun.EndpointTarget{Host: "::1", Port: 5061, Service: auditrun.ServiceSIPTLS, SNI: "sip.example.com", Identity: "example.com"}},
		{"[::1]:15061", endpointFlags{sip: true, starttls: "none", sni: "example.test"},
			auditrun.EndpointTarget{Host: "::1", Port: 15061, Service: auditrun.ServiceSIPTLS, SNI: "example.test", Identity: "example.test"}},
		{"localhost:8443", endpointFlags{starttls: "none"},
			auditrun.EndpointTarget{Host: "localhost", Port: 8443, Service: auditrun.ServiceXMPPTLS, Identity: "localhost"}},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := parseEndpoint(tt.arg, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got.Endpoint == nil || *got.Endpoint != tt.want || got.Name != tt.want.Addr() {
				t.Errorf("got %+v %+v, want %+v", got, got.Endpoint, tt.want)
			}
		})
	}
}

// Every refusal is a usage error that says what to type instead.
func TestParseEndpointRefused(t *testing.T) {
	tests := []struct {
		arg  string
		f    endpointFlags
		msg  string
		hint string
	}{
		{"127.0.0.1:15222", endpointFlags{sni: "example.test"}, "say what the endpoint serves", "cusax audit-tls 127.0.0.1:15222 --starttls xmpp"},
		{"127.0.0.1:5222", endpointFlags{}, "names no service", "cusax audit-tls 127.0.0.1:5222 --starttls xmpp --sni DOMAIN"},
		{"[::1]:5061", endpointFlags{}, "names no service", "--sip --sni DOMAIN"},
		{"127.0.0.1:5222", endpointFlags{sip: true, starttls: "xmpp", sni: "a.test"}, "exclude each other", ""},
		{"127.0.0.1:5222", endpointFlags{starttls: "smtp", sni: "a.test"}, "--starttls must be xmpp or none", ""},
		{"127.0.0.1:0", endpointFlags{}, "port", ""},
		{"127.0.0.1:99999", endpointFlags{}, "port", ""},
		{"127.0.0.1:xmpp", endpointFlags{}, "port", ""},
		{"127.0.0.1", endpointFlags{}, "neither an account nor HOST:PORT", "[IPV6]:PORT"},
		{"::1", endpointFlags{}, "neither an account nor HOST:PORT", ""},
		{":5222", endpointFlags{}, "neither an account nor HOST:PORT", ""},
		{"bad host!:5222", endpointFlags{}, "neither an IP address nor a host name", ""},
		{"127.0.0.1:5222", endpointFlags{sni: "not a name"}, "--sni", ""},
	}
	for _, tt := range tests {
		t.Run(tt.arg+"/"+tt.msg, func(t *testing.T) {
			_, err := parseEndpoint(tt.arg, tt.f)
			if err == nil || !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want a usage error containing %q", err, tt.msg)
			}
			if tt.hint != "" && !strings.Contains(strings.Join(cmdutil.Hints(err), "\n"), tt.hint) {
				t.Errorf("hints %q lack %q", cmdutil.Hints(err), tt.hint)
			}
		})
	}
}
