package callmedia

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestDTLSOfferAnswer: our offer, parsed as a callee would, answered,
// and the answer parsed by the caller: each side learns the other's
// fingerprint, the answerer is active (RFC 5763 §5) and the offerer
// passive, and no a=crypto appears anywhere.
func TestDTLSOfferAnswer(t *testing.T) {
	certO, certA := mustCert(t), mustCert(t)
	offer, err := OfferDTLS(42, netip.MustParseAddr("192.0.2.10"), 40000, certO.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m=audio 40000 UDP/TLS/RTP/SAVP 0 8 101\r\n", "a=fingerprint:" + certO.Fingerprint().Attribute() + "\r\n", "a=setup:actpass\r\n"} {
		if !strings.Contains(string(offer), want) {
			t.Fatalf("offer lacks %q:\n%s", want, offer)
		}
	}
	if strings.Contains(string(offer), "a=crypto") {
		t.Fatalf("DTLS offer carries a=crypto:\n%s", offer)
	}
	// The plain and SDES paths refuse it.
	if _, err := ParseOffer(offer); err == nil {
		t.Fatal("ParseOffer accepted a DTLS-SRTP offer")
	}
	if _, _, _, err := ParseSRTPOffer(offer); err == nil {
		t.Fatal("ParseSRTPOffer accepted a DTLS-SRTP offer")
	}
	a, peer, err := ParseDTLSOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if peer.Setup != SetupActive || len(peer.Fingerprints) != 1 || !peer.Fingerprints[0].Matches(certO.cert.Certificate[0]) {
		t.Fatalf("offer parsed as %+v", peer)
	}
	if a.Codec != "PCMU" || a.Remote != netip.MustParseAddrPort("192.0.2.10:40000") || !a.HasEvents {
		t.Fatalf("media %+v", a)
	}
	answer, err := AnswerDTLS(a, peer, 7, netip.MustParseAddr("192.0.2.20"), 50000, certA.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m=audio 50000 UDP/TLS/RTP/SAVP 0 101\r\n", "a=setup:active\r\n", "a=fingerprint:sha-256 "} {
		if !strings.Contains(string(answer), want) {
			t.Fatalf("answer lacks %q:\n%s", want, answer)
		}
	}
	ans, callerPeer, err := ParseDTLSAnswer(answer)
	if err != nil {
		t.Fatal(err)
	}
	if callerPeer.Setup != SetupPassive || !callerPeer.Fingerprints[0].Matches(certA.cert.Certificate[0]) {
		t.Fatalf("answer parsed as %+v", callerPeer)
	}
	if ans.Remote != netip.MustParseAddrPort("192.0.2.20:50000") || ans.Codec != "PCMU" {
		t.Fatalf("answer media %+v", ans)
	}
	if _, err := AnswerDTLS(a, DTLSPeer{Setup: SetupActPass}, 7, netip.MustParseAddr("192.0.2.20"), 50000, certA.Fingerprint()); err == nil {
		t.Fatal("AnswerDTLS answered actpass")
	}
	if _, err := OfferDTLS(1, netip.MustParseAddr("192.0.2.10"), 40000, Fingerprint{Hash: "sha-1", Value: make([]byte, 20)}); err == nil {
		t.Fatal("OfferDTLS took a sha-1 fingerprint")
	}
}

const fp256 = "sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

// dtlsAnswer is a peer's answer; media replaces the DTLS attribute lines.
func dtlsAnswer(proto, session, media string) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n" + session +
		"m=audio 50000 " + proto + " 0\r\na=rtpmap:0 PCMU/8000\r\n" + media)
}

