package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// defaultRequestTimeout bounds a request (IQ, room join) whose context has
// no deadline: a server that never answers must not block a caller forever.
const defaultRequestTimeout = 30 * time.Second

// withDefaultTimeout applies defaultRequestTimeout to a ctx without deadline.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultRequestTimeout)
}

// iqError is an IQ of type "error" (RFC 6120 §8.3). It wraps the sentinel
// stanzaError chose for its condition; errors.As gives the condition.
type iqError struct {
	se  stanza.Error
	app string // application-specific condition (RFC 6120 §8.3.2), e.g. XEP-0060's
	err error  // stanzaError(se)
}

func (e *iqError) Error() string { return e.err.Error() }
func (e *iqError) Unwrap() error { return e.err }

// condition returns the stanza error condition err carries, or "".
func condition(err error) stanza.Condition {
	var ie *iqError
	if errors.As(err, &ie) {
		return ie.se.Condition
	}
	return ""
}

// sendIQ sends an IQ get or set with payload to to (zero: the account
// itself) and returns the whole response IQ, read into memory with at most
// budget bytes. The read happens while mellium's Serve loop waits for it,
// so it is done in a goroutine and abandoned when ctx ends or the session
// ends: a server that stops in the middle of a response blocks nothing but
// that goroutine (which ends with the connection).
//
// Errors: an *iqError for type "error"; errTooLarge (wrapped) when the
// response exceeded budget; ErrTimeout, ErrNotConnected or ErrProtocol.
func (ss *session) sendIQ(ctx context.Context, typ stanza.IQType, to jid.JID, payload xml.TokenReader, budget int) (*elem, error) {
	if err := ss.alive(); err != nil {
		return nil, err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel() // also ends a SendIQElement still waiting below
	type result struct {
		e         *elem
		truncated bool
		err       error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := ss.s.SendIQElement(writeCtx(ctx), payload, stanza.IQ{Type: typ, To: to})
		if err != nil {
			done <- result{err: err}
			return
		}
		// mellium hands the answer to us, not to our handler: count it
		// here for XEP-0198 (see smAcks).
		ss.sm.counted()
		defer resp.Close() // lets Serve go on
		tok, err := resp.Token()
		if err != nil {
			done <- result{err: err}
			return
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			done <- result{err: fmt.Errorf("IQ response starts with %T: %w", tok, protocol.ErrProtocol)}
			return
		}
		e, truncated, err := readElem(resp, start, budget)
		done <- result{e, truncated, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, ss.requestError(ctx, ctx.Err())
	case <-ss.serveDone:
		// mellium would wait for the answer until ctx ends.
		return nil, ss.alive()
	}
	if r.err != nil {
		return nil, ss.requestError(ctx, r.err)
	}
	if r.truncated {
		return nil, fmt.Errorf("IQ response over %d bytes: %w: %w", budget, errTooLarge, protocol.ErrProtocol)
	}
	switch stanza.IQType(r.e.attr("type")) {
	case stanza.ResultIQ:
		return r.e, nil
	case stanza.ErrorIQ:
		ee := r.e.child("", "error")
		se := parseStanzaError(ee)
		ie := &iqError{se: se, err: stanzaError(se)}
		for _, c := range ee.children() {
			if c.Name.Space != stanza.NSError {
				ie.app = truncateText(c.Name.Local, 64)
				break
			}
		}
		return nil, ie
	}
	return nil, fmt.Errorf("IQ response of type %q: %w", r.e.attr("type"), protocol.ErrProtocol)
}

// requestError classifies the error of a request: the session's end, the
// ctx's end (ErrTimeout for a deadline), or a protocol error.
func (ss *session) requestError(ctx context.Context, err error) error {
	if e := ss.alive(); e != nil {
		return e
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("no answer from the server: %w: %w", cerr, protocol.ErrTimeout)
		}
		return cerr
	}
	if isClosed(err) {
		return fmt.Errorf("%w: %w", err, protocol.ErrNotConnected)
	}
	if protocol.SentinelName(err) != "" {
		return err
	}
	return fmt.Errorf("%w: %w", err, protocol.ErrProtocol)
}

// parseStanzaError reads an <error/> child (RFC 6120 §8.3.2) leniently:
// unlike stanza.Error.UnmarshalXML it does not fail on a malformed 'by'.
func parseStanzaError(e *elem) stanza.Error {
	se := stanza.Error{Condition: stanza.UndefinedCondition}
	if e == nil {
		return se
	}
	se.Type = stanza.ErrorType(e.attr("type"))
	found := false
	for _, c := range e.Children {
		if c.Name.Space != stanza.NSError {
			continue
		}
		if c.Name.Local == "text" {
			if t := strings.TrimSpace(c.Text()); t != "" {
				if se.Text == nil {
					se.Text = map[string]string{}
				}
				se.Text[c.langAttr()] = truncateText(t, 512)
			}
			continue
		}
		if !found {
			se.Condition = stanza.Condition(truncateText(c.Name.Local, 64))
			found = true
		}
	}
	return se
}

// truncateText cuts s to at most n bytes at a rune boundary, marking the
// cut with "…".
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:cutUTF8(s, n)] + "…"
}
