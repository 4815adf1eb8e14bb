package sip

import (
	"errors"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// TestTLSIdentity checks RFC 5922 server identity against an in-process
// TLS registrar, and that no request reaches a server whose certificate
// failed.
func TestTLSIdentity(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name     string
		cert     func() []byte // CA PEM the client trusts
		dns, uri []string
		notAfter time.Time
		// server: "ip" (127.0.0.1) or "name" (proxy.example.net via DNS)
		server   string
		wantAuth string // ServerAuth on success
		wantErr  string // text in the ErrCertificate error
	}{
		{name: "sip URI SAN for the domain, proxy by IP", uri: []string{"sip:example.test"}, notAfter: hour, server: "ip", wantAuth: "pkix sip-uri sip:example.test"},
		{name: "dNSName for the domain, proxy by IP", dns: []string{"example.test"}, notAfter: hour, server: "ip", wantAuth: "pkix dns-id example.test"},
		{name: "proxy host name accepted", dns: []string{"proxy.example.net"}, notAfter: hour, server: "name", wantAuth: "pkix dns-id proxy.example.net"},
		{name: "proxy host name not enough by IP", dns: []string{"proxy.example.net"}, notAfter: hour, server: "ip", wantErr: "not valid for SIP domain example.test"},
		{name: "name mismatch", dns: []string{"other.test"}, uri: []string{"sip:other.test"}, notAfter: hour, server: "ip", wantErr: "not valid for SIP domain"},
		{name: "no wildcards in SIP", dns: []string{"*.example.test"}, notAfter: hour, server: "ip", wantErr: "not valid for SIP domain"},
		{name: "expired", dns: []string{"example.test"}, notAfter: time.Now().Add(-time.Minute), server: "ip", wantErr: "expired"},
		{name: "unknown authority", dns: []string{"example.test"}, notAfter: hour, server: "ip", cert: func() []byte { return other.pem }, wantErr: "unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert := ca.issue(t, tt.dns, tt.uri, tt.notAfter)
			f := startRegistrar(t, cert, func(n int, req *gosip.Request) *gosip.Response {
				if req.GetHeader("Authorization") == nil {
					return challengeRes(req, 401, "WWW-Authenticate", chalSHA256)
				}
				return ok(req, 600)
			})
			trusted := ca.pem
			if tt.cert != nil {
				trusted = tt.cert()
			}
			server := "sip:" + f.addr + ";transport=tls"
			var opts map[string]string
			if tt.server == "name" {
				_, port, _ := strings.Cut(f.addr, ":")
				dns := startDNS(t, `proxy.example.net. 60 IN A 127.0.0.1`)
				server = "sips:proxy.example.net:" + port
				opts = map[string]string{OptionDNSServer: dns.addr}
			}
			_, rep, err := registerVia(t, server, trusted, opts)
			if tt.wantErr != "" {
				if !errors.Is(err, protocol.ErrCertificate) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrCertificate with %q", err, tt.wantErr)
				}
				if n := len(f.requests()); n != 0 {
					t.Errorf("the server received %d requests after a failed certificate", n)
				}
				if rep.AuthMechanism != "" || rep.Encrypted != true || rep.State != "failed" {
					t.Errorf("report %+v", rep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.TLS == nil || !rep.TLS.Verified || rep.TLS.ServerAuth != tt.wantAuth || rep.TLS.ServerName != "example.test" {
				t.Errorf("TLS %+v", rep.TLS)
			}
			if rep.TLS.Version != "TLS 1.3" || rep.AuthMechanism != "digest SHA-256" {
				t.Errorf("version %q auth %q", rep.TLS.Version, rep.AuthMechanism)
			}
		})
	}
}
