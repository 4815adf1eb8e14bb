package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"mellium.im/xmpp"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/ping"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// closeTimeout bounds Close when its context has no earlier deadline.
const closeTimeout = 3 * time.Second

// session is one logged-in XMPP stream. Stanzas are read by Serve in a
// goroutine for the whole life of the session: IQ responses (roster, disco,
// …) are delivered by it, every other stanza goes to inbound (which also
// answers server pings, XEP-0199), and streams and room joins are fed from
// there.
type session struct {
	s      *xmpp.Session
	conn   net.Conn // the TCP (or TLS) connection under s
	report protocol.ConnectionReport
	log    hclog.Logger

	serveDone chan struct{} // closed when Serve returned
	serveErr  error         // set before serveDone is closed

	messages  *hub[protocol.Message]
	presences *hub[protocol.Presence]
	sm        *smAcks // XEP-0198 acknowledgement of what we received
	reach     reachCache
	known     knownPresences // PresenceView
	rooms     rooms
	// rosterPushes counts the roster pushes accepted (RFC 6121 §2.1.6), so
	// that a caller holding a fetched roster knows when it changed.
	rosterPushes atomic.Uint64

	mu           sync.Mutex
	presenceSent bool // an available presence went out: say goodbye on Close
	closing      bool
	bounces      map[string]chan stanza.Error // message ID → Send waiting for an error

	closeOnce sync.Once
	closeErr  error
}

var _ protocol.IMPPSession = (*session)(nil)
var _ protocol.RosterWatcher = (*session)(nil)

// RosterChanges implements protocol.RosterWatcher.
func (ss *session) RosterChanges() (uint64, bool) { return ss.rosterPushes.Load(), true }

func newSession(s *xmpp.Session, conn net.Conn, rep protocol.ConnectionReport, log hclog.Logger, extra []mux.Option, sm *smAcks) *session {
	ss := &session{
		s: s, conn: conn, report: rep, log: log, serveDone: make(chan struct{}), sm: sm,
		messages:  newHub("message", log, messageSize),
		presences: newHub("presence", log, presenceSize),
	}
	opts := []mux.Option{
		ping.Handle(),
		mux.IQFunc(stanza.SetIQ, xml.Name{Space: roster.NS, Local: "query"}, ss.handleRosterPush),
	}
	h := inbound{ss: ss, mux: mux.New(stanza.NSClient, append(opts, extra...)...)}
	go func() {
		defer close(ss.serveDone)
		ss.serveErr = s.Serve(h)
		log.Debug("stream ended", "error", ss.serveErr)
		ss.ended()
	}()
	return ss
}

// ended runs once Serve returned: streams end (io.EOF after Close, an error
// wrapping ErrNotConnected when the server or the network ended the
// session) and pending room joins fail.
func (ss *session) ended() {
	ss.mu.Lock()
	closing := ss.closing
	ss.mu.Unlock()
	var gone, err error
	if closing {
		gone = fmt.Errorf("xmpp session %s: closed: %w", ss.report.Address, protocol.ErrNotConnected)
		err = io.EOF
	} else {
		gone = fmt.Errorf("xmpp session %s: stream ended (%v): %w", ss.report.Address, ss.serveErr, protocol.ErrNotConnected)
		err = gone
	}
	ss.messages.end(err)
	ss.presences.end(err)
	ss.rooms.failAll(gone)
}

// Report describes the connection as it was established.
func (ss *session) Report() protocol.ConnectionReport {
	r := ss.report
	r.AuthOffered = append([]string(nil), r.AuthOffered...)
	r.Notes = append([]string(nil), r.Notes...)
	if r.TLS != nil {
		t := *r.TLS
		t.Chain = append([]protocol.CertInfo(nil), t.Chain...)
		r.TLS = &t
	}
	return r
}

// alive returns ErrNotConnected once the session was closed by either side.
func (ss *session) alive() error {
	ss.mu.Lock()
	closing := ss.closing
	ss.mu.Unlock()
	if closing {
		return fmt.Errorf("xmpp session %s: closed: %w", ss.report.Address, protocol.ErrNotConnected)
	}
	select {
	case <-ss.serveDone:
		return fmt.Errorf("xmpp session %s: stream ended (%v): %w", ss.report.Address, ss.serveErr, protocol.ErrNotConnected)
	default:
		return nil
	}
}

// Close logs out: an unavailable presence if an available one was sent
// (RFC 6121 §4.5.1), then </stream:stream> (RFC 6120 §4.4), a bounded
// wait for the server to close its stream, and the connection. It is
// bounded by ctx and closeTimeout, and safe to call more than once.
func (ss *session) Close(ctx context.Context) error {
	ss.closeOnce.Do(func() { ss.closeErr = ss.close(ctx) })
	return ss.closeErr
}

func (ss *session) close(ctx context.Context) error {
	ss.mu.Lock()
	ss.closing = true
	sayGoodbye := ss.presenceSent
	ss.mu.Unlock()
	// Nobody reads the streams any more: the Serve loop must not wait for
	// them while we say goodbye.
	ss.messages.halt()
	ss.presences.halt()

	ctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	dl, _ := ctx.Deadline()
	// A server that stops reading must not block the writes below.
	_ = ss.conn.SetWriteDeadline(dl)

	var err error
	select {
	case <-ss.serveDone:
		// The server ended the stream already; nothing left to say.
	default:
		// Our last word on what we handled (XEP-0198 §4), before the
		// server decides what to do with the rest when the stream ends.
		if e := ss.sendAck(); e != nil {
			ss.log.Debug("final acknowledgement not sent", "error", e)
		}
		if sayGoodbye {
			if e := ss.s.Send(writeCtx(ctx), stanza.Presence{Type: stanza.UnavailablePresence}.Wrap(nil)); e != nil {
				ss.log.Debug("unavailable presence not sent", "error", e)
			}
		}
		ss.log.Debug("closing stream")
		if e := ss.s.Close(); e != nil && !isClosed(e) {
			err = fmt.Errorf("xmpp session %s: close stream: %w", ss.report.Address, e)
		}
		// Serve returns when the server closes its stream too; the read
		// deadline bounds that wait. (Session.SetCloseDeadline would do the
		// same but writes a field Serve reads without a lock: a data race.)
		_ = ss.conn.SetReadDeadline(dl)
		select {
		case <-ss.serveDone:
		case <-ctx.Done():
		}
	}
	if e := ss.conn.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
		err = fmt.Errorf("xmpp session %s: close connection: %w", ss.report.Address, e)
	}
	<-ss.serveDone // prompt once the connection is closed
	return err
}
