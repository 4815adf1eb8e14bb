package callmedia

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/cusax/cusax/pkg/media"
)

// SessionConfig is one call's media, typically filled from ParseAnswer.
type SessionConfig struct {
	// Conn is the bound, unconnected local RTP socket. Run reads and
	// writes it and clears its read deadline on return; the caller
	// closes it.
	Conn *net.UDPConn
	// Remote is where RTP is sent (Answer.Remote). Packets are accepted
	// from its IP on any port: symmetric-RTP peers and NATs often send
	// from a port other than the one they advertise.
	Remote netip.AddrPort
	// PayloadType is the audio payload type, PayloadTypePCMU or
	// PayloadTypePCMA (Answer.PayloadType).
	PayloadType uint8
	// EventPT is the telephone-event payload type from the answer; 0
	// means the peer did not accept RFC 4733 events (0 is PCMU, never a
	// valid event type).
	EventPT uint8
	// Play is 8 kHz mono audio sent once, in 20 ms frames; nil sends
	// none.
	Play []int16
	// DTMF is a string of digits (0-9 * # A-D, a-d) sent as RFC 4733
	// events: the first 200 ms after the session starts, each a 100 ms
	// tone, 100 ms apart. Playback pauses while a digit is sent, since
	// an event's packets take the audio's 20 ms slots (RFC 4733 §2.5.1
	// events share the audio stream's clock).
	DTMF string
	// StopWhenDone makes Run return once Play and DTMF are sent.
	// Otherwise it keeps sending silence until ctx ends, which keeps NAT
	// bindings open and lets symmetric-RTP peers learn our address.
	StopWhenDone bool
	// Record keeps the decoded received audio in Stats.Recorded.
	Record bool
	// MaxRecord caps Record; beyond it samples are discarded. 0 means
	// one hour.
	MaxRecord time.Duration
	// OnAudio, if set, gets each received audio packet's decoded
	// samples, and OnDigit each RFC 4733 digit once, as it arrives (the
	// answerer streams them). Both run on the receive goroutine and must
	// not block; the slice is not kept.
	OnAudio func(samples []int16)
	OnDigit func(digit rune)
	// SRTP, if set, protects the session (RFC 3711): every packet sent
	// is encrypted and authenticated with LocalKey, every packet
	// received must authenticate with RemoteKey or is dropped and
	// counted in Stats.AuthFailures. nil means plain RTP.
	SRTP *SRTPKeys
	// OnDTLS, if set, gets each datagram from the peer's IP that is DTLS
	// (RFC 7983 §7: first byte 20-63), such as a handshake flight the
	// peer retransmits after DTLS-SRTP keying (DTLSSession.HandlePacket).
	// It runs on the receive goroutine and must not block; the slice is
	// not kept. Such datagrams count as Ignored either way.
	OnDTLS func(b []byte)
}

// SRTPKeys are the SDES keys of one call (RFC 4568 §6.1: each side's
// a=crypto carries the key it sends with): LocalKey from our a=crypto,
// RemoteKey from the peer's. Keys are master key||salt (Crypto.Key).
type SRTPKeys struct {
	Suite               string
	LocalKey, RemoteKey []byte
}

// String is redacted: keys never reach a log.
func (k *SRTPKeys) String() string { return "srtp " + k.Suite + " (keys redacted)" }

// srtpReplayWindow is the replay window (RFC 3711 §3.3.2: at least 64).
const srtpReplayWindow = 64

