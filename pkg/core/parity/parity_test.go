package parity

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func rep(enc bool, ver, suite, mech string) protocol.ConnectionReport {
	r := protocol.ConnectionReport{Encrypted: enc, AuthMechanism: mech, Transport: "udp"}
	if enc {
		r.Transport = "tls"
		r.TLS = &protocol.TLSInfo{Version: ver, CipherSuite: suite, Verified: true, ServerAuth: "pkix dns-id example.test"}
	}
	return r
}

func TestCompare(t *testing.T) {
	fx := Fixes{Account: "work", SIPProxy: "sip:127.0.0.1:5060;transport=udp", SIPDomain: "example.test"}
	tests := []struct {
		name   string
		chat   protocol.ConnectionReport
		tel    protocol.ConnectionReport
		want   []string // finding IDs
		fixHas string
	}{
		{"alike", rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "SCRAM-SHA-1"), rep(true, "TLS 1.3", "TLS_AES_256_GCM_SHA384", "digest SHA-1"), nil, ""},
		{"sip over udp", rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "SCRAM-SHA-256"), rep(false, "", "", "digest SHA-256"), []string{"parity.encryption"}, "--sip-proxy 'sip:127.0.0.1:5061;transport=tls'"},
		{"tls versions", rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "SCRAM-SHA-256"), rep(true, "TLS 1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "digest SHA-256"), []string{"parity.tls-version"}, "--min-tls 1.3"},
		{"md5 vs scram-256", rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "SCRAM-SHA-256"), rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "digest MD5"), []string{"parity.client-auth"}, "RFC 8760"},
		{"chat in clear", rep(false, "", "", "PLAIN"), rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "digest SHA-256"), []string{"parity.encryption", "parity.client-auth"}, "without --allow-plaintext"},
		{"scram-sha-1 vs digest sha-256 are alike", rep(true, "TLS 1.3", "TLS_AES_128_GCM_SHA256", "SCRAM-SHA-1"), rep(true, "TLS 1.3", "TLS_AES_256_GCM_SHA384", "digest SHA-256"), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.chat, tt.tel, fx)
			var ids []string
			for _, f := range got {
				ids = append(ids, f.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("findings %v, want %v (%+v)", ids, tt.want, got)
			}
			if tt.fixHas != "" && !strings.Contains(got[0].Fix, tt.fixHas) {
				t.Errorf("fix %q does not contain %q", got[0].Fix, tt.fixHas)
			}
		})
	}
}

// TestTLSProxyBracketedDomain: pkg/address gives an IPv6 AOR domain in
// brackets already; the fix text must not bracket it twice.
func TestTLSProxyBracketedDomain(t *testing.T) {
	if got := tlsProxy(Fixes{SIPDomain: "[2001:db8::1]"}); got != "sip:[2001:db8::1]:5061;transport=tls" {
		t.Errorf("tlsProxy = %q", got)
	}
}
