package baresip

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// statsEvery is how often an answered call's RTP counters are read
// (audio_debug): baresip 1.0 reports none when a call ends, so a call the
// peer ends reports the counts of the last reading.
const statsEvery = 250 * time.Millisecond

// call is one outgoing call.
type call struct {
	s    *session
	id   string
	evs  chan event
	out  chan protocol.CallEvent
	done chan struct{} // the stream was closed by its reader
	dead chan error    // the session ended under the call

	closeOnce sync.Once
	failOnce  sync.Once
}

func (c *call) event(ev event) {
	select {
	case c.evs <- ev:
	case <-c.done:
	}
}

func (c *call) fail(err error) {
	c.failOnce.Do(func() { c.dead <- err })
}

func (c *call) Recv() (protocol.CallEvent, error) {
	ev, ok := <-c.out
	if !ok {
		return protocol.CallEvent{}, io.EOF
	}
	return ev, nil
}

func (c *call) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return nil
}

// emit hands ev to the reader, waiting for it (nothing is dropped) unless
// the stream was closed.
func (c *call) emit(ev protocol.CallEvent) {
	select {
	case c.out <- ev:
	case <-c.done:
	}
}

// Dial places a call with baresip's "dial". Errors before the stream:
// ErrInvalid (CR/LF/NUL, a bad target or file), ErrUnsupported (extra
// headers, anonymous or video calls: baresip 1.0's control interface
// cannot ask for them), ErrMediaInsecure (Encryption "srtp": SDES keys
// need TLS signalling, which this backend refuses).
func (s *session) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	if hasControl(req.Target) || hasControl(req.DisplayName) {
		return nil, fmt.Errorf("dial %q: CR, LF or NUL: %w", req.Target, protocol.ErrInvalid)
	}
	for _, h := range req.Headers {
		if hasControl(h.Name) || hasControl(h.Value) {
			return nil, fmt.Errorf("dial: header %q: CR, LF or NUL: %w", h.Name, protocol.ErrInvalid)
		}
	}
	if !strings.HasPrefix(req.Target, "sip:") || strings.ContainsAny(req.Target, " \t") || len(req.Target) < 6 {
		return nil, fmt.Errorf("dial %q: want a sip: URI (baresip 1.0 here: no sips:, no tel:): %w", req.Target, protocol.ErrInvalid)
	}
	if len(req.Headers) > 0 {
		return nil, fmt.Errorf("dial: extra headers (%s): baresip 1.0's control interface cannot add headers to an INVITE (cusax call --no-impp leaves Call-Info out): %w", req.Headers[0].Name, protocol.ErrUnsupported)
	}
	if req.Anonymous {
		return nil, fmt.Errorf("dial: anonymous calls (RFC 3325 Privacy): not possible through baresip 1.0's control interface: %w", protocol.ErrUnsupported)
	}
	if req.Media.Video {
		return nil, fmt.Errorf("dial: video: %w", protocol.ErrUnsupported)
	}
	m := req.Media
	if m.Encryption == protocol.MediaEncryptionSRTP {
		return nil, fmt.Errorf("dial: media_encryption srtp needs SIP over TLS for its keys (RFC 4568 §8.3), which this backend refuses: %w", protocol.ErrMediaInsecure)
	}
	if m.RecordFile != "" {
		if _, err := os.Lstat(m.RecordFile); err == nil {
			return nil, fmt.Errorf("record file %s exists: a recording never replaces a file: %w", m.RecordFile, protocol.ErrInvalid)
		}
	}
	if err := s.deadErr(); err != nil {
		return nil, err
	}
	// The source is baresip's current audio source, global to the process:
	// one call is set up at a time.
	s.cmdMu.Lock()
	src, err := s.source(m)
	if err == nil {
		_, err = s.command("ausrc", src)
	}
	if err != nil {
		s.cmdMu.Unlock()
		return nil, err
	}
	c := &call{s: s, evs: make(chan event, 256), out: make(chan protocol.CallEvent, 8), done: make(chan struct{}), dead: make(chan error, 1)}
	dumps := s.p.dumpCount()
	s.mu.Lock()
	if s.dialing != nil {
		s.mu.Unlock()
		s.cmdMu.Unlock()
		return nil, fmt.Errorf("dial: another call is being set up in this session: %w", protocol.ErrInvalid)
	}
	s.dialing = c
	s.mu.Unlock()
	start := time.Now() // set-up time counts from the INVITE
	_, err = s.command("dial", req.Target)
	s.cmdMu.Unlock()
	if err != nil {
		s.mu.Lock()
		if s.dialing == c {
			s.dialing = nil
		}
		s.mu.Unlock()
		return nil, fmt.Errorf("dial %s: %w", req.Target, err)
	}
	go c.run(ctx, m, dumps, start)
	return c, nil
}