// contexts makes the send and receive contexts, one per direction (RFC
// 3711 §3.2.3: each direction has its own master key and SSRC state).
func (k *SRTPKeys) contexts() (enc, dec *srtp.Context, err error) {
	p, err := suiteProfile(k.Suite)
	if err != nil {
		return nil, nil, fmt.Errorf("rtp session: %w", err)
	}
	n, _ := keyLen(k.Suite)
	kl, _ := p.KeyLen()
	if len(k.LocalKey) != n || len(k.RemoteKey) != n {
		return nil, nil, fmt.Errorf("rtp session: %s needs %d-byte keys", k.Suite, n)
	}
	if enc, err = srtp.CreateContext(k.LocalKey[:kl], k.LocalKey[kl:], p); err != nil {
		return nil, nil, fmt.Errorf("rtp session: srtp: %w", err)
	}
	if dec, err = srtp.CreateContext(k.RemoteKey[:kl], k.RemoteKey[kl:], p, srtp.SRTPReplayProtection(srtpReplayWindow)); err != nil {
		return nil, nil, fmt.Errorf("rtp session: srtp: %w", err)
	}
	return enc, dec, nil
}

// Stats is what Run observed.
type Stats struct {
	// Sent and Received count RTP packets (audio and events); Received
	// only those from the peer with the negotiated payload types.
	Sent, Received int64
	// Ignored counts datagrams dropped: from another IP, malformed,
	// RTCP (or SRTCP), or with a payload type that was not negotiated.
	Ignored int64
	// AuthFailures counts, with SRTP, packets from the peer's IP dropped
	// because they failed authentication (RFC 3711 §3.3 step 5) or the
	// replay check (§3.3.2); they are never played or recorded.
	AuthFailures int64
	// WriteErrors counts sends that failed with a transient error, such
	// as ECONNREFUSED from an ICMP port unreachable, and were skipped.
	WriteErrors int64
	// DTMFSent holds the digits whose events were sent completely.
	DTMFSent string
	// DTMFReceived holds the digits received as RFC 4733 events, each
	// counted once, on the first packet seen of the event (at most
	// 4096 digits).
	DTMFReceived string
	// Recorded is the received audio (8 kHz mono) when Record is set,
	// placed by RTP timestamp relative to the first audio packet, gaps
	// filled with silence.
	Recorded []int16
	// Peer is the source address of the first RTP packet accepted.
	Peer string
}

const (
	ptime            = 20 * time.Millisecond // RFC 3551 §4.2 default for G.711
	dtmfStart        = 200 * time.Millisecond
	dtmfTone         = 100 * time.Millisecond
	dtmfGap          = 100 * time.Millisecond
	dtmfVolume       = 10 // -10 dBm0, a common default (RFC 4733 §2.3.4)
	defaultMaxRecord = time.Hour
	// maxBurst is how many overdue 20 ms slots are sent at once after a
	// stall; beyond it the stall is treated as a pause (Silence) rather
	// than flooding the peer's jitter buffer.
	maxBurst = 5
	// maxDTMFReceived bounds Stats.DTMFReceived against a peer sending
	// a new event in every packet.
	maxDTMFReceived = 4096
	// recordSlack is how far (in samples) a packet may be placed ahead
	// of the wall clock, or behind the newest packet, before it counts
	// as a timestamp discontinuity. Two seconds is far more than any
	// jitter, far less than a hostile jump.
	recordSlack = 2 * media.TelephonyRate
)

