package callmedia

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/pion/rtp"
)

// Packetizer numbers the outgoing RTP stream of one call: one SSRC, one
// sequence space and one timestamp clock shared by audio and RFC 4733
// events, as RFC 4733 §2.5 expects (events are part of the audio
// stream, not a separate one). It does no IO and no pacing; the caller
// marshals each packet and sends it every 20 ms. Not safe for concurrent
// use.
type Packetizer struct {
	ssrc      uint32
	seq       uint16
	ts        uint32
	pt        uint8
	talkspurt bool // the next audio packet starts a talkspurt
}

// NewPacketizer returns a Packetizer for the audio payload type pt (from
// the SDP answer). SSRC, first sequence number and first timestamp are
// random, per RFC 3550 §5.1 (sequence, timestamp) and §8.1 (SSRC), so
// that a known-plaintext attack on later encryption is harder and
// restarted calls do not collide. rnd supplies the randomness; nil means
// crypto/rand. It fails only when rnd does.
func NewPacketizer(pt uint8, rnd io.Reader) (*Packetizer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [10]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, fmt.Errorf("rtp: random ssrc and sequence: %w", err)
	}
	return &Packetizer{
		ssrc:      binary.BigEndian.Uint32(b[0:4]),
		seq:       binary.BigEndian.Uint16(b[4:6]),
		ts:        binary.BigEndian.Uint32(b[6:10]),
		pt:        pt,
		talkspurt: true,
	}, nil
}

// SSRC returns the stream's synchronisation source identifier.
func (p *Packetizer) SSRC() uint32 { return p.ssrc }

// Audio wraps one 20 ms G.711 frame in an RTP packet and advances the
// sequence number by one and the timestamp by FrameSamples. The marker bit
// is set on the first packet of the stream and of every talkspurt after
// Silence (RFC 3551 §4.1).
func (p *Packetizer) Audio(payload []byte) *rtp.Packet {
	pkt := &rtp.Packet{
		Header: rtp.Header{
			Version:        2,
			Marker:         p.talkspurt,
			PayloadType:    p.pt,
			SequenceNumber: p.seq,
			Timestamp:      p.ts,
			SSRC:           p.ssrc,
		},
		Payload: payload,
	}
	p.talkspurt = false
	p.seq++
	p.ts += FrameSamples
	return pkt
}

// Silence records that frames 20 ms frames were not sent (silence
// suppression, or a pause in playback): the timestamp advances as the
// clock would (RFC 3550 §5.1: the timestamp tracks sampling time, not
// packet count) while the sequence number does not, and the next audio
// packet carries the marker bit.
func (p *Packetizer) Silence(frames int) {
	if frames <= 0 {
		return
	}
	p.ts += uint32(frames) * FrameSamples
	p.talkspurt = true
}

// DTMF wraps RFC 4733 event payloads from DTMFEvents for one key press in
// RTP packets with the telephone-event payload type eventPT. Every packet
// carries the event's start timestamp, the current audio clock
// (RFC 4733 §2.5.1.2: the timestamp identifies the event, the duration
// field tells how long it has lasted); sequence numbers continue the audio
// sequence, and the first packet carries the marker bit (§2.2.2).
//
// Afterwards the audio clock moves past the event, so audio resumes at a
// timestamp after the tone rather than overlapping it: by one frame per
// packet, which is the time that passed when the caller sends one packet
// per 20 ms slot in place of an audio frame (the expected use), and at
// least by the event's final duration rounded up to whole frames. The
// next audio packet carries the marker bit, as after any gap in audio
// (RFC 3551 §4.1), so the receiver can resynchronise its jitter buffer.
func (p *Packetizer) DTMF(eventPT uint8, payloads [][]byte) []*rtp.Packet {
	out := make([]*rtp.Packet, 0, len(payloads))
	var last uint16
	for i, pl := range payloads {
		out = append(out, &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == 0,
				PayloadType:    eventPT,
				SequenceNumber: p.seq,
				Timestamp:      p.ts,
				SSRC:           p.ssrc,
			},
			Payload: pl,
		})
		p.seq++
		if len(pl) >= 4 {
			last = max(last, binary.BigEndian.Uint16(pl[2:4]))
		}
	}
	frames := max((uint32(last)+FrameSamples-1)/FrameSamples, uint32(len(payloads)))
	p.ts += frames * FrameSamples
	p.talkspurt = true
	return out
}
