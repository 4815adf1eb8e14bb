package sip

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestEffectiveEncryption(t *testing.T) {
	tests := []struct {
		setting string
		tls     bool
		want    string
		err     error
	}{
		{"", true, "srtp", nil},
		{"", false, "none", nil},
		{"srtp", false, "srtp", nil}, // Dial refuses it then
		{"optional", true, "optional", nil},
		{"none", true, "none", nil},
		{"SRTP", true, "", protocol.ErrInvalid},
		{"sdes", true, "", protocol.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := effectiveEncryption(tt.setting, tt.tls)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("effectiveEncryption(%q, tls=%v) = %q, %v; want %q, %v", tt.setting, tt.tls, got, err, tt.want, tt.err)
		}
	}
}

// TestDialRefusesBadEncryption: an unknown setting is ErrInvalid before
// anything is sent, "srtp" over UDP is ErrMediaInsecure before anything
// is sent (no server listens at the address: a send would show as a
// timeout or ICMP error instead).
func TestDialRefusesBadEncryption(t *testing.T) {
	s, err := New(nil).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@example.test", Password: "pw", Server: "sip:127.0.0.1:9;transport=udp",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	_, err = s.Dial(context.Background(), protocol.DialRequest{Target: "sip:bob@example.test", Media: protocol.MediaOptions{Encryption: "aes"}})
	if !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("Encryption \"aes\": %v, want ErrInvalid", err)
	}
	_, err = s.Dial(context.Background(), protocol.DialRequest{Target: "sip:bob@example.test", Media: protocol.MediaOptions{Encryption: "srtp"}})
	if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "media_encryption = srtp needs SIP over TLS") {
		t.Errorf("Encryption \"srtp\" over UDP: %v, want ErrMediaInsecure", err)
	}
	// RFC 5763 §8: with DTLS-SRTP no key is in the SDP, but the
	// fingerprint's integrity rests on the signalling, so "srtp" still
	// needs TLS.
	_, err = s.Dial(context.Background(), protocol.DialRequest{Target: "sip:bob@example.test", Media: protocol.MediaOptions{Encryption: "srtp", Keying: protocol.KeyingDTLS}})
	if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "RFC 5763 §8") {
		t.Errorf("Encryption \"srtp\", Keying dtls over UDP: %v, want ErrMediaInsecure", err)
	}
	_, err = s.Dial(context.Background(), protocol.DialRequest{Target: "sip:bob@example.test", Media: protocol.MediaOptions{Encryption: "optional", Keying: "zrtp"}})
	if !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("Keying \"zrtp\": %v, want ErrInvalid", err)
	}
}

// TestRedactKeys: SDES key material is removed from anything logged, in
// our trace (redact) and in what sipgo logs through the slog bridge (a
// datagram it could not parse is logged whole, as a string or error).
func TestRedactKeys(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcd"))
	raw := strings.TrimRight(key, "=")
	sdp := "v=0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^31\r\n" +
		"a=crypto:2 AEAD_AES_128_GCM INLINE:" + raw + "\r\na=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" + key + ";inline:" + raw + "\r\n" +
		"Authorization: Digest response=\"abc\"\r\n"
	got := redact(sdp)
	if strings.Contains(got, raw[:12]) || strings.Contains(got, "abc") {
		t.Errorf("redact left secrets:\n%s", got)
	}
	if !strings.Contains(got, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>|2^31") {
		t.Errorf("redact changed more than the key:\n%s", got)
	}

	var buf syncBuffer
	l := newSlogLogger(hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &buf}))
	l.Error("failed to parse", "data", sdp, "error", errors.New("bad: "+sdp), "raw", []byte(sdp))
	l.With("msg", sdp).Warn("with " + sdp)
	out := buf.String()
	if strings.Contains(out, raw[:12]) || !strings.Contains(out, "inline:<redacted>") {
		t.Errorf("the sipgo log bridge leaks a key:\n%s", out)
	}
}
