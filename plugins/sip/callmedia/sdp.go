package callmedia

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
)

// PayloadTypeH264 is the dynamic payload type offered for video.
const PayloadTypeH264 uint8 = 96

// Sentinel errors of ParseAnswer.
var (
	// ErrNoCommonCodec: the answer's audio stream has neither PCMU nor PCMA.
	ErrNoCommonCodec = errors.New("no common audio codec (want PCMU or PCMA)")
	// ErrStreamRejected: the answer set the audio port to 0 (RFC 3264 §6).
	ErrStreamRejected = errors.New("audio stream rejected by the peer (port 0)")
	// ErrNoConnection: neither the audio stream nor the session has a c= line
	// (RFC 4566 §5.7 requires one of them).
	ErrNoConnection = errors.New("no connection address (c= line) for the audio stream")
)

// Offer builds an SDP offer (RFC 3264 §5, RFC 4566) for one audio stream at
// addr:port: RTP/AVP with PCMU (0), PCMA (8) and telephone-event/8000
// (101, events 0-16: DTMF 0-15 per RFC 4733 §3.2 plus 16, flash-hook, the
// widely deployed default), ptime 20 and sendrecv. sessID is used as both
// session id and version (RFC 4566 §5.2: a fresh offer; re-offers must
// bump the version).
//
// With video, a second m-line offers H.264 (PT 96, packetization-mode 1,
// RFC 6184) on port+2 as recvonly: cusax has no camera, so it can at most
// receive, and offering the line lets video-first peers keep the call.
//
// It fails for an invalid address or a port outside 1..65535 (1..65533
// with video).
func Offer(sessID uint64, addr netip.Addr, port int, video bool) ([]byte, error) {
	if !addr.IsValid() {
		return nil, errors.New("sdp offer: invalid address")
	}
	addr = addr.Unmap()
	maxPort := 65535
	if video {
		maxPort -= 2
	}
	if port < 1 || port > maxPort {
		return nil, fmt.Errorf("sdp offer: port %d out of range 1..%d", port, maxPort)
	}
	addrType := "IP4"
	if addr.Is6() {
		addrType = "IP6"
	}
	s := &sdp.SessionDescription{
		Version: 0,
		Origin: sdp.Origin{
			Username:       "-",
			SessionID:      sessID,
			SessionVersion: sessID,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr.String(),
		},
		SessionName: "cusax",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: addr.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{
				Media:   "audio",
				Port:    sdp.RangedPort{Value: port},
				Protos:  []string{"RTP", "AVP"},
				Formats: []string{"0", "8", "101"},
			},
			Attributes: []sdp.Attribute{
				sdp.NewAttribute("rtpmap", "0 PCMU/8000"),
				sdp.NewAttribute("rtpmap", "8 PCMA/8000"),
				sdp.NewAttribute("rtpmap", "101 telephone-event/8000"),
				sdp.NewAttribute("fmtp", "101 0-16"),
				sdp.NewAttribute("ptime", "20"),
				sdp.NewPropertyAttribute("sendrecv"),
			},
		}},
	}
	if video {
		s.MediaDescriptions = append(s.MediaDescriptions, &sdp.MediaDescription{
			MediaName: sdp.MediaName{
				Media:   "video",
				Port:    sdp.RangedPort{Value: port + 2},
				Protos:  []string{"RTP", "AVP"},
				Formats: []string{"96"},
			},
			Attributes: []sdp.Attribute{
				sdp.NewAttribute("rtpmap", "96 H264/90000"),
				sdp.NewAttribute("fmtp", "96 packetization-mode=1"),
				sdp.NewPropertyAttribute("recvonly"),
			},
		})
	}
	b, err := s.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sdp offer: %w", err)
	}
	return b, nil
}

// Answer is what cusax needs from the peer's SDP answer to send audio.
type Answer struct {
	// Remote is where to send RTP.
	Remote netip.AddrPort
	// PayloadType and Codec ("PCMU" or "PCMA") are the first G.711 format
	// in the answer's m-line, i.e. the answerer's preference (RFC 3264 §6.1).
	PayloadType uint8
	Codec       string
	// EventPayloadType is the telephone-event/8000 payload type, valid
	// when HasEvents is true; DTMF must be sent with this value, which may
	// differ from the 101 offered.
	EventPayloadType uint8
	HasEvents        bool
	// Direction is sendrecv, sendonly, recvonly or inactive (RFC 3264
	// §6.1), media level first, then session level, default sendrecv;
	// inactive for a c=0.0.0.0 hold.
	Direction string
	// Ptime is the a=ptime the peer asked for, 0 if absent.
	Ptime time.Duration
}

// ParseAnswer extracts the audio parameters from an SDP answer. It uses
// the first m=audio line. Errors: a parse error from pion/sdp (wrapped),
// no audio stream, a transport other than RTP/AVP (SRTP is not
// supported), ErrStreamRejected, ErrNoConnection, a connection address
// that is not an IP literal, and ErrNoCommonCodec.
func ParseAnswer(b []byte) (Answer, error) {
	a, _, err := parseAudio(b, "RTP/AVP")
	return a, err
}

