package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"github.com/cusax/cusax/pkg/protocol"
)

// nsSM is XEP-0198 stream management, version 3.
const nsSM = "urn:xmpp:sm:3"

// noteNoSM is the report note of a server without stream management.
const noteNoSM = "no stream management (XEP-0198): messages received but not yet shown are lost if cusax dies"

// smAcks is the client half of XEP-0198 stream management, without
// resumption: we only acknowledge what we received, so that the server
// knows which stanzas we handled. With no resumption, Prosody treats every
// message we did not acknowledge when the session ends (closed, or the TCP
// connection dropped) as undelivered: chat and normal messages go to
// offline storage when it was the user's last session (mod_smacks
// handle_unacked_stanzas → delivery/failure), and the next session gets
// them with its initial presence (RFC 6121 §8.5.2.1.1 via mod_offline).
//
// XEP-0198 §4: 'h' counts the stanzas received since <enabled/>, in order:
// it may only cover stanza n once stanzas 1..n were all handled. Every
// stanza gets its position on arrival (arrive) and is handled (done) as
// soon as it was processed, except a message given to an acknowledged
// stream or a message nobody took: that one waits for the consumer's
// AckMessage, so 'h' stops before it.
//
// IQ answers to our own requests are delivered by mellium to the waiting
// request without passing our handler; they are counted when the request
// gets them (sendIQ, Roster), a little later than their real position.
// Counting a stanza late only ever lowers 'h' (some message might be
// redelivered twice), never raises it past a message not handled.
type smAcks struct {
	enabled bool // <enabled/> received before Serve started; read-only after

	mu      sync.Mutex
	count   uint64              // stanzas received since <enabled/>
	low     uint64              // lowest position that may still be pending (h+1)
	pending map[uint64]struct{} // positions not handled yet
	sendMu  sync.Mutex          // held while an <a/> is computed and written
	sentH   uint64              // the last h we sent in an <a/> (under sendMu)
}

func newSMAcks(enabled bool) *smAcks {
	return &smAcks{enabled: enabled, low: 1, pending: map[uint64]struct{}{}}
}

// arrive counts one received stanza and returns its position, pending
// until done.
func (m *smAcks) arrive() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count++
	m.pending[m.count] = struct{}{}
	return m.count
}

// done marks the stanza at pos handled; it reports whether h moved on.
func (m *smAcks) done(pos uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pending[pos]; !ok {
		return false
	}
	delete(m.pending, pos)
	before := m.low
	for m.low <= m.count {
		if _, ok := m.pending[m.low]; ok {
			break
		}
		m.low++
	}
	return m.low != before
}

// counted is arrive and done at once: a stanza processed on arrival.
func (m *smAcks) counted() { m.done(m.arrive()) }

// h is the number of stanzas handled in order (XEP-0198 §4).
func (m *smAcks) h() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.low - 1
}

// smAnswer is <a xmlns='urn:xmpp:sm:3' h='N'/> (XEP-0198 §4).
func smAnswer(h uint64) xml.TokenReader {
	return xmlstream.Wrap(nil, xml.StartElement{
		Name: xml.Name{Space: nsSM, Local: "a"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "h"}, Value: strconv.FormatUint(h, 10)}},
	})
}

// smWriteTimeout bounds the write of one <a/>.
const smWriteTimeout = 10 * time.Second

// handleSM answers the server's <r/> with our h (XEP-0198 §4: the
// receiving entity MUST answer a request). Other SM elements (<a/> for
// requests we never send) are ignored.
func (ss *session) handleSM(start *xml.StartElement) error {
	if start.Name.Local != "r" || !ss.sm.enabled {
		return nil
	}
	return ss.writeAck(true)
}

// sendAck tells the server our h without being asked, when it moved on
// (XEP-0198 §4 allows an <a/> at any time): the server cannot learn it
// otherwise, since Prosody asks again only when it sends something new.
func (ss *session) sendAck() error {
	if !ss.sm.enabled {
		return nil
	}
	return ss.writeAck(false)
}

// writeAck sends <a h='…'/>, always or only when h moved on since the last
// one. h is read and written under one lock: answers from the Serve loop
// and acknowledgements from consumers must reach the server in order, or
// it sees h go back and ends the stream (Prosody: "Client acknowledged
// less stanzas than already acknowledged").
func (ss *session) writeAck(always bool) error {
	m := ss.sm
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	h := m.h()
	if !always && h == m.sentH {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), smWriteTimeout)
	defer cancel()
	if err := ss.s.Send(writeCtx(ctx), smAnswer(h)); err != nil {
		return fmt.Errorf("xmpp acknowledge: %w", ss.ioError(err))
	}
	m.sentH = h
	return nil
}

// AckMessage acknowledges a message of an AckedMessages stream: the
// consumer took it. h moves on over it (and whatever was waiting only for
// it) and the server is told.
func (ss *session) AckMessage(ctx context.Context, seq uint64) error {
	if !ss.sm.enabled || seq == 0 {
		return nil
	}
	if !ss.sm.done(seq) {
		return nil
	}
	if err := ss.alive(); err != nil {
		return err
	}
	return ss.sendAck()
}

// AckedMessages is Messages whose messages count as handled (XEP-0198)
// only once AckMessage was called with their Seq. ErrUnsupported when the
// server did not enable stream management.
func (ss *session) AckedMessages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	if !ss.sm.enabled {
		return nil, fmt.Errorf("xmpp session %s: acknowledged messages need stream management (XEP-0198), which the server did not enable: %w", ss.report.Address, protocol.ErrUnsupported)
	}
	if err := ss.alive(); err != nil {
		return nil, err
	}
	return ss.messages.subscribe(ctx, true)
}

var _ protocol.AckedMessages = (*session)(nil)

// enableSM asks for stream management after resource binding (XEP-0198
// §3: <enable/> without resume='true': we never resume, the point is the
// server's handling of what we did not acknowledge). It runs during
// negotiation, before Serve, so it reads the answer itself. It reports
// whether the server enabled it; <failed/> is not an error.
func (a *attempt) enableSM(s *xmpp.Session) (bool, error) {
	if _, ok := s.Feature(nsSM); !ok {
		return false, nil
	}
	w := s.TokenWriter()
	defer w.Close()
	if _, err := xmlstream.Copy(w, xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsSM, Local: "enable"}})); err != nil {
		return false, err
	}
	if err := w.Flush(); err != nil {
		return false, err
	}
	r := s.TokenReader()
	defer r.Close()
	d := xml.NewTokenDecoder(r)
	start, err := nextStart(d)
	if err != nil {
		return false, err
	}
	if err := d.Skip(); err != nil {
		return false, err
	}
	switch {
	case start.Name.Space == nsSM && start.Name.Local == "enabled":
		return true, nil
	case start.Name.Space == nsSM && start.Name.Local == "failed":
		a.log.Debug("stream management refused by the server")
		return false, nil
	}
	return false, fmt.Errorf("stream management: got <%s/>, want <enabled/> or <failed/>: %w", start.Name.Local, protocol.ErrProtocol)
}
