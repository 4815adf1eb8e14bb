package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// A long-running sender (`tail -f app.log | cusax chat ops --lines`) must
// survive a dropped connection or a server restart: it logs in again and
// sends the line that failed again, saying so on stderr, until
// --give-up-after. Send returns only once the server handled the message
// (plugins/xmpp Send: a ping round trip after it), so a line whose Send
// failed may or may not have reached the server: sending it again is
// at-least-once (a rare duplicate), never a silent loss.

// Backoff between attempts to log in again: 0.25–0.5 s, doubling (the
// shape of RFC 5626 §4.5, as the SIP listener uses) up to 4–8 s, so that
// a client is back within 10 s of the server however long it was away.
const (
	reconnectFirst = 500 * time.Millisecond
	reconnectMax   = 8 * time.Second
)

// reconnector holds the chat session of a --lines sender or a --listen
// listener and replaces it when the connection is lost.
type reconnector struct {
	sess    *session.ChatSession
	open    func() (*session.ChatSession, error) // logs in again
	rejoin  *protocol.RoomJoin                   // the room to join again, if any
	giveUp  time.Duration                        // 0: never
	errOut  io.Writer
	sleep   func(context.Context, time.Duration) error
	account string
}

// lost reports whether err means the connection is gone (or the server is
// not there), as opposed to a refusal of this message or of the account,
// which logging in again would not cure.
func lost(err error) bool {
	return errors.Is(err, protocol.ErrNotConnected) || errors.Is(err, protocol.ErrUnreachable) || errors.Is(err, protocol.ErrTimeout)
}

// send sends with send(sess, body); when the connection is lost it logs in
// again with backoff and sends body again, until it went or giveUp passed.
func (r *reconnector) send(ctx context.Context, body string, send func(*session.ChatSession, string) error) error {
	err := send(r.sess, body)
	if err == nil || !lost(err) || ctx.Err() != nil {
		return err
	}
	took, err := r.reconnect(ctx, err, nil, func(s *session.ChatSession) error { return send(s, body) })
	if err != nil {
		return err
	}
	fmt.Fprintf(r.errOut, "cusax: chat: logged in again after %.1f s; the line that failed was sent again\n", took.Seconds())
	return nil
}

// reconnect is what a long-running mode (a --lines sender, a --listen
// listener) does once err said the connection is lost: it says so, then
// logs in again with backoff and jitter until a new session works, giveUp
// passed, or ctx ended. On the new session, before runs first (a listener
// opens its message stream there, so nothing the server sends on join or
// initial presence is missed), then the room is joined again, then use
// runs (send the line again; announce presence). A lost connection in
// before or use counts as one more failed attempt. It returns how long the
// connection was gone; r.sess is the new session.
func (r *reconnector) reconnect(ctx context.Context, err error, before, use func(*session.ChatSession) error) (time.Duration, error) {
	since := time.Now()
	fmt.Fprintf(r.errOut, "cusax: chat: connection of %s lost (%v); logging in again\n", r.account, err)
	wait := reconnectFirst
	for attempt := 1; ; attempt++ {
		if r.giveUp > 0 && time.Since(since) >= r.giveUp {
			return 0, fmt.Errorf("connection lost %s ago and not restored; giving up (--give-up-after %s): %w",
				time.Since(since).Round(100*time.Millisecond), r.giveUp, err)
		}
		// Jitter spreads many clients of one restarted server.
		d := wait/2 + rand.N(wait/2+1)
		if r.giveUp > 0 {
			d = min(d, r.giveUp-time.Since(since))
		}
		if serr := r.sleep(ctx, d); serr != nil {
			return 0, serr
		}
		wait = min(2*wait, reconnectMax)
		r.sess.Shutdown()
		sess, oerr := r.open()
		if oerr == nil && before != nil {
			if oerr = before(sess); oerr != nil {
				sess.Shutdown()
			}
		}
		if oerr == nil && r.rejoin != nil {
			if _, jerr := sess.JoinRoom(ctx, *r.rejoin); jerr != nil {
				sess.Shutdown()
				oerr = fmt.Errorf("join %s: %w", r.rejoin.Room, jerr)
			}
		}
		if oerr != nil {
			if !lost(oerr) || ctx.Err() != nil {
				return 0, oerr // refused credentials or TLS: no retry cures that
			}
			err = oerr
			fmt.Fprintf(r.errOut, "cusax: chat: logging in again failed (%v); attempt %d\n", oerr, attempt)
			continue
		}
		r.sess = sess
		if err = use(sess); err == nil {
			return time.Since(since), nil
		}
		if !lost(err) || ctx.Err() != nil {
			return 0, err
		}
		fmt.Fprintf(r.errOut, "cusax: chat: connection lost again (%v); attempt %d\n", err, attempt)
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
