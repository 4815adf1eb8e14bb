package sip

import (
	"slices"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

func TestSDPMedia(t *testing.T) {
	for _, tc := range []struct {
		name, sdp string
		want      []string
	}{
		{"audio only", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", []string{"audio"}},
		{"audio and video", "v=0\r\nm=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n", []string{"audio", "video"}},
		{"rejected video", "m=audio 4000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n", []string{"audio"}},
		{"twice", "m=audio 1 RTP/AVP 0\nm=AUDIO 2 RTP/AVP 8\n", []string{"audio"}},
		{"none", "v=0\r\n", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sdpMedia([]byte(tc.sdp)); !slices.Equal(got, tc.want) {
				t.Errorf("sdpMedia = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOptionsResultReadsSDPOfSuccessOnly(t *testing.T) {
	req := gosip.NewRequest(gosip.OPTIONS, gosip.Uri{Scheme: "sip", User: "bob", Host: "example.test"})
	ok := gosip.NewResponseFromRequest(req, 200, "OK", []byte("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"))
	ok.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	ok.AppendHeader(gosip.NewHeader("Allow", "INVITE, OPTIONS"))
	got := optionsResult(ok)
	if got.StatusCode != 200 || !slices.Equal(got.Media, []string{"audio"}) || !slices.Equal(got.Allow, []string{"INVITE", "OPTIONS"}) {
		t.Errorf("200 with SDP: %+v", got)
	}
	nf := gosip.NewResponseFromRequest(req, 404, "Not Found", []byte("m=video 1 RTP/AVP 96\r\n"))
	nf.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	if got := optionsResult(nf); got.StatusCode != 404 || got.Media != nil {
		t.Errorf("404: %+v, want no media", got)
	}
}