// Run sends and receives the RTP audio of one call until ctx ends or,
// with StopWhenDone, until Play and DTMF are sent. Sending is paced on a
// 20 ms clock anchored at the start, so it does not drift; receiving
// runs in a goroutine that Run stops (by a past read deadline, not by
// closing Conn) before it returns. It is the package's one exception to
// "no IO": the pacing clock and receive loop of a call belong in one
// place rather than in every caller; the packets themselves come from
// Packetizer, Encode, DTMFEvents, Decode and ParseDTMF.
//
// Errors: an invalid config is reported before anything is sent (no
// Conn, invalid Remote, a payload type other than 0 or 8, DTMF without
// EventPT, an invalid digit). Ending ctx is the normal way to hang up and
// returns nil. Transient send errors are counted in WriteErrors; other
// read or write errors end the session and are returned with the stats
// so far.
func Run(ctx context.Context, cfg SessionConfig) (Stats, error) {
	snd, err := newSender(cfg)
	if err != nil {
		return Stats{}, err
	}
	rcv := newReceiver(cfg)
	if cfg.SRTP != nil {
		if snd.enc, rcv.dec, err = cfg.SRTP.contexts(); err != nil {
			return Stats{}, err
		}
	}
	conn := cfg.Conn
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return Stats{}, fmt.Errorf("rtp session: %w", err)
	}

	var stopping atomic.Bool
	readErr := make(chan error, 1)
	go func() { readErr <- rcv.serve(conn, &stopping) }()

	runErr := snd.run(ctx, conn, cfg.Remote, readErr)

	stopping.Store(true)
	if runErr == nil || !errors.Is(runErr, errReadLoop) {
		// Unblock ReadFrom without closing the caller's socket.
		_ = conn.SetReadDeadline(time.Unix(1, 0))
		if err := <-readErr; err != nil && runErr == nil {
			runErr = fmt.Errorf("%w: %w", errReadLoop, err)
		}
	}
	_ = conn.SetReadDeadline(time.Time{})

	st := rcv.stats(cfg.Record)
	st.Sent, st.WriteErrors, st.DTMFSent = snd.sent, snd.writeErrors, snd.dtmfSent
	return st, runErr
}

// errReadLoop wraps the error that ended the receive goroutine.
var errReadLoop = errors.New("rtp session: receive")

