package contacts

import "github.com/cusax/cusax/pkg/protocol"

// avuriVars are the muc#roominfo field names under which a room advertises
// its audio/video URI: XEP-0045 registers muc#roominfo_avuri; RFC 7081 §4
// calls it "audio-video-uri", which some services use as the var.
var avuriVars = []string{"muc#roominfo_avuri", "muc#roominfo_audio-video-uri", "audio-video-uri"}

// RoomAudioVideoURI returns the SIP conference URI a MUC room advertises in
// its disco#info (RFC 7081 §4), or "".
func RoomAudioVideoURI(d protocol.DiscoInfo) string {
	for _, f := range d.Forms {
		for _, v := range avuriVars {
			if vals := f.Fields[v]; len(vals) > 0 {
				return vals[0]
			}
		}
	}
	return ""
}
