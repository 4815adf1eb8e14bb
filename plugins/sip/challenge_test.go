package sip

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestPickChallenge(t *testing.T) {
	const (
		md5    = `Digest realm="example.test", nonce="n1", qop="auth", algorithm=MD5`
		noAlg  = `Digest realm="example.test", nonce="n0", qop="auth"`
		sha256 = `Digest realm="example.test", nonce="n2", qop="auth", algorithm=SHA-256`
		sha512 = `Digest realm="example.test", nonce="n3", qop="auth", algorithm=SHA-512-256`
	)
	tests := []struct {
		name    string
		values  []string
		wantAlg string // "" = error
		offered []string
	}{
		{"single MD5", []string{md5}, "MD5", []string{"MD5"}},
		{"no algorithm means MD5", []string{noAlg}, "MD5", []string{"MD5"}},
		{"RFC 8760 order SHA-256 then MD5", []string{sha256, md5}, "SHA-256", []string{"SHA-256", "MD5"}},
		{"weak first does not win", []string{md5, sha256}, "SHA-256", []string{"MD5", "SHA-256"}},
		{"SHA-512-256 strongest", []string{md5, sha512, sha256}, "SHA-512-256", []string{"MD5", "SHA-512-256", "SHA-256"}},
		{"lower-case algorithm", []string{`Digest realm="r", nonce="n", algorithm=sha-256`}, "SHA-256", []string{"SHA-256"}},
		{"unknown algorithm skipped", []string{`Digest realm="r", nonce="n", algorithm=SHA3-512`, md5}, "MD5", []string{"SHA3-512", "MD5"}},
		{"sess variant skipped", []string{`Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop="auth"`, md5}, "MD5", []string{"SHA-256-SESS", "MD5"}},
		{"only unknown", []string{`Digest realm="r", nonce="n", algorithm=SHA-512`}, "", []string{"SHA-512"}},
		{"non-digest scheme", []string{`Basic realm="r"`, sha256}, "SHA-256", []string{"SHA-256"}},
		{"malformed", []string{`Digest realm="unterminated`, sha256}, "SHA-256", []string{"SHA-256"}},
		{"missing nonce", []string{`Digest realm="r", algorithm=SHA-256`}, "", []string{"SHA-256"}},
		{"unsupported qop", []string{`Digest realm="r", nonce="n", qop="auth-conf"`}, "", []string{"MD5"}},
		{"qop list with spaces", []string{`Digest realm="r", nonce="n", qop="auth-int, auth", algorithm=SHA-256`}, "SHA-256", []string{"SHA-256"}},
		{"none", nil, "", nil},
		{"garbage", []string{"", "Digest", "Digest ,,,"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, offered, err := pickChallenge("WWW-Authenticate", tt.values)
			if !slices.Equal(offered, tt.offered) {
				t.Errorf("offered = %q, want %q", offered, tt.offered)
			}
			if tt.wantAlg == "" {
				if err == nil || !errors.Is(err, protocol.ErrProtocol) {
					t.Fatalf("err = %v, want ErrProtocol", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ch.Algorithm != tt.wantAlg || ch.Challenge.Algorithm != tt.wantAlg {
				t.Errorf("picked %q (%q), want %q", ch.Algorithm, ch.Challenge.Algorithm, tt.wantAlg)
			}
			if ch.AuthorizationHeader() != "Authorization" {
				t.Errorf("answer header %q", ch.AuthorizationHeader())
			}
		})
	}
}

func TestPickChallengeProxy(t *testing.T) {
	ch, _, err := pickChallenge("Proxy-Authenticate", []string{`Digest realm="r", nonce="n"`})
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.AuthorizationHeader(); got != "Proxy-Authorization" {
		t.Errorf("answer header %q, want Proxy-Authorization", got)
	}
}

func TestRedact(t *testing.T) {
	msg := "REGISTER sip:example.test SIP/2.0\r\nAuthorization: Digest username=\"alice\", response=\"abc\"\r\n" +
		"proxy-authorization:Digest response=\"def\"\r\nTo: <sip:alice@example.test>\r\n\r\n"
	got := redact(msg)
	for _, secret := range []string{"abc", "def", "username"} {
		if strings.Contains(got, secret) {
			t.Errorf("redacted message still holds %q:\n%s", secret, got)
		}
	}
	if !strings.Contains(got, "To: <sip:alice@example.test>") {
		t.Errorf("redaction removed too much:\n%s", got)
	}
}
