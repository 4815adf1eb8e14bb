package callmedia

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustCrypto(t *testing.T, tag uint32, suite string) Crypto {
	t.Helper()
	c, err := NewCrypto(tag, suite)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSRTPOfferAnswer: our offer, parsed as a callee would, answered,
// and the answer parsed by the caller give each side the other's key.
func TestSRTPOfferAnswer(t *testing.T) {
	offered := []Crypto{
		mustCrypto(t, 1, SuiteAEADAES128GCM),
		mustCrypto(t, 2, SuiteAESCM128SHA1_80),
		mustCrypto(t, 3, SuiteAESCM128SHA1_32),
	}
	offer, err := OfferSRTP(42, netip.MustParseAddr("192.0.2.10"), 40000, offered)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(offer), "m=audio 40000 RTP/SAVP 0 8 101\r\n") || strings.Count(string(offer), "a=crypto:") != 3 ||
		!strings.Contains(string(offer), "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:") {
		t.Fatalf("offer:\n%s", offer)
	}
	// Today's plain paths refuse it: nothing changes for calls yet.
	if _, err := ParseOffer(offer); err == nil {
		t.Fatal("ParseOffer accepted an RTP/SAVP offer")
	}
	a, remote, local, err := ParseSRTPOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Tag != 1 || local.Tag != 1 || local.Suite != SuiteAEADAES128GCM || !bytes.Equal(remote.Key, offered[0].Key) {
		t.Fatalf("chose %v / %v, want tag 1 GCM", remote, local)
	}
	if a.Codec != "PCMU" || a.Remote != netip.MustParseAddrPort("192.0.2.10:40000") || !a.HasEvents {
		t.Fatalf("media %+v", a)
	}
	answer, err := AnswerSRTP(a, local, 7, netip.MustParseAddr("192.0.2.20"), 50000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(answer), "m=audio 50000 RTP/SAVP 0 101\r\n") || strings.Count(string(answer), "a=crypto:") != 1 {
		t.Fatalf("answer:\n%s", answer)
	}
	ans, callerKeys, err := ParseSRTPAnswer(answer, offered)
	if err != nil {
		t.Fatal(err)
	}
	calleeKeys := MediaKeys(remote, local)
	if ans.Remote != netip.MustParseAddrPort("192.0.2.20:50000") || callerKeys.Suite != SuiteAEADAES128GCM ||
		!bytes.Equal(callerKeys.LocalKey, calleeKeys.RemoteKey) || !bytes.Equal(callerKeys.RemoteKey, calleeKeys.LocalKey) ||
		bytes.Equal(callerKeys.LocalKey, callerKeys.RemoteKey) {
		t.Fatalf("keys do not pair up: caller %v callee %v", callerKeys, calleeKeys)
	}
	if strings.Contains(callerKeys.String(), "inline") || bytes.Contains([]byte(callerKeys.String()), callerKeys.LocalKey) {
		t.Fatal("SRTPKeys.String leaks")
	}
}

const savpHead = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"

func TestParseSRTPAnswerRefuses(t *testing.T) {
	offered := []Crypto{mustCrypto(t, 1, SuiteAESCM128SHA1_80), mustCrypto(t, 2, SuiteAESCM128SHA1_32)}
	line := func(tag, suite string) string { return "a=crypto:" + tag + " " + suite + " inline:" + key30 + "\r\n" }
	for _, tc := range []struct{ name, sdp string }{
		{"plain rtp", savpHead + "m=audio 30000 RTP/AVP 0\r\n"},
		{"no crypto", savpHead + "m=audio 30000 RTP/SAVP 0\r\n"},
		{"two crypto", savpHead + "m=audio 30000 RTP/SAVP 0\r\n" + line("1", SuiteAESCM128SHA1_80) + line("2", SuiteAESCM128SHA1_32)},
		{"unknown tag", savpHead + "m=audio 30000 RTP/SAVP 0\r\n" + line("9", SuiteAESCM128SHA1_80)},
		{"suite changed", savpHead + "m=audio 30000 RTP/SAVP 0\r\n" + line("1", SuiteAESCM128SHA1_32)},
		{"mki", savpHead + "m=audio 30000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:4\r\n"},
	} {
		if _, _, err := ParseSRTPAnswer([]byte(tc.sdp), offered); !errors.Is(err, ErrNoSRTP) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want ErrNoSRTP", tc.name, err)
		}
	}
	// A broken answer is a parse error, not a refusal of SRTP.
	if _, _, err := ParseSRTPAnswer([]byte(savpHead+"m=audio 0 RTP/SAVP 0\r\n"), offered); !errors.Is(err, ErrStreamRejected) {
		t.Errorf("rejected stream: err = %v", err)
	}
	a, keys, err := ParseSRTPAnswer([]byte(savpHead+"m=audio 30000 RTP/SAVP 8\r\n"+line("2", SuiteAESCM128SHA1_32)), offered)
	if err != nil || a.Codec != "PCMA" || keys.Suite != SuiteAESCM128SHA1_32 || !bytes.Equal(keys.LocalKey, offered[1].Key) {
		t.Fatalf("valid answer: %+v %v %v", a, keys, err)
	}
}

func TestParseSRTPOffer(t *testing.T) {
	// A typical softphone offer: _80 then _32, plus one we cannot honour.
	offer := savpHead + "m=audio 10000 RTP/SAVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4\r\n" +
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "\r\n" +
		"a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "\r\n"
	_, remote, local, err := ParseSRTPOffer([]byte(offer))
	if err != nil || remote.Tag != 2 || local.Tag != 2 || local.Suite != SuiteAESCM128SHA1_80 {
		t.Fatalf("got %v / %v, %v; want tag 2 _80", remote, local, err)
	}
	for _, bad := range []string{
		savpHead + "m=audio 10000 RTP/AVP 0\r\n",
		savpHead + "m=audio 10000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4\r\n",
		savpHead + "m=audio 10000 RTP/SAVP 0\r\n",
	} {
		if _, _, _, err := ParseSRTPOffer([]byte(bad)); !errors.Is(err, ErrNoSRTP) {
			t.Errorf("ParseSRTPOffer(%q) err = %v, want ErrNoSRTP", bad, err)
		}
	}
	if _, _, _, err := ParseSRTPOffer([]byte(savpHead + "m=audio 10000 RTP/SAVP 18\r\n")); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("G.729-only offer: err = %v, want ErrNoCommonCodec", err)
	}
}

func TestOfferSRTPErrors(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.10")
	c := mustCrypto(t, 1, SuiteAESCM128SHA1_80)
	bad := c
	bad.Key = bad.Key[:10]
	for _, cs := range [][]Crypto{nil, {c, c}, {bad}, {{Tag: 1, Suite: "F8_128_HMAC_SHA1_80", Key: c.Key}}} {
		if _, err := OfferSRTP(1, ip, 4000, cs); err == nil {
			t.Errorf("OfferSRTP(%v) succeeded", cs)
		}
	}
	if _, err := AnswerSRTP(Answer{Codec: "PCMU"}, bad, 1, ip, 4000); err == nil {
		t.Error("AnswerSRTP with a short key succeeded")
	}
}