// source is the ausrc for a call: the file to play (copied into the
// private directory, so its path need not survive baresip's parser),
// else the session's default (the sound device, or silence with
// AudioEnv none).
func (s *session) source(m protocol.MediaOptions) (string, error) {
	if m.PlayFile != "" {
		data, err := os.ReadFile(m.PlayFile)
		if err != nil || len(data) < 44 || string(data[:4]) != "RIFF" {
			return "", fmt.Errorf("play file %s: want a 16-bit PCM WAV: %w", m.PlayFile, protocol.ErrInvalid)
		}
		p := filepath.Join(s.p.dir, "play.wav")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return "", err
		}
		return "aufile," + p, nil
	}
	return s.p.source, nil
}

var (
	txPackets = regexp.MustCompile(`TX: packets=(\d+)`)
	rxPackets = regexp.MustCompile(`rcvd=(\d+)`)
	encoder   = regexp.MustCompile(`encode: (\S+) `)
	remote    = regexp.MustCompile(`remote: ([0-9a-fA-F.:\[\]]+)/`)
	leadCode  = regexp.MustCompile(`^([1-6]\d\d) `)
)

// run follows the call from baresip's events to its final CallEvent.
func (c *call) run(ctx context.Context, m protocol.MediaOptions, dumps int, start time.Time) {
	defer close(c.out)
	s := c.s
	defer func() { s.forget(c, c.id) }()
	ring := m.RingTimeout
	if ring <= 0 {
		ring = 2 * time.Minute
	}
	ringT := time.NewTimer(ring)
	defer ringT.Stop()
	var (
		answered    time.Time
		ev          protocol.CallEvent
		durC, dtmfC <-chan time.Time
		tick        *time.Ticker
		tickC       <-chan time.Time
		hungUp      bool
		note        string
		ctxDone     = ctx.Done()
		closeWait   <-chan time.Time
	)
	hangup := func(why string) {
		if hungUp {
			return
		}
		hungUp = true
		if note == "" {
			note = why
		}
		if c.id == "" {
			// No event yet, so no Call-ID: the call just dialled is
			// baresip's current one.
			s.cmdMu.Lock()
			_, _ = s.command("hangup", "")
			s.cmdMu.Unlock()
		} else {
			_, _ = s.onCall(c.id, "hangup", "")
		}
		closeWait = time.After(5 * time.Second) // bounded wait for CALL_CLOSED
	}
	stats := func() {
		if c.id == "" {
			return
		}
		res, err := s.onCall(c.id, "audio_debug", "")
		if err != nil {
			return
		}
		if n := txPackets.FindStringSubmatch(res.Data); n != nil {
			ev.RTPSent, _ = strconv.ParseInt(n[1], 10, 64)
		}
		if n := rxPackets.FindStringSubmatch(res.Data); n != nil {
			ev.RTPRecv, _ = strconv.ParseInt(n[1], 10, 64)
		}
		if n := encoder.FindStringSubmatch(res.Data); n != nil {
			ev.Codec = n[1]
		}
		if n := remote.FindStringSubmatch(res.Data); n != nil {
			ev.MediaPeer = n[1]
		}
	}
	for {
		select {
		case e := <-c.evs:
			if c.id == "" {
				c.id = e.ID // c.id is run's alone
			}
			ev.CallID = c.id
			switch e.Type {
			case "CALL_RINGING":
				c.emit(protocol.CallEvent{CallID: c.id, StatusCode: 180, Reason: "Ringing"})
			case "CALL_PROGRESS":
				c.emit(protocol.CallEvent{CallID: c.id, StatusCode: 183, Reason: "Session Progress"})
			case "CALL_ESTABLISHED":
				answered = time.Now()
				ringT.Stop()
				ev.StatusCode, ev.Reason, ev.Answered, ev.SetupTime = 200, "OK", true, answered.Sub(start)
				c.emit(protocol.CallEvent{CallID: c.id, StatusCode: 200, Reason: "OK", Answered: true, SetupTime: ev.SetupTime})
				tick = time.NewTicker(statsEvery)
				defer tick.Stop()
				tickC = tick.C
				stats()
				if m.DTMF != "" {
					// RFC 4733 events, sent by baresip one after the other.
					if _, err := s.onCall(c.id, "sndcode", m.DTMF); err == nil {
						ev.DTMFSent = m.DTMF
					}
					if m.Duration == 0 && m.PlayFile == "" {
						// Hang up once the digits went: ~100 ms each plus
						// their end packets.
						dtmfC = time.After(time.Duration(len(m.DTMF))*250*time.Millisecond + 500*time.Millisecond)
					}
				}
				if m.Duration > 0 {
					durC = time.After(m.Duration)
				}
			case "CALL_CLOSED":
				ev.CallID, ev.Final = c.id, true
				if answered.IsZero() {
					ev.Reason = e.Param
					if n := leadCode.FindStringSubmatch(e.Param); n != nil {
						ev.StatusCode, _ = strconv.Atoi(n[1])
					} else if !hungUp {
						// No SIP status: baresip gave up itself, most often
						// because the audio source would not start.
						note = "baresip ended the call itself (" + e.Param + "): is the sound device (" + s.p.source + ") usable? " + AudioEnv + "=none uses none"
					}
				} else {
					ev.Duration = time.Since(answered)
					if e.Param == "end of file" && m.PlayFile != "" {
						note = "the play file ended"
					}
				}
				ev.Note = note
				ev.MediaProtection = protocol.MediaInClear
				if m.Encryption == protocol.MediaEncryptionOptional {
					ev.Note = strings.TrimPrefix(ev.Note+"; media in clear: SRTP needs TLS signalling, which this backend refuses", "; ")
				}
				if !answered.IsZero() {
					c.record(&ev, m, dumps)
				}
				s.restoreSource()
				c.emit(ev)
				return
			}
		case <-tickC:
			stats()
		case <-durC:
			stats()
			hangup("")
		case <-dtmfC:
			stats()
			hangup("")
		case <-ringT.C:
			hangup(fmt.Sprintf("not answered within %s", ring))
		case <-ctxDone:
			ctxDone = nil
			stats()
			hangup("hung up by the host")
		case <-closeWait:
			ev.CallID, ev.Final, ev.Note = c.id, true, "baresip did not report the end of the call within 5 s of the hang-up"
			c.emit(ev)
			return
		case err := <-c.dead:
			ev.CallID, ev.Final, ev.Note = c.id, true, err.Error()
			c.emit(ev)
			return
		case <-c.done:
			hangup("")
			return
		}
	}
}

