package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// What a --listen listener needs to survive an outage (issue 17): the idle
// probe that notices a silent drop, what it does on a new session, and the
// window that keeps a message delivered again from being printed twice.

// probeEvery is how long a listener stays idle before it checks the
// connection; probeTimeout how long the server has to answer. Variables
// for tests.
var (
	probeEvery   = 20 * time.Second
	probeTimeout = 10 * time.Second
)

// probe checks that the server still answers on sess (a disco#info of the
// account's domain, XEP-0030; any answer, an error stanza too, will do)
// and sends the outcome to out: nil, or an error meaning the connection
// is lost.
func probe(ctx context.Context, sess *session.ChatSession, gen int, timeout time.Duration, out chan<- received) {
	if sess.Account.XMPP == nil {
		out <- received{gen: gen}
		return
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	domain := sess.Account.XMPP.JID
	if i := strings.IndexByte(domain, '@'); i >= 0 {
		domain = domain[i+1:]
	}
	_, err := sess.DiscoInfo(pctx, bare(domain), "")
	switch {
	case ctx.Err() != nil:
		err = nil // the run ends anyway
	case pctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, protocol.ErrTimeout):
		err = fmt.Errorf("no answer from the server for %s: %w", timeout, protocol.ErrTimeout)
	case err != nil && !lost(err):
		err = nil // the server answered, if only with an error
	}
	out <- received{err: err, gen: gen}
}

// historyMargin is how far before the last sign of life a room listener
// asks the room's history from, for clocks that differ a little.
const historyMargin = 10 * time.Second

// open opens the message stream on a new session, before the room is
// joined again or presence announced, as at the start.
func (l *listening) open(sess *session.ChatSession) error {
	st, acker, err := openMessages(l.o.F.Context, sess.IMPPSession, io.Discard)
	if err != nil {
		return err
	}
	if l.stream != nil {
		l.stream.Close()
	}
	l.stream, l.acker = st, acker
	return nil
}

// announce runs setup on a new session (a room was joined again already).
func (l *listening) announce(sess *session.ChatSession) error {
	if l.setup == nil {
		return nil
	}
	return l.setup(l.o.F.Context, sess)
}

// seenWindow remembers the last seenMax messages printed, by sender and
// stanza id, so that one delivered again after a reconnect is not printed
// twice. Why it happens: cusax acknowledges a message (XEP-0198 <a/>) only
// after printing it; when the connection dies between the print and the
// server reading that <a/>, the server counts it undelivered and stores it
// offline (Prosody: mod_smacks → mod_offline), and the next session gets it
// again, with a XEP-0203 delay stamp. Only delayed messages are checked:
// a redelivery always comes from storage, and a live message that reuses
// an id is the sender's business. The key is the sender's bare JID, the
// message's XEP-0359 id (the server's stanza-id or the sender's
// origin-id) or else its 'id' attribute (kept by the server in storage;
// RFC 6120 §8.1.3), and the body, so a sender that reuses ids for
// different texts loses nothing. A
// message without id cannot be told from a new one and is printed: a rare
// duplicate rather than a loss. The window is bounded; a redelivery comes
// right after the reconnect, long before seenMax newer messages.
type seenWindow struct {
	keys  map[string]struct{}
	order []string
}

const seenMax = 4096

func seenKey(m protocol.Message) string {
	id := m.StableID // XEP-0359: kept by every server in between
	if id == "" {
		id = m.ID
	}
	if id == "" {
		return ""
	}
	return strings.ToLower(bare(m.From)) + "\x00" + id + "\x00" + m.Body
}

// again reports whether m is a delayed copy of a message printed before.
func (w *seenWindow) again(m protocol.Message) bool {
	k := seenKey(m)
	if k == "" || m.Delay.IsZero() {
		return false
	}
	_, ok := w.keys[k]
	return ok
}

// add remembers a printed message, forgetting the oldest beyond seenMax.
func (w *seenWindow) add(m protocol.Message) {
	k := seenKey(m)
	if k == "" {
		return
	}
	if w.keys == nil {
		w.keys = map[string]struct{}{}
	}
	if _, ok := w.keys[k]; ok {
		return
	}
	if len(w.order) >= seenMax {
		delete(w.keys, w.order[0])
		w.order = w.order[1:]
	}
	w.keys[k] = struct{}{}
	w.order = append(w.order, k)
}
