package sip

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/pion/sdp/v3"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/media/recording"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// rtpSocket is a call's RTP socket and, with --record, the temporary file
// the recording goes to before it is renamed into place.
type rtpSocket struct {
	conn      *net.UDPConn
	recordTmp *atomicfile.File
}

// readPlayFile reads a 16-bit PCM WAV and converts it to 8 kHz mono, before
// the call is placed, so a bad file costs no call.
func readPlayFile(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("play file: %w: %w", err, protocol.ErrInvalid)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("play file %s: %w: %w", path, err, protocol.ErrInvalid)
	}
	return pcm.Mono8k(), nil
}

// openMedia binds the RTP socket on the address the signalling leaves from
// (so the SDP names a reachable address) and builds the offer: PCMU, PCMA
// and telephone-event (RFC 3264, RFC 4733). The port is even, as RFC 3550
// §11 asks of RTP. With --record, the output file is created now in its
// directory, so an unwritable path, or one that holds anything but a
// regular file (a device, a FIFO, a symlink), fails before the call.
func (c *call) openMedia() error {
	ip := c.flow.local.Addr()
	var conn *net.UDPConn
	for range 20 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP(ip.AsSlice())})
		if err != nil {
			return newError(protocol.ErrUnreachable, err, "RTP socket on %s: %v", ip, err)
		}
		if u.LocalAddr().(*net.UDPAddr).Port%2 == 0 {
			conn = u
			break
		}
		defer u.Close() // keep odd ports taken until an even one is found
	}
	if conn == nil {
		return newError(protocol.ErrUnreachable, nil, "no even UDP port free for RTP on %s", ip)
	}
	var sess [8]byte
	_, _ = rand.Read(sess[:])
	c.sessID = binary.BigEndian.Uint64(sess[:]) >> 1
	c.rtp = &rtpSocket{conn: conn}
	var err error
	switch {
	case c.dtls:
		err = c.dtlsOffer()
	case c.sdes:
		err = c.srtpOffer()
	default:
		err = c.plainOffer()
	}
	if err != nil {
		_ = conn.Close()
		c.rtp = nil
		return err
	}
	if path := c.plan.media.RecordFile; path != "" {
		tmp, err := recording.Create(path)
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("record file %s: %w: %w", path, err, protocol.ErrInvalid)
		}
		c.rtp.recordTmp = tmp
	}
	return nil
}

// plainOffer makes the RTP/AVP offer: PCMU, PCMA, telephone-event (and
// video when asked), no keys.
func (c *call) plainOffer() error {
	offer, err := callmedia.Offer(c.sessID, c.flow.local.Addr(), c.rtp.conn.LocalAddr().(*net.UDPAddr).Port, c.plan.media.Video)
	if err != nil {
		return newError(protocol.ErrProtocol, err, "%v", err)
	}
	c.cryptos, c.dtlsCert = nil, nil
	c.setSDP(offer)
	return nil
}

// srtpOffer makes the RTP/SAVP offer (RFC 3711 §1, RFC 4568 §5): one
// a=crypto line per suite we offer (offerSuites), each with a fresh key.
// Only ever called for a TLS flow (RFC 4568 §8.3).
func (c *call) srtpOffer() error {
	cryptos, err := newOfferCryptos(c.suites)
	if err != nil {
		return newError(protocol.ErrProtocol, err, "%v", err)
	}
	offer, err := callmedia.OfferSRTP(c.sessID, c.flow.local.Addr(), c.rtp.conn.LocalAddr().(*net.UDPAddr).Port, cryptos)
	if err != nil {
		return newError(protocol.ErrProtocol, err, "%v", err)
	}
	if c.plan.media.Video {
		c.notes = append(c.notes, "video is not offered with SRTP: audio only")
	}
	c.cryptos = cryptos
	c.setSDP(offer)
	return nil
}

// sdp is our current session description: the offer, then, once
// answered with SRTP, the description of what was agreed.
func (c *call) sdp() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offer
}

func (c *call) setSDP(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offer = b
}

// negotiated is what the answer gave the media of a placed call.
type negotiated struct {
	ans  callmedia.Answer
	err  error               // the answer's SDP is unusable: no media, said in the Note
	keys *callmedia.SRTPKeys // nil: plain RTP
	// DTLS-SRTP: what the answer said (peer), then the finished
	// handshake whose keys are keys (dtls.go); nil for SDES and plain.
	peer *callmedia.DTLSPeer
	dtls *callmedia.DTLSSession
}

