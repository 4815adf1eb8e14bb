package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestWeakCAIssue(t *testing.T) {
	ca, err := NewWeakCA()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	tests := []struct {
		name    string
		spec    WeakCertSpec
		dnsName string // verified for, "" for none
		wantErr string
	}{
		{"valid", WeakCertSpec{DNSNames: []string{"example.test"}}, "example.test", ""},
		{"expired", WeakCertSpec{DNSNames: []string{"example.test"}, NotBefore: time.Now().Add(-60 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}, "example.test", "expired"},
		{"wrong name", WeakCertSpec{DNSNames: []string{"wrong.test"}}, "example.test", "wrong.test"},
		{"self-signed", WeakCertSpec{DNSNames: []string{"example.test"}, SelfSigned: true}, "example.test", "unknown authority"},
		{"srv-id only", WeakCertSpec{SRVNames: []string{"_xmpp-client.example.test"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ca.Issue(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tt.dnsName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("verify: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("verify: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ca.Issue(WeakCertSpec{}); err == nil {
		t.Error("a certificate without names was issued")
	}
}

func TestWeakTLSAndXMPP(t *testing.T) {
	ca, err := NewWeakCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(WeakCertSpec{DNSNames: []string{"example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &tls.Config{RootCAs: pool, ServerName: "example.test"}

	// Direct TLS, with TLS 1.0 allowed.
	cfg := StrongTLSConfig(cert)
	cfg.MinVersion, cfg.CipherSuites = tls.VersionTLS10, nil
	addr := ServeWeakTLS(t, cfg)
	old := client.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
	c, err := tls.Dial("tcp", addr, old)
	if err != nil {
		t.Fatalf("TLS 1.0 handshake: %v", err)
	}
	c.Close()

	// The XMPP responder: STARTTLS not advertised but accepted, PLAIN
	// before TLS, SCRAM after.
	x := WeakXMPP{TLS: StrongTLSConfig(cert), PreTLS: []string{"PLAIN"}, PostTLS: []string{"SCRAM-SHA-256"}}
	conn, err := net.DialTimeout("tcp", x.Serve(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>")
	pre, ok := weakReadUntil(conn, "</stream:features>")
	if !ok || strings.Contains(pre, "starttls") || !strings.Contains(pre, "<mechanism>PLAIN</mechanism>") {
		t.Fatalf("features before TLS: %q", pre)
	}
	io.WriteString(conn, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	if s, ok := weakReadUntil(conn, "/>"); !ok || !strings.Contains(s, "proceed") {
		t.Fatalf("answer to <starttls/>: %q", s)
	}
	tc := tls.Client(conn, client)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("STARTTLS handshake: %v", err)
	}
	io.WriteString(tc, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>")
	post, ok := weakReadUntil(tc, "</stream:features>")
	if !ok || !strings.Contains(post, "<mechanism>SCRAM-SHA-256</mechanism>") || strings.Contains(post, "PLAIN") {
		t.Fatalf("features after TLS: %q", post)
	}
}