// TestParseDTLSAnswer: which answers to a DTLS-SRTP offer are taken,
// and which are refused with ErrNoDTLS (the call then ends, or falls
// back if the user allowed it).
func TestParseDTLSAnswer(t *testing.T) {
	const p = "UDP/TLS/RTP/SAVP"
	sha1 := "sha-1 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
	for _, tc := range []struct {
		name, proto, session, media string
		ok                          bool
		us                          Setup // our role when ok
	}{
		{"active answer", p, "", "a=fingerprint:" + fp256 + "\r\na=setup:active\r\n", true, SetupPassive},
		{"passive answer", p, "", "a=fingerprint:" + fp256 + "\r\na=setup:passive\r\n", true, SetupActive},
		{"no setup is passive (RFC 4145 §4.1)", p, "", "a=fingerprint:" + fp256 + "\r\n", true, SetupActive},
		{"session-level fingerprint and setup", p, "a=fingerprint:" + fp256 + "\r\na=setup:active\r\n", "", true, SetupPassive},
		{"lower-case hex, upper-case hash name", p, "", "a=fingerprint:SHA-256 " + strings.ToLower(fp256[8:]) + "\r\na=setup:active\r\n", true, SetupPassive},
		{"sha-1 next to sha-256", p, "", "a=fingerprint:" + sha1 + "\r\na=fingerprint:" + fp256 + "\r\na=setup:active\r\n", true, SetupPassive},
		{"a=crypto is ignored", p, "", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\na=fingerprint:" + fp256 + "\r\na=setup:active\r\n", true, SetupPassive},

		{"no fingerprint", p, "", "a=setup:active\r\n", false, ""},
		{"sha-1 only", p, "", "a=fingerprint:" + sha1 + "\r\na=setup:active\r\n", false, ""},
		{"md5", p, "", "a=fingerprint:md5 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\na=setup:active\r\n", false, ""},
		{"unknown hash", p, "", "a=fingerprint:foo-1 AB\r\na=setup:active\r\n", false, ""},
		{"short fingerprint", p, "", "a=fingerprint:sha-256 AB:CD\r\na=setup:active\r\n", false, ""},
		{"no colons", p, "", "a=fingerprint:sha-256 " + strings.ReplaceAll(fp256[8:], ":", "") + "\r\n", false, ""},
		{"bad hex", p, "", "a=fingerprint:" + strings.Replace(fp256, "AB", "ZZ", 1) + "\r\n", false, ""},
		{"actpass in an answer", p, "", "a=fingerprint:" + fp256 + "\r\na=setup:actpass\r\n", false, ""},
		{"holdconn", p, "", "a=fingerprint:" + fp256 + "\r\na=setup:holdconn\r\n", false, ""},
		{"two setups", p, "", "a=fingerprint:" + fp256 + "\r\na=setup:active\r\na=setup:passive\r\n", false, ""},
		{"bad setup", p, "", "a=fingerprint:" + fp256 + "\r\na=setup:whatever\r\n", false, ""},
		{"plain RTP/AVP", "RTP/AVP", "", "", false, ""},
		{"SDES RTP/SAVP", "RTP/SAVP", "", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, peer, err := ParseDTLSAnswer(dtlsAnswer(tc.proto, tc.session, tc.media))
			if !tc.ok {
				if !errors.Is(err, ErrNoDTLS) {
					t.Fatalf("got %v, want ErrNoDTLS", err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("multi-line error %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if peer.Setup != tc.us || len(peer.Fingerprints) != 1 || peer.Fingerprints[0].Hash != "sha-256" || peer.Fingerprints[0].Value[0] != 0xab {
				t.Fatalf("parsed %+v", peer)
			}
		})
	}
}

// TestParseDTLSOfferRoles: our role for each a=setup of an offer.
func TestParseDTLSOfferRoles(t *testing.T) {
	for setup, want := range map[string]Setup{
		"a=setup:actpass\r\n": SetupActive, "a=setup:passive\r\n": SetupActive,
		"a=setup:active\r\n": SetupPassive, "": SetupPassive, "a=setup:holdconn\r\n": "",
	} {
		_, peer, err := ParseDTLSOffer(dtlsAnswer("UDP/TLS/RTP/SAVP", "", "a=fingerprint:"+fp256+"\r\n"+setup))
		if want == "" {
			if !errors.Is(err, ErrNoDTLS) {
				t.Errorf("%q: got %v, want ErrNoDTLS", setup, err)
			}
			continue
		}
		if err != nil || peer.Setup != want {
			t.Errorf("%q: got %q, %v; want %q", setup, peer.Setup, err, want)
		}
	}
}

func TestFingerprintRoundTrip(t *testing.T) {
	c := mustCert(t)
	for _, h := range []string{"sha-256", "sha-384", "sha-512"} {
		fp, err := CertFingerprint(h, c.cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseFingerprint(fp.Attribute())
		if err != nil || back.Hash != h || !bytes.Equal(back.Value, fp.Value) || !back.Matches(c.cert.Certificate[0]) {
			t.Fatalf("%s: %q parsed back as %v, %v", h, fp.Attribute(), back, err)
		}
	}
	if _, err := CertFingerprint("sha-1", c.cert.Certificate[0]); !errors.Is(err, ErrFingerprintHash) {
		t.Fatalf("sha-1: %v", err)
	}
}

// FuzzParseFingerprint: no input panics; what parses formats back to
// the same value.
func FuzzParseFingerprint(f *testing.F) {
	for _, s := range []string{fp256, strings.ToLower(fp256), "sha-1 AB:CD", "sha-256", " ", "sha-256 ::", "SHA-512 " + strings.Repeat("00:", 63) + "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		back, err := ParseFingerprint(fp.Attribute())
		if err != nil || back.Hash != fp.Hash || !bytes.Equal(back.Value, fp.Value) {
			t.Fatalf("%q → %q → %v, %v", s, fp.Attribute(), back, err)
		}
	})
}

// FuzzParseSetup: no input panics; only the four RFC 4145 values parse.
func FuzzParseSetup(f *testing.F) {
	for _, s := range []string{"active", "PASSIVE", " actpass ", "holdconn", "", "act pass"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSetup(s)
		if err == nil && v != SetupActive && v != SetupPassive && v != SetupActPass && v != SetupHoldConn {
			t.Fatalf("%q parsed as %q", s, v)
		}
	})
}

// FuzzParseDTLSAnswer: no SDP panics the answer or offer parser; an
// accepted answer always has a fingerprint and a definite role.
func FuzzParseDTLSAnswer(f *testing.F) {
	f.Add(dtlsAnswer("UDP/TLS/RTP/SAVP", "", "a=fingerprint:"+fp256+"\r\na=setup:active\r\n"))
	f.Add(dtlsAnswer("UDP/TLS/RTP/SAVP", "a=fingerprint:"+fp256+"\r\n", "a=setup:actpass\r\n"))
	f.Add(dtlsAnswer("RTP/AVP", "", ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (Answer, DTLSPeer, error){ParseDTLSAnswer, ParseDTLSOffer} {
			_, peer, err := parse(b)
			if err != nil {
				continue
			}
			if len(peer.Fingerprints) == 0 || (peer.Setup != SetupActive && peer.Setup != SetupPassive) {
				t.Fatalf("accepted %+v", peer)
			}
		}
	})
}

// TestDTLSOfferSAVPF: an offer of UDP/TLS/RTP/SAVPF (RFC 5124, as baresip
// makes) is a DTLS-SRTP offer, and its answer keeps that transport (RFC
// 3264 §6); a SAVP offer is still answered with SAVP.
func TestDTLSOfferSAVPF(t *testing.T) {
	certO, certA := mustCert(t), mustCert(t)
	offer, err := OfferDTLS(7, netip.MustParseAddr("192.0.2.10"), 40000, certO.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ proto, want string }{{"UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVP 0"}, {"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVPF 0"}} {
		b := bytes.Replace(offer, []byte("UDP/TLS/RTP/SAVP "), []byte(tc.proto+" "), 1)
		a, peer, err := ParseDTLSOffer(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.proto, err)
		}
		if peer.Proto != tc.proto || peer.Setup != SetupActive {
			t.Errorf("%s: peer %+v", tc.proto, peer)
		}
		ans, err := AnswerDTLS(a, peer, 8, netip.MustParseAddr("192.0.2.20"), 50000, certA.Fingerprint())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(ans), "m=audio 50000 "+tc.want) || strings.Contains(string(ans), "a=crypto") {
			t.Errorf("%s: answer\n%s", tc.proto, ans)
		}
	}
}