// parseAudio is ParseAnswer for transport wantProto; it also returns
// the audio m-line.
func parseAudio(b []byte, wantProto string) (Answer, *sdp.MediaDescription, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(b); err != nil {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: %w", err)
	}
	var m *sdp.MediaDescription
	for _, md := range s.MediaDescriptions {
		if md.MediaName.Media == "audio" {
			m = md
			break
		}
	}
	if m == nil {
		return Answer{}, nil, errors.New("parse sdp answer: no audio stream")
	}
	if proto := strings.Join(m.MediaName.Protos, "/"); proto != wantProto {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: transport %s is not supported (want %s)", proto, wantProto)
	}
	port := m.MediaName.Port.Value
	if port == 0 {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: %w", ErrStreamRejected)
	}
	if port < 0 || port > 65535 {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: port %d out of range", port)
	}
	conn := m.ConnectionInformation
	if conn == nil {
		conn = s.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: %w", ErrNoConnection)
	}
	ip, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: connection address %q is not an IP address: %w", conn.Address.Address, err)
	}
	a := Answer{Remote: netip.AddrPortFrom(ip, uint16(port)), Direction: direction(&s, m)}
	if ip.IsUnspecified() {
		// RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 way to put a call on
		// hold; there is nowhere to send, so treat it as inactive.
		a.Direction = "inactive"
	}

	rtpmap := map[uint8]string{}
	for _, attr := range m.Attributes {
		switch attr.Key {
		case "rtpmap":
			pt, enc, ok := strings.Cut(attr.Value, " ")
			if n, err := strconv.ParseUint(pt, 10, 8); ok && err == nil {
				rtpmap[uint8(n)] = strings.ToLower(strings.TrimSpace(enc))
			}
		case "ptime":
			if ms, err := strconv.Atoi(strings.TrimSpace(attr.Value)); err == nil && ms > 0 && ms <= 1000 {
				a.Ptime = time.Duration(ms) * time.Millisecond
			}
		}
	}
	found := false
	for _, f := range m.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			continue
		}
		pt := uint8(n)
		enc, mapped := rtpmap[pt]
		if !mapped {
			// RFC 3551 §6: static payload types need no rtpmap.
			switch pt {
			case PayloadTypePCMU:
				enc = "pcmu/8000"
			case PayloadTypePCMA:
				enc = "pcma/8000"
			}
		}
		switch {
		case !found && (enc == "pcmu/8000" || enc == "pcmu/8000/1"):
			a.PayloadType, a.Codec, found = pt, "PCMU", true
		case !found && (enc == "pcma/8000" || enc == "pcma/8000/1"):
			a.PayloadType, a.Codec, found = pt, "PCMA", true
		case enc == "telephone-event/8000" && !a.HasEvents:
			a.EventPayloadType, a.HasEvents = pt, true
		}
	}
	if !found {
		return Answer{}, nil, fmt.Errorf("parse sdp answer: %w", ErrNoCommonCodec)
	}
	return a, m, nil
}

func direction(s *sdp.SessionDescription, m *sdp.MediaDescription) string {
	for _, attrs := range [][]sdp.Attribute{m.Attributes, s.Attributes} {
		for _, attr := range attrs {
			switch attr.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				return attr.Key
			}
		}
	}
	return "sendrecv"
}

// ParseOffer extracts from a caller's SDP offer what an answerer needs:
// where to send RTP, the first G.711 format in the offer's m-line order
// (RFC 3264 §6.1: the answerer should keep the offerer's preference when
// it supports it) and the telephone-event payload type. Errors as
// ParseAnswer; ErrNoCommonCodec means the call must be refused with 488
// (RFC 3264 §6).
func ParseOffer(b []byte) (Answer, error) {
	a, err := ParseAnswer(b)
	if err != nil {
		return a, fmt.Errorf("sdp offer: %w", err)
	}
	return a, nil
}

// AnswerSDP builds the SDP answer (RFC 3264 §6) to an offer parsed by
// ParseOffer: one audio m-line at addr:port with the chosen G.711 format
// and, when offered, telephone-event with the offerer's payload type
// (RFC 4733 §2.1: the answer keeps the offer's dynamic type). The
// direction mirrors the offer's (§6.1: sendonly answers recvonly and so
// on). It fails for an invalid address or port.
func AnswerSDP(o Answer, sessID uint64, addr netip.Addr, port int) ([]byte, error) {
	if !addr.IsValid() {
		return nil, errors.New("sdp answer: invalid address")
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("sdp answer: port %d out of range", port)
	}
	if o.Codec != "PCMU" && o.Codec != "PCMA" {
		return nil, fmt.Errorf("sdp answer: codec %q: %w", o.Codec, ErrNoCommonCodec)
	}
	addr = addr.Unmap()
	addrType := "IP4"
	if addr.Is6() {
		addrType = "IP6"
	}
	pt := strconv.Itoa(int(o.PayloadType))
	formats := []string{pt}
	attrs := []sdp.Attribute{sdp.NewAttribute("rtpmap", pt+" "+o.Codec+"/8000")}
	if o.HasEvents {
		ev := strconv.Itoa(int(o.EventPayloadType))
		formats = append(formats, ev)
		attrs = append(attrs, sdp.NewAttribute("rtpmap", ev+" telephone-event/8000"), sdp.NewAttribute("fmtp", ev+" 0-16"))
	}
	dir := "sendrecv"
	switch o.Direction {
	case "sendonly":
		dir = "recvonly"
	case "recvonly":
		dir = "sendonly"
	case "inactive":
		dir = "inactive"
	}
	attrs = append(attrs, sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(dir))
	s := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: sessID, SessionVersion: sessID,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: addr.String(),
		},
		SessionName: "cusax",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: addr.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{
				Media: "audio", Port: sdp.RangedPort{Value: port},
				Protos: []string{"RTP", "AVP"}, Formats: formats,
			},
			Attributes: attrs,
		}},
	}
	b, err := s.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sdp answer: %w", err)
	}
	return b, nil
}