// transient reports send/receive errors that must not end a call: ICMP
// unreachable reports surfacing as ECONNREFUSED/ECONNRESET while the peer
// is not (yet) listening, route flaps, and full socket buffers.
func transient(err error) bool {
	for _, e := range []syscall.Errno{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH,
		syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN, syscall.ENOBUFS,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// dtmfDigit is one key press, prepared up front so invalid digits fail
// before the call's media starts.
type dtmfDigit struct {
	digit    rune
	payloads [][]byte
}

// sender is the outgoing half: a slot-by-slot state machine over the
// Packetizer, one packet per 20 ms slot.
type sender struct {
	pk           *Packetizer
	eventPT      uint8
	stopWhenDone bool
	frames       [][]byte // encoded Play frames not yet sent
	silence      []byte
	digits       []dtmfDigit // not yet started
	event        []*rtp.Packet
	eventDigit   rune
	slot         int // next slot number
	nextDigit    int // first slot the next digit may start in

	sent, writeErrors int64
	dtmfSent          string
	enc               *srtp.Context // nil: plain RTP
}

func newSender(cfg SessionConfig) (*sender, error) {
	switch {
	case cfg.Conn == nil:
		return nil, errors.New("rtp session: no socket")
	case !cfg.Remote.IsValid() || cfg.Remote.Port() == 0:
		return nil, fmt.Errorf("rtp session: invalid remote address %v", cfg.Remote)
	case cfg.Remote.Addr().IsUnspecified():
		// RFC 3264 §8.4: c=0.0.0.0 is a hold, not a destination (Linux
		// would deliver it to the local host).
		return nil, fmt.Errorf("rtp session: remote address %v is unspecified (call on hold)", cfg.Remote)
	case cfg.PayloadType != PayloadTypePCMU && cfg.PayloadType != PayloadTypePCMA:
		return nil, fmt.Errorf("rtp session: payload type %d is not G.711 (want 0 or 8)", cfg.PayloadType)
	case cfg.EventPT > 127 || (cfg.EventPT != 0 && cfg.EventPT == cfg.PayloadType):
		return nil, fmt.Errorf("rtp session: invalid telephone-event payload type %d", cfg.EventPT)
	case cfg.DTMF != "" && cfg.EventPT == 0:
		return nil, errors.New("rtp session: cannot send DTMF: the peer did not accept telephone-event (RFC 4733)")
	}
	pk, err := NewPacketizer(cfg.PayloadType, nil)
	if err != nil {
		return nil, fmt.Errorf("rtp session: %w", err)
	}
	s := &sender{pk: pk, eventPT: cfg.EventPT, stopWhenDone: cfg.StopWhenDone, nextDigit: slots(dtmfStart)}
	for _, d := range cfg.DTMF {
		if d >= 'a' && d <= 'd' {
			d -= 'a' - 'A'
		}
		pl, err := DTMFEvents(d, dtmfVolume, dtmfTone, ptime)
		if err != nil {
			return nil, fmt.Errorf("rtp session: %w", err)
		}
		s.digits = append(s.digits, dtmfDigit{d, pl})
	}
	for _, f := range Frames(cfg.Play) {
		b, _ := Encode(cfg.PayloadType, f) // payload type checked above
		s.frames = append(s.frames, b)
	}
	s.silence, _ = Encode(cfg.PayloadType, make([]int16, FrameSamples))
	return s, nil
}

func slots(d time.Duration) int { return int(d / ptime) }

// done reports that Play and DTMF are completely sent.
func (s *sender) done() bool {
	return len(s.frames) == 0 && len(s.digits) == 0 && len(s.event) == 0
}

// next returns the packet for the current slot: a pending event packet,
// else a new digit if its time has come, else Play audio, else silence.
func (s *sender) next() *rtp.Packet {
	defer func() { s.slot++ }()
	if len(s.event) == 0 && len(s.digits) > 0 && s.slot >= s.nextDigit {
		d := s.digits[0]
		s.digits = s.digits[1:]
		s.event, s.eventDigit = s.pk.DTMF(s.eventPT, d.payloads), d.digit
	}
	if len(s.event) > 0 {
		p := s.event[0]
		s.event = s.event[1:]
		if len(s.event) == 0 {
			s.dtmfSent += string(s.eventDigit)
			s.nextDigit = s.slot + 1 + slots(dtmfGap)
		}
		return p
	}
	if len(s.frames) > 0 {
		f := s.frames[0]
		s.frames = s.frames[1:]
		return s.pk.Audio(f)
	}
	return s.pk.Audio(s.silence)
}

// skip accounts for n slots that passed without sending (RFC 3550 §5.1:
// the timestamp follows sampling time); Play resumes where it stopped.
func (s *sender) skip(n int) {
	s.pk.Silence(n)
	s.slot += n
	s.nextDigit += n
}

// run sends one packet per slot, slot n at start+n*ptime, until ctx
// ends, the sender is done (with stopWhenDone), a fatal write error, or
// the receive loop fails.
func (s *sender) run(ctx context.Context, conn *net.UDPConn, remote netip.AddrPort, readErr <-chan error) error {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	buf := make([]byte, 1500)
	var sbuf []byte // SRTP output, reused
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return fmt.Errorf("%w: %w", errReadLoop, err)
		case <-timer.C:
		}
		due := slots(time.Since(start)) // slots 0..due are overdue or due now
		if behind := due - s.slot; behind >= maxBurst {
			s.skip(behind - maxBurst + 1)
		}
		for s.slot <= due {
			if s.stopWhenDone && s.done() {
				return nil
			}
			n, err := s.next().MarshalTo(buf)
			if err != nil {
				return fmt.Errorf("rtp session: marshal: %w", err)
			}
			out := buf[:n]
			if s.enc != nil {
				if sbuf, err = s.enc.EncryptRTP(sbuf[:0], out, nil); err != nil {
					return fmt.Errorf("rtp session: srtp: %w", err)
				}
				out = sbuf
			}
			if _, err := conn.WriteToUDPAddrPort(out, remote); err != nil {
				if !transient(err) {
					return fmt.Errorf("rtp session: send to %v: %w", remote, err)
				}
				s.writeErrors++
				continue
			}
			s.sent++
		}
		timer.Reset(time.Until(start.Add(time.Duration(s.slot) * ptime)))
	}
}

