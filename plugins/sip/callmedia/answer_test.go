package callmedia

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestAnswerSDP: the answer keeps the offer's first G.711 format and its
// telephone-event payload type (RFC 3264 §6.1, RFC 4733 §2.1), mirrors
// its direction, and parses back to the same parameters.
func TestAnswerSDP(t *testing.T) {
	for _, c := range []struct {
		name, offer, codec, dir string
		pt, ev                  uint8
		events                  bool
	}{
		{"sipp PCMA", "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", "PCMA", "sendrecv", 8, 101, true},
		{"opus first, PCMU later, events 96", "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 111 0 96\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:96 telephone-event/8000\r\n", "PCMU", "sendrecv", 0, 96, true},
		{"sendonly, no events", "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=sendonly\r\n", "PCMU", "recvonly", 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := ParseOffer([]byte(answerHead + c.offer))
			if err != nil {
				t.Fatal(err)
			}
			b, err := AnswerSDP(o, 42, netip.MustParseAddr("192.0.2.9"), 7000)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseAnswer(b)
			if err != nil {
				t.Fatalf("our answer does not parse: %v\n%s", err, b)
			}
			if a.Codec != c.codec || a.PayloadType != c.pt || a.HasEvents != c.events || (c.events && a.EventPayloadType != c.ev) || a.Direction != c.dir || a.Remote.String() != "192.0.2.9:7000" {
				t.Errorf("answer %+v\n%s", a, b)
			}
		})
	}
	if _, err := ParseOffer([]byte(answerHead + "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n")); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("G.722-only offer: %v, want ErrNoCommonCodec", err)
	}
}

func TestParseDTMFRelay(t *testing.T) {
	for in, want := range map[string]rune{
		"Signal=5\r\nDuration=160\r\n": '5',
		"signal = #\nDuration=100":     '#',
		"Signal=11\r\n":                '#',
		"Signal=a\r\n":                 'A',
		"Signal= *":                    '*',
	} {
		if got, err := ParseDTMFRelay([]byte(in)); err != nil || got != want {
			t.Errorf("ParseDTMFRelay(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Duration=160", "Signal=", "Signal=E", "Signal=99", "Signal=12345", strings.Repeat("x", 2000)} {
		if d, err := ParseDTMFRelay([]byte(in)); err == nil {
			t.Errorf("ParseDTMFRelay(%q) = %q, want an error", in, d)
		}
	}
}

// FuzzParseOffer: whatever a caller offers, an accepted offer yields an
// answer that parses back with the same codec and event type.
func FuzzParseOffer(f *testing.F) {
	offer, _ := Offer(1, netip.MustParseAddr("192.0.2.1"), 4000, true)
	f.Add(offer)
	f.Add([]byte(answerHead + "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"))
	f.Add([]byte(answerHead + "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"))
	f.Add([]byte(answerHead + "t=0 0\r\nm=audio 30002 RTP/AVP 0 96\r\nc=IN IP6 2001:db8::7\r\na=rtpmap:96 telephone-event/8000\r\na=inactive\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		o, err := ParseOffer(in)
		if err != nil {
			return
		}
		b, err := AnswerSDP(o, 7, netip.MustParseAddr("192.0.2.9"), 7000)
		if err != nil {
			t.Fatalf("offer %+v accepted but not answerable: %v", o, err)
		}
		a, err := ParseAnswer(b)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, b)
		}
		if a.Codec != o.Codec || a.PayloadType != o.PayloadType || a.HasEvents != o.HasEvents || a.EventPayloadType != o.EventPayloadType {
			t.Fatalf("answer %+v to offer %+v", a, o)
		}
	})
}

// FuzzParseDTMFRelay: any INFO body gives a DTMF digit or an error.
func FuzzParseDTMFRelay(f *testing.F) {
	for _, s := range []string{"Signal=5\r\nDuration=160\r\n", "Signal=11", "signal= a", "Signal=\r\n", "x=y\ny"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParseDTMFRelay(in)
		if err == nil && !strings.ContainsRune(dtmfDigits, d) {
			t.Fatalf("ParseDTMFRelay(%q) = %q", in, d)
		}
	})
}

// FuzzReceiveDigits: RFC 4733 packets in any order and shape; every digit
// handed to OnDigit is a DTMF digit and OnDigit sees exactly the digits
// the stats report.
func FuzzReceiveDigits(f *testing.F) {
	f.Add(rtpBytes(f, 101, 1, 1000, []byte{1, 0x0A, 0, 160}), rtpBytes(f, 101, 2, 1000, []byte{1, 0x8A, 1, 64}), rtpBytes(f, 101, 3, 2000, []byte{11, 0x8A, 1, 64}))
	f.Add(rtpBytes(f, 101, 1, 1000, []byte{16, 0, 0, 0}), rtpBytes(f, 101, 1, 1000, []byte{255, 0xFF}), []byte{0x80, 101})
	remote := netip.MustParseAddrPort("192.0.2.1:4000")
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		var got []rune
		r := newReceiver(SessionConfig{Remote: remote, PayloadType: 0, EventPT: 101, OnDigit: func(d rune) { got = append(got, d) }})
		at := time.Unix(1e9, 0)
		for _, p := range [][]byte{a, b, c, b, a} {
			r.handle(remote, p, at)
			at = at.Add(20 * time.Millisecond)
		}
		for _, d := range got {
			if !strings.ContainsRune(dtmfDigits, d) {
				t.Fatalf("digit %q", d)
			}
		}
		if st := r.stats(false); st.DTMFReceived != string(got) {
			t.Fatalf("OnDigit saw %q, stats say %q", string(got), st.DTMFReceived)
		}
	})
}
