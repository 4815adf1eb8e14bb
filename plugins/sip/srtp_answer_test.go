package sip

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// TestPlanAnswer: the decision table of an answered call's media
// protection (issue 16; RFC 4568 §8.3, §7.1.2; RFC 3264 §6): SRTP only
// over TLS, 488 with a Note for every refusal, and no key in any Note.
func TestPlanAnswer(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	plain, err := callmedia.Offer(1, ip, 40000, false)
	if err != nil {
		t.Fatal(err)
	}
	offered, err := callmedia.NewCrypto(1, callmedia.SuiteAESCM128SHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	savp, err := callmedia.OfferSRTP(1, ip, 40000, []callmedia.Crypto{offered})
	if err != nil {
		t.Fatal(err)
	}
	// RTP/SAVP without an a=crypto line we can use.
	badSuite := strings.Replace(string(savp), "AES_CM_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_80", 1)
	dtls := strings.Replace(strings.Replace(string(plain), "RTP/AVP", "UDP/TLS/RTP/SAVP", 1), "a=sendrecv", "a=fingerprint:sha-256 00:11\r\na=sendrecv", 1)
	key := base64.StdEncoding.EncodeToString(offered.Key)
	cert, err := callmedia.NewDTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	goodDTLS, err := callmedia.OfferDTLS(1, ip, 40000, cert.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	holdconn := strings.Replace(string(goodDTLS), "a=setup:actpass", "a=setup:holdconn", 1)

	for _, tc := range []struct {
		name    string
		body    string
		setting string
		tls     bool
		// want: "srtp", "plain", "plain+note", "488" (refusal), "err".
		want     string
		noteHas  string
		wantProt string
	}{
		{"default over TLS, SRTP offer", string(savp), "", true, "srtp", "", callmedia.SuiteAESCM128SHA1_80},
		{"srtp over TLS, SRTP offer", string(savp), "srtp", true, "srtp", "", callmedia.SuiteAESCM128SHA1_80},
		{"optional over TLS, SRTP offer", string(savp), "optional", true, "srtp", "", callmedia.SuiteAESCM128SHA1_80},
		{"default over TLS, plain offer", string(plain), "", true, "488", "plain RTP", ""},
		{"srtp over TLS, plain offer", string(plain), "srtp", true, "488", "plain RTP", ""},
		{"srtp over UDP, plain offer", string(plain), "srtp", false, "488", "cannot be honoured", ""},
		{"optional over TLS, plain offer", string(plain), "optional", true, "plain+note", "not encrypted", protocol.MediaInClear},
		{"optional over UDP, plain offer", string(plain), "optional", false, "plain+note", "not encrypted", protocol.MediaInClear},
		{"none over TLS, plain offer", string(plain), "none", true, "plain", "", protocol.MediaInClear},
		{"default over UDP, plain offer", string(plain), "", false, "plain", "", protocol.MediaInClear},
		{"none over TLS, SRTP offer", string(savp), "none", true, "488", "media encryption is none", ""},
		{"default over UDP, SRTP offer", string(savp), "", false, "488", "RFC 4568 §8.3", ""},
		{"srtp over UDP, SRTP offer", string(savp), "srtp", false, "488", "RFC 4568 §8.3", ""},
		{"optional over UDP, SRTP offer", string(savp), "optional", false, "488", "RFC 4568 §8.3", ""},
		{"none over UDP, SRTP offer", string(savp), "none", false, "488", "RFC 4568 §8.3", ""},
		{"srtp over TLS, unknown suite", badSuite, "srtp", true, "488", "no acceptable a=crypto", ""},
		{"srtp over TLS, bad DTLS-SRTP fingerprint", dtls, "srtp", true, "488", "unusable DTLS-SRTP offer", ""},
		{"srtp over TLS, DTLS-SRTP offer", string(goodDTLS), "srtp", true, "dtls", "", ""},
		{"default over TLS, DTLS-SRTP offer", string(goodDTLS), "", true, "dtls", "", ""},
		{"optional over TLS, DTLS-SRTP offer", string(goodDTLS), "optional", true, "dtls", "", ""},
		{"optional over UDP, DTLS-SRTP offer", string(goodDTLS), "optional", false, "dtls+note", "RFC 5763 §8", ""},
		{"srtp over UDP, DTLS-SRTP offer", string(goodDTLS), "srtp", false, "488", "RFC 5763 §8", ""},
		{"default over UDP, DTLS-SRTP offer", string(goodDTLS), "", false, "488", "media encryption is none", ""},
		{"none over TLS, DTLS-SRTP offer", string(goodDTLS), "none", true, "488", "media encryption is none", ""},
		{"srtp over TLS, DTLS-SRTP holdconn", holdconn, "srtp", true, "488", "unusable DTLS-SRTP offer", ""},
		{"not SDP", "hello", "optional", true, "err", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ref, err := planAnswer([]byte(tc.body), tc.setting, tc.tls)
			got := ""
			note := m.note
			switch {
			case err != nil:
				got = "err"
			case ref != nil:
				got, note = "488", ref.note
			case m.dtlsPeer != nil && m.note != "":
				got = "dtls+note"
			case m.dtlsPeer != nil:
				got = "dtls"
			case m.keys != nil:
				got = "srtp"
			case m.note != "":
				got = "plain+note"
			default:
				got = "plain"
			}
			if got == "dtls" || got == "dtls+note" {
				// RFC 5763 §5: to actpass we answer active; the suite is
				// only known after the handshake.
				if m.dtlsPeer.Setup != callmedia.SetupActive || len(m.dtlsPeer.Fingerprints) != 1 || m.dtlsPeer.Fingerprints[0].String() != cert.Fingerprint().String() || m.keys != nil {
					t.Errorf("dtls plan %+v", m.dtlsPeer)
				}
			}
			if got != tc.want || !strings.Contains(note, tc.noteHas) || (got != "488" && got != "err" && m.protection != tc.wantProt) {
				t.Fatalf("got %s (protection %q, note %q, err %v), want %s with a note containing %q", got, m.protection, note, err, tc.want, tc.noteHas)
			}
			if strings.Contains(note, key) || strings.Contains(note, "inline:") {
				t.Errorf("the note carries key material: %q", note)
			}
			if got == "srtp" {
				var ev protocol.AnswerEvent
				m.protect(&ev)
				if ev.MediaKeying != protocol.KeyingSDES || ev.MediaProtection != callmedia.SuiteAESCM128SHA1_80 {
					t.Errorf("event %+v", ev)
				}
				if string(m.keys.RemoteKey) != string(offered.Key) || string(m.keys.LocalKey) == string(offered.Key) || string(m.local.Key) != string(m.keys.LocalKey) {
					t.Errorf("keys: we must receive with the caller's key and send with a fresh one of ours")
				}
			}
		})
	}
}

func TestCheckEncryption(t *testing.T) {
	for _, ok := range []string{"", "srtp", "optional", "none"} {
		if err := checkEncryption(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"SRTP", "dtls", "yes", strings.Repeat("x", 100)} {
		if err := checkEncryption(bad); err == nil || len(err.Error()) > 120 {
			t.Errorf("%q: %v, want a short ErrInvalid", bad, err)
		}
	}
}

func TestRedactKeysWithMKI(t *testing.T) {
	in := "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 INLINE:abc\r\n"
	out := redactKeys(in)
	if strings.Contains(out, "WVNf") || strings.Contains(out, "abc") || strings.Count(strings.ToLower(out), "inline:<redacted>") != 2 {
		t.Fatalf("redactKeys: %q", out)
	}
}

// FuzzPlanAnswer: whatever the offer, planAnswer never panics, never
// answers SRTP unless the INVITE came over TLS, and no refusal note holds
// key material or a control character.
func FuzzPlanAnswer(f *testing.F) {
	ip := netip.MustParseAddr("192.0.2.10")
	plain, _ := callmedia.Offer(1, ip, 40000, false)
	c, _ := callmedia.NewCrypto(1, callmedia.SuiteAESCM128SHA1_80)
	savp, _ := callmedia.OfferSRTP(1, ip, 40000, []callmedia.Crypto{c})
	f.Add(plain, "", true)
	f.Add(savp, "optional", false)
	f.Add(savp, "", true)
	f.Add([]byte(strings.Replace(string(savp), "RTP/SAVP", "RTP/SAVP/inline:QUJD", 1)), "srtp", true)
	f.Add([]byte("v=0\r\nm=audio 1 \x01 0\r\n"), "none", true)
	f.Fuzz(func(t *testing.T, body []byte, setting string, tls bool) {
		if checkEncryption(setting) != nil {
			return
		}
		m, ref, err := planAnswer(body, setting, tls)
		if err == nil && ref == nil && m.keys != nil && !tls {
			t.Fatalf("SRTP accepted over non-TLS signalling")
		}
		if ref != nil {
			if strings.Contains(strings.ToLower(ref.note), "inline:") || strings.ContainsFunc(ref.note, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("note %q", ref.note)
			}
		}
	})
}