// receiver is the incoming half. handle holds all the packet logic and
// does no IO, so it can be fuzzed; serve feeds it from the socket.
type receiver struct {
	remote  netip.Addr
	pt      uint8
	eventPT uint8
	record  bool
	rec     recorder
	onAudio func([]int16)
	onDigit func(rune)
	onDTLS  func([]byte)
	dec     *srtp.Context // nil: plain RTP
	plain   []byte        // decrypted packet, reused

	received, ignored, authFailures int64
	peer                            netip.AddrPort
	dtmf                            []byte
	haveEvent                       bool
	eventSSRC                       uint32
	eventTS                         uint32
}

func newReceiver(cfg SessionConfig) *receiver {
	maxRec := cfg.MaxRecord
	if maxRec <= 0 {
		maxRec = defaultMaxRecord
	}
	return &receiver{
		remote:  cfg.Remote.Addr().Unmap().WithZone(""),
		pt:      cfg.PayloadType,
		eventPT: cfg.EventPT,
		record:  cfg.Record,
		onAudio: cfg.OnAudio,
		onDigit: cfg.OnDigit,
		onDTLS:  cfg.OnDTLS,
		rec:     recorder{max: int64(maxRec/time.Millisecond) * media.TelephonyRate / 1000},
	}
}

// serve reads until stopping is set, or a non-transient read error.
func (r *receiver) serve(conn *net.UDPConn, stopping *atomic.Bool) error {
	buf := make([]byte, 1<<16) // any UDP datagram fits, none is truncated
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if stopping.Load() {
			return nil
		}
		if err != nil {
			if transient(err) {
				continue
			}
			return err
		}
		r.handle(from, buf[:n], time.Now())
	}
}

// handle processes one datagram that arrived at time at.
func (r *receiver) handle(from netip.AddrPort, b []byte, at time.Time) {
	// Compare without zone: SDP carries none, link-local sources do.
	if from.Addr().Unmap().WithZone("") != r.remote {
		r.ignored++
		return
	}
	// RFC 3550 §5.1: version 2; RFC 5761 §4: a second byte of 192-223
	// is RTCP (SR, RR, SDES, BYE, APP...) multiplexed on the RTP port;
	// cusax sends no RTCP and ignores it. The version check also drops
	// STUN and other non-RTP traffic (RFC 7983 §7).
	if len(b) < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) {
		if r.onDTLS != nil && len(b) > 0 && b[0] >= 20 && b[0] <= 63 {
			r.onDTLS(b)
		}
		r.ignored++
		return
	}
	if r.dec != nil {
		// RFC 3711 §3.3: authenticate (and check for replay) before
		// anything else looks at the payload.
		out, err := r.dec.DecryptRTP(r.plain[:0], b, nil)
		if err != nil {
			r.authFailures++
			return
		}
		r.plain, b = out, out
	}
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		r.ignored++
		return
	}
	switch {
	case p.PayloadType == r.pt:
		if r.record || r.onAudio != nil {
			s, _ := Decode(r.pt, p.Payload) // pt is 0 or 8
			if r.record {
				r.rec.put(p.SSRC, p.Timestamp, s, at)
			}
			if r.onAudio != nil {
				r.onAudio(s)
			}
		}
	case r.eventPT != 0 && p.PayloadType == r.eventPT:
		r.event(&p)
	default:
		r.ignored++
		return
	}
	r.received++
	if !r.peer.IsValid() {
		r.peer = from
	}
}

// event records a digit once per event. RFC 4733 §2.5.1.2: all packets
// of one event carry its start timestamp, so a new (SSRC, timestamp)
// pair is a new key press; updates and the repeated end packets
// (§2.5.1.4) are not counted again.
func (r *receiver) event(p *rtp.Packet) {
	digit, _, _, err := ParseDTMF(p.Payload)
	if err != nil {
		return // flash-hook or another non-DTMF event
	}
	if r.haveEvent && p.SSRC == r.eventSSRC && p.Timestamp == r.eventTS {
		return
	}
	r.haveEvent, r.eventSSRC, r.eventTS = true, p.SSRC, p.Timestamp
	if len(r.dtmf) < maxDTMFReceived {
		r.dtmf = append(r.dtmf, byte(digit))
	}
	if r.onDigit != nil {
		r.onDigit(digit)
	}
}