// record moves sndfile's dump of what the peer sent to RecordFile (when
// asked) and counts its samples; the dumps are deleted either way.
func (c *call) record(ev *protocol.CallEvent, m protocol.MediaOptions, dumps int) {
	dec := c.s.p.dumpAfter(dumps)
	if dec == "" {
		return
	}
	defer os.Remove(dec)
	defer os.Remove(strings.TrimSuffix(dec, "-dec.wav") + "-enc.wav")
	if m.RecordFile == "" {
		return
	}
	data, err := os.ReadFile(dec)
	if err != nil {
		ev.Note = strings.TrimPrefix(ev.Note+"; nothing recorded: "+err.Error(), "; ")
		return
	}
	// O_EXCL: never replace a file, nor follow a link planted meanwhile.
	f, err := os.OpenFile(m.RecordFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		ev.Note = strings.TrimPrefix(ev.Note+"; nothing recorded: "+err.Error(), "; ")
		return
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		ev.Note = strings.TrimPrefix(ev.Note+"; recording incomplete: "+err.Error(), "; ")
	}
	ev.RecordedSamples = wavSamples(data)
}

// wavSamples counts the 16-bit mono samples of a WAV's data chunk.
func wavSamples(data []byte) int64 {
	for i := 12; i+8 <= len(data); {
		id, n := string(data[i:i+4]), int(binary.LittleEndian.Uint32(data[i+4:i+8]))
		if id == "data" {
			if i+8+n > len(data) {
				n = len(data) - i - 8
			}
			return int64(n / 2)
		}
		i += 8 + n + n%2
	}
	return 0
}

// silenceWAV is d of silence as 8 kHz 16-bit mono PCM.
func silenceWAV(d time.Duration) []byte {
	n := int(d.Seconds()*8000) * 2
	b := make([]byte, 44+n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	return b
}

// Hangup ends call callID (outgoing or incoming).
func (s *session) Hangup(ctx context.Context, callID string) error {
	if hasControl(callID) || strings.ContainsAny(callID, " \t") {
		return fmt.Errorf("call %q: %w", callID, protocol.ErrInvalid)
	}
	_, err := s.onCall(callID, "hangup", "")
	return err
}

// restoreSource makes the default source current again after a call that
// set its own: "ausrc" changes it for the calls that follow too, and an
// incoming call starts with whatever is current when it arrives.
func (s *session) restoreSource() {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	_, _ = s.command("ausrc", s.p.source)
}

// forget drops a call that is over from the session's tables, also when
// baresip never reported its end.
func (s *session) forget(c sink, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := c.(*call); ok && s.dialing == d {
		s.dialing = nil
	}
	if id != "" && s.calls[id] == c {
		delete(s.calls, id)
	}
}