// negotiate reads the callee's SDP answer (RFC 3264 §6) to our offer. To
// an SRTP offer (RFC 4568 §7.1.3) an answer without an acceptable
// a=crypto ends the call when SRTP is required (an error wrapping
// ErrMediaInsecure that names what the callee answered); with "optional"
// the media go in clear with a note.
func (c *call) negotiate(body []byte) (*negotiated, error) {
	if c.dtlsCert != nil {
		return c.negotiateDTLS(body)
	}
	if c.cryptos == nil {
		a, err := callmedia.ParseAnswer(body)
		return &negotiated{ans: a, err: err}, nil
	}
	a, keys, err := callmedia.ParseSRTPAnswer(body, c.cryptos)
	if c.keyHook != nil {
		c.keyHook(c.cryptos, keys)
	}
	if err == nil {
		// A re-INVITE gets what was agreed: the one line the callee
		// chose, with our key for it (RFC 4568 §7.1.4 keeps the keys).
		for _, o := range c.cryptos {
			if o.Suite == keys.Suite && string(o.Key) == string(keys.LocalKey) {
				if b, err := callmedia.OfferSRTP(c.sessID, c.flow.local.Addr(), c.rtp.conn.LocalAddr().(*net.UDPAddr).Port, []callmedia.Crypto{o}); err == nil {
					c.setSDP(nextVersion(b))
				}
			}
		}
		return &negotiated{ans: a, keys: keys}, nil
	}
	if c.enc == protocol.MediaEncryptionSRTP {
		return nil, fmt.Errorf("SRTP required and the callee answered without it (%v); hung up, no media sent: %w", err, protocol.ErrMediaInsecure)
	}
	c.notes = append(c.notes, fmt.Sprintf("the callee did not accept SRTP (%v): media in clear", err))
	a, perr := callmedia.ParseAnswer(body)
	return &negotiated{ans: a, err: perr}, nil
}

// nextVersion raises the o= session version of our SDP by one: it
// describes the session differently from the offer (RFC 3264 §8).
func nextVersion(b []byte) []byte {
	var d sdp.SessionDescription
	if err := d.Unmarshal(b); err != nil {
		return b
	}
	d.Origin.SessionVersion++
	out, err := d.Marshal()
	if err != nil {
		return b
	}
	return out
}

// closeMedia releases the socket and removes a recording never finished.
func (c *call) closeMedia() {
	if c.rtp == nil {
		return
	}
	_ = c.rtp.conn.Close()
	if c.rtp.recordTmp != nil {
		recording.Discard(c.rtp.recordTmp)
	}
}

// mediaStats is what the final event reports of the media.
type mediaStats struct {
	sent, received int64
	authFailures   int64
	dtmfSent       string
	codec, peer    string
	recorded       int64
}

// runMedia sends and receives RTP for an answered call until it should
// end: the callee hangs up, ctx ends (the user hangs up), --duration
// passes, or, with Duration 0, the file and digits have been sent. A
// negative Duration keeps the call up until one side hangs up.
func (c *call) runMedia(ctx context.Context, neg *negotiated) (mediaStats, string) {
	var ms mediaStats
	if neg.err != nil {
		return ms, "no media: " + neg.err.Error()
	}
	ans := neg.ans
	ms.codec = ans.Codec
	ms.peer = ans.Remote.String()
	opts := c.plan.media
	var note string
	dtmf := opts.DTMF
	if dtmf != "" && !ans.HasEvents {
		// RFC 4733 §2.5.1: events are sent only with a negotiated payload type.
		note = "the callee did not accept telephone-event (RFC 4733): DTMF not sent"
		dtmf = ""
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Duration > 0 {
		var stop context.CancelFunc
		mctx, stop = context.WithTimeout(mctx, opts.Duration)
		defer stop()
	}
	go func(done <-chan struct{}) {
		select {
		case <-c.remoteBye:
			cancel()
		case <-done:
		}
	}(mctx.Done())
	cfg := callmedia.SessionConfig{
		Conn:         c.rtp.conn,
		Remote:       ans.Remote,
		PayloadType:  ans.PayloadType,
		Play:         c.plan.play,
		DTMF:         dtmf,
		StopWhenDone: opts.Duration == 0,
		Record:       opts.RecordFile != "",
		SRTP:         neg.keys,
	}
	if neg.dtls != nil {
		// RFC 7983 §7: DTLS records on the RTP port during the call
		// (a retransmitted last flight) go to the DTLS association.
		cfg.OnDTLS = neg.dtls.HandlePacket
	}
	if ans.HasEvents {
		cfg.EventPT = ans.EventPayloadType
	}
	if opts.Duration == 0 && len(cfg.Play) == 0 && cfg.DTMF == "" {
		// Nothing to send and no time asked for: hang up at once
		// (--duration 0 measures call set-up).
		return ms, note
	}
	stats, err := callmedia.Run(mctx, cfg)
	ms.sent, ms.received, ms.dtmfSent = stats.Sent, stats.Received, stats.DTMFSent
	ms.authFailures = stats.AuthFailures
	if stats.Peer != "" {
		ms.peer = stats.Peer
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		note = joinNote(note, "media: "+err.Error())
	}
	if c.rtp.recordTmp != nil {
		if err := c.saveRecording(stats.Recorded); err != nil {
			note = joinNote(note, err.Error())
		} else {
			ms.recorded = int64(len(stats.Recorded))
		}
	}
	return ms, note
}

// saveRecording writes the WAV into the temporary file and renames it over
// the target, so a reader never sees half a file. The file is 0600 (it
// holds people's voices), and a path that became anything but a regular
// file during the call is left alone (recording.Commit).
func (c *call) saveRecording(samples []int16) error {
	f := c.rtp.recordTmp
	c.rtp.recordTmp = nil
	path := c.plan.media.RecordFile
	if err := media.WriteWAV(f, media.TelephonyRate, samples); err != nil {
		recording.Discard(f)
		return fmt.Errorf("record file %s: %w", path, err)
	}
	if err := recording.Commit(f, path); err != nil {
		return fmt.Errorf("record file %s: %w", path, err)
	}
	return nil
}