func (r *receiver) stats(record bool) Stats {
	st := Stats{Received: r.received, Ignored: r.ignored, AuthFailures: r.authFailures, DTMFReceived: string(r.dtmf)}
	if r.peer.IsValid() {
		st.Peer = r.peer.String()
	}
	if record {
		st.Recorded = r.rec.buf
		if st.Recorded == nil {
			st.Recorded = []int16{}
		}
	}
	return st
}

// recorder places decoded audio by RTP timestamp (RFC 3550 §5.1: the
// timestamp is the sampling instant, so gaps from loss or silence
// suppression become silence, and late packets fill their own gap).
//
// Timestamps are trusted only while they agree with the wall clock: a
// packet more than recordSlack ahead of real time, or behind the newest
// packet, is dropped as a discontinuity, and only when the next packet
// continues it does the recorder resynchronise to it, at the current
// wall-clock position (the same two-packet rule RFC 3550 Appendix A.1
// uses for sequence numbers). So a hostile or restarted clock costs at
// most one packet and can never make the buffer grow faster than real
// time; max caps it in any case. A new SSRC (§8.2: the peer restarted
// its stream) resynchronises at once.
type recorder struct {
	max int64 // cap in samples
	buf []int16

	started   bool
	ssrc      uint32
	refTS     uint32 // timestamp of the newest placed packet
	refPos    int64  // its position in buf
	wall0     time.Time
	wallPos0  int64 // position that corresponds to wall0
	pending   bool  // a discontinuity was seen
	pendingTS uint32
}

// wallPos is where a packet arriving at at belongs by the wall clock.
func (r *recorder) wallPos(at time.Time) int64 {
	return r.wallPos0 + int64(max(at.Sub(r.wall0), 0)/time.Millisecond)*media.TelephonyRate/1000
}

func (r *recorder) put(ssrc, ts uint32, s []int16, at time.Time) {
	if len(s) == 0 {
		return
	}
	var pos int64
	switch {
	case !r.started:
		r.started, r.wall0 = true, at
		pos = r.resync(ssrc, ts, 0, at)
	case ssrc != r.ssrc:
		pos = r.resync(ssrc, ts, max(int64(len(r.buf)), r.wallPos(at)), at)
	default:
		// Serial-number arithmetic (RFC 3550 §5.1: the timestamp wraps).
		pos = r.refPos + int64(int32(ts-r.refTS))
		if pos < 0 || pos < r.refPos-recordSlack || pos > r.wallPos(at)+recordSlack {
			if !r.pending || ts != r.pendingTS {
				r.pending, r.pendingTS = true, ts+uint32(len(s))
				return
			}
			pos = r.resync(ssrc, ts, max(int64(len(r.buf)), r.wallPos(at)), at)
		}
	}
	r.pending = false
	if pos > r.refPos {
		r.refPos, r.refTS = pos, ts
	}
	if pos >= r.max {
		return
	}
	end := min(pos+int64(len(s)), r.max)
	if n := int64(len(r.buf)); end > n {
		r.buf = append(r.buf, make([]int16, end-n)...)
	}
	copy(r.buf[pos:end], s)
}

// resync anchors timestamp ts of stream ssrc, and the wall clock, at
// position pos.
func (r *recorder) resync(ssrc, ts uint32, pos int64, at time.Time) int64 {
	r.ssrc, r.refTS, r.refPos = ssrc, ts, pos
	r.wall0, r.wallPos0 = at, pos
	return pos
}
