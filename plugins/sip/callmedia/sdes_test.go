package callmedia

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// RFC 4568 §4 and §5.1 examples (MKI, so refused) plus our own.
const (
	rfcExample1 = "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
	rfcExample2 = "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32"
	rfcExample3 = "2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP"
	key30       = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR" // 30 bytes
	key28       = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OA==" // 28 bytes
)

func TestParseCrypto(t *testing.T) {
	for _, tc := range []struct {
		in, suite, err string
		tag            uint32
	}{
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, suite: SuiteAESCM128SHA1_80, tag: 1},
		{in: "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31", suite: SuiteAESCM128SHA1_32, tag: 7},
		{in: "crypto:3 AEAD_AES_128_GCM inline:" + key28, suite: SuiteAEADAES128GCM, tag: 3},
		{in: "3 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="), suite: SuiteAEADAES128GCM, tag: 3},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2147483648 WSH=64", suite: SuiteAESCM128SHA1_80, tag: 1},
		{in: "999999999 AES_CM_128_HMAC_SHA1_80 inline:" + key30, suite: SuiteAESCM128SHA1_80, tag: 999999999},
		{in: rfcExample1, err: "MKI is not supported"},
		{in: rfcExample2, err: "MKI is not supported"},
		{in: rfcExample3, err: "unsupported crypto-suite"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:4;inline:" + key30, err: "several keys"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20", err: "too short"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^49", err: "exceeds"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^x", err: "malformed lifetime"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|2^31", err: "two lifetimes"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1", err: "session parameter \"KDR\""},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", err: "session parameter"},
		{in: "1 AES_CM_256_HMAC_SHA1_80 inline:" + key30, err: "unsupported crypto-suite"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key28, err: "needs a 30-byte key"},
		{in: "1 AEAD_AES_128_GCM inline:" + key30, err: "needs a 28-byte key"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:!!!", err: "not valid base64"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 uri:" + key30, err: "key method"},
		{in: "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, err: "tag"},
		{in: "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, err: "tag"},
		{in: "1 AES_CM_128_HMAC_SHA1_80", err: "want"},
		{in: "", err: "want"},
	} {
		c, err := ParseCrypto(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseCrypto(%q) = %v, want error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || c.Suite != tc.suite || c.Tag != tc.tag {
			t.Errorf("ParseCrypto(%q) = %v, %v; want %s tag %d", tc.in, c, err, tc.suite, tc.tag)
		}
	}
}

func TestCryptoRoundTripAndRedaction(t *testing.T) {
	for _, s := range suitePreference {
		c, err := NewCrypto(5, s)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := keyLen(s)
		if len(c.Key) != n {
			t.Fatalf("%s: key %d bytes, want %d", s, len(c.Key), n)
		}
		back, err := ParseCrypto(c.Attribute())
		if err != nil || back.Tag != 5 || back.Suite != s || !bytes.Equal(back.Key, c.Key) {
			t.Fatalf("%s: round trip of %q: %v, %v", s, c.Attribute(), back, err)
		}
		other, _ := NewCrypto(5, s)
		if bytes.Equal(other.Key, c.Key) {
			t.Fatalf("%s: two keys are equal", s)
		}
		if strings.Contains(c.String(), strings.Split(c.Attribute(), "inline:")[1]) {
			t.Fatalf("String() leaks the key: %s", c)
		}
	}
	if _, err := NewCrypto(1, "NULL_HMAC_SHA1_80"); err == nil {
		t.Fatal("NewCrypto accepted an unknown suite")
	}
}

func TestChooseCrypto(t *testing.T) {
	l80 := "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30
	l32 := "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30
	gcm := "3 AEAD_AES_128_GCM inline:" + key28
	for _, tc := range []struct {
		offer   []string
		tag     uint32
		wantErr bool
	}{
		{offer: []string{l32, l80, gcm}, tag: 3},
		{offer: []string{l32, l80}, tag: 1},
		{offer: []string{rfcExample1, l32}, tag: 2},
		{offer: []string{rfcExample1, rfcExample3, "garbage"}, wantErr: true},
		{offer: nil, wantErr: true},
	} {
		remote, local, err := ChooseCrypto(tc.offer)
		if tc.wantErr {
			if !errors.Is(err, ErrNoCommonSuite) {
				t.Errorf("ChooseCrypto(%q) err = %v, want ErrNoCommonSuite", tc.offer, err)
			}
			continue
		}
		if err != nil || remote.Tag != tc.tag || local.Tag != tc.tag || local.Suite != remote.Suite || bytes.Equal(local.Key, remote.Key) {
			t.Errorf("ChooseCrypto(%q) = %v, %v, %v; want tag %d", tc.offer, remote, local, err, tc.tag)
		}
	}
}

// FuzzParseCrypto: any input gives a Crypto or one-line error, never a
// panic; what parses re-formats to a line that parses to the same.
func FuzzParseCrypto(f *testing.F) {
	for _, s := range []string{rfcExample1, rfcExample2, rfcExample3,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30,
		"3 AEAD_AES_128_GCM inline:" + key28 + "|2^48 WSH=64",
		"1 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|4294967296",
		"", "1", "1 x inline:", "1 AES_CM_128_HMAC_SHA1_80 inline:|||"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCrypto(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || len(err.Error()) > 200 {
				t.Fatalf("error not one short line: %q", err)
			}
			return
		}
		n, _ := keyLen(c.Suite)
		if len(c.Key) != n {
			t.Fatalf("accepted %d-byte key for %s", len(c.Key), c.Suite)
		}
		back, err := ParseCrypto(c.Attribute())
		if err != nil || back.Tag != c.Tag || back.Suite != c.Suite || !bytes.Equal(back.Key, c.Key) {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
	})
}
