package callmedia

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
)

func TestOffer(t *testing.T) {
	tests := []struct {
		name     string
		addr     string
		port     int
		video    bool
		contains []string
		media    int
	}{
		{name: "ipv4 audio", addr: "192.0.2.10", port: 40000, media: 1, contains: []string{
			"o=- 42 42 IN IP4 192.0.2.10", "c=IN IP4 192.0.2.10", "m=audio 40000 RTP/AVP 0 8 101",
			"a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
			"a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"}},
		{name: "ipv6 with video", addr: "2001:db8::1", port: 5004, video: true, media: 2, contains: []string{
			"c=IN IP6 2001:db8::1", "m=video 5006 RTP/AVP 96", "a=rtpmap:96 H264/90000", "a=recvonly"}},
		{name: "mapped v4", addr: "::ffff:192.0.2.1", port: 5004, media: 1, contains: []string{"c=IN IP4 192.0.2.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Offer(42, netip.MustParseAddr(tt.addr), tt.port, tt.video)
			if err != nil {
				t.Fatal(err)
			}
			var s sdp.SessionDescription
			if err := s.Unmarshal(b); err != nil {
				t.Fatalf("pion cannot parse our offer: %v\n%s", err, b)
			}
			if len(s.MediaDescriptions) != tt.media {
				t.Fatalf("%d m-lines, want %d", len(s.MediaDescriptions), tt.media)
			}
			for _, want := range tt.contains {
				if !strings.Contains(string(b), want+"\r\n") {
					t.Errorf("offer lacks %q:\n%s", want, b)
				}
			}
			// The offer must also be a valid answer to itself.
			if _, err := ParseAnswer(b); err != nil {
				t.Fatalf("offer does not parse as answer: %v", err)
			}
		})
	}
}

func TestOfferErrors(t *testing.T) {
	tests := []struct {
		name  string
		addr  netip.Addr
		port  int
		video bool
	}{
		{"invalid addr", netip.Addr{}, 5004, false},
		{"port 0", netip.MustParseAddr("192.0.2.1"), 0, false},
		{"port too big", netip.MustParseAddr("192.0.2.1"), 65536, false},
		{"video port overflow", netip.MustParseAddr("192.0.2.1"), 65534, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Offer(1, tt.addr, tt.port, tt.video); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

const answerHead = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     Answer
		wantErr  error
		errMatch string
	}{
		{name: "pcmu with events", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n",
			want: Answer{Remote: netip.MustParseAddrPort("198.51.100.7:30000"), PayloadType: 0, Codec: "PCMU", EventPayloadType: 101, HasEvents: true, Direction: "sendrecv", Ptime: 20 * time.Millisecond}},
		{name: "pcma preferred, other event pt, media-level c", in: answerHead + "t=0 0\r\nm=audio 30002 RTP/AVP 8 0 96\r\nc=IN IP6 2001:db8::7\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\na=sendonly\r\n",
			want: Answer{Remote: netip.MustParseAddrPort("[2001:db8::7]:30002"), PayloadType: 8, Codec: "PCMA", EventPayloadType: 96, HasEvents: true, Direction: "sendonly"}},
		{name: "dynamic pcmu, no events, session direction", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\na=inactive\r\nm=audio 30004 RTP/AVP 18 97\r\na=rtpmap:18 G729/8000\r\na=rtpmap:97 PCMU/8000\r\n",
			want: Answer{Remote: netip.MustParseAddrPort("198.51.100.7:30004"), PayloadType: 97, Codec: "PCMU", Direction: "inactive"}},
		{name: "video first", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\nm=audio 30006 RTP/AVP 8\r\n",
			want: Answer{Remote: netip.MustParseAddrPort("198.51.100.7:30006"), PayloadType: 8, Codec: "PCMA", Direction: "sendrecv"}},
		{name: "legacy hold", in: answerHead + "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 30008 RTP/AVP 0\r\n",
			want: Answer{Remote: netip.MustParseAddrPort("0.0.0.0:30008"), PayloadType: 0, Codec: "PCMU", Direction: "inactive"}},
		{name: "no common codec", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
			wantErr: ErrNoCommonCodec},
		{name: "pcmu at wrong rate", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 97\r\na=rtpmap:97 PCMU/16000\r\n",
			wantErr: ErrNoCommonCodec},
		{name: "rejected", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
			wantErr: ErrStreamRejected},
		{name: "no c line", in: answerHead + "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\n",
			wantErr: ErrNoConnection},
		{name: "hostname in c", in: answerHead + "c=IN IP4 pbx.example.com\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n",
			errMatch: "not an IP address"},
		{name: "srtp", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 30000 RTP/SAVP 0\r\n",
			errMatch: "RTP/SAVP is not supported"},
		{name: "no audio", in: answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=video 30000 RTP/AVP 96\r\n",
			errMatch: "no audio stream"},
		{name: "garbage", in: "hello", errMatch: "parse sdp answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnswer([]byte(tt.in))
			if tt.wantErr != nil || tt.errMatch != "" {
				if err == nil {
					t.Fatalf("got %+v, want error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %q, want %q", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseAnswer(f *testing.F) {
	offer, _ := Offer(1, netip.MustParseAddr("192.0.2.1"), 4000, true)
	f.Add(offer)
	f.Add([]byte(answerHead + "t=0 0\r\nm=audio 30002 RTP/AVP 8 0 96\r\nc=IN IP6 2001:db8::7\r\na=rtpmap:96 telephone-event/8000\r\n"))
	f.Add([]byte(answerHead + "c=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseAnswer(in)
		if err != nil {
			return
		}
		if a.Remote.Port() == 0 || !a.Remote.Addr().IsValid() || (a.Codec != "PCMU" && a.Codec != "PCMA") {
			t.Fatalf("accepted unusable answer %+v", a)
		}
	})
}
