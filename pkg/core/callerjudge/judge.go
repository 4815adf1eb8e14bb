// Package callerjudge judges SIP callers against an account's roster and
// vCards (RFC 7081 §3.5, RFC 6993 §4), with what that needs fetched on
// first use and kept for the run: `cusax whois-caller` and `cusax answer`
// both judge through it, so they give the same verdicts.
package callerjudge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/core/addressbook"
	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/callerid/numbers"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/vcardcache"
	"github.com/cusax/cusax/pkg/protocol"
)

// Options configure a Judge.
type Options struct {
	// Account names the account (the vCard cache is per account).
	Account string
	// JID is the account's own JID: its domain turns on the §5 cues.
	JID string
	// Region converts national numbers to E.164 (cusax-numbers); "" off.
	Region string
	// TTL and Refresh govern the vCard cache (vcardcache.Open).
	TTL     time.Duration
	Refresh bool
	// Chat logs into the account's XMPP aspect; called once, when a call
	// first needs the roster, and again when that session's connection
	// was lost (WithChat). Its error is returned as is.
	Chat func() (*session.ChatSession, error)
	// Warn receives one-line warnings (stderr); nil discards them.
	Warn io.Writer
}

// Judge holds what judging calls needs, fetched on first use: an anonymous
// caller needs nothing, a hinted one one vCard (none when cached), and
// only a call without a hint the whole roster's vCards, indexed once.
// It is safe for concurrent use; calls are judged one at a time.
type Judge struct {
	o     Options
	mu    sync.Mutex
	sess  *session.ChatSession
	cache *vcardcache.Cache
	index *callerid.Index

	// National numbers are converted to E.164 by cusax-numbers, in one
	// run per batch of new numbers; table keeps the answers (the index
	// holds the same map, so it sees new ones).
	table  numbers.Table
	warned bool
}

// New returns a Judge; it opens nothing until a call needs it.
func New(o Options) *Judge {
	if o.Warn == nil {
		o.Warn = io.Discard
	}
	return &Judge{o: o, table: numbers.Table{}}
}

// Outcome is one judgement.
type Outcome struct {
	callerid.Result
	// NumbersUnresolved: national numbers were compared as written, so an
	// "unknown" may be a contact whose number is written nationally.
	NumbersUnresolved bool
}

// Close logs out of the chat session, if one was opened.
func (j *Judge) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sess != nil {
		j.sess.Shutdown()
		j.sess = nil
	}
}

// Chat returns the account's chat session, logging in once; commands that
// also send messages (whois-caller --chat, answer --notify) share it.
func (j *Judge) Chat() (*session.ChatSession, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.chat()
}

func (j *Judge) chat() (*session.ChatSession, error) {
	if j.sess != nil {
		return j.sess, nil
	}
	sess, err := j.o.Chat()
	if err != nil {
		return nil, err
	}
	j.sess = sess
	if root, err := vcardcache.Dir(); err == nil {
		j.cache = vcardcache.Open(root, j.o.Account, j.o.TTL)
	}
	return sess, nil
}

// norm is the number normaliser judgements use.
func (j *Judge) norm() callerid.NumberNormalizer {
	if j.o.Region == "" {
		return callerid.GlobalOnly
	}
	return j.table
}

// prepare converts the national numbers the call and entries will need
// (RFC 3966 local numbers compared as E.164 in the user's region); it
// reports whether some could not be.
func (j *Judge) prepare(ctx context.Context, call callerid.Call, entries []callerid.Entry) (unresolved bool) {
	if j.o.Region == "" {
		return false
	}
	rec := &numbers.Recorder{}
	for _, a := range append([]string{call.Caller}, call.Asserted...) {
		callerid.CallerKey(a, rec)
	}
	callerid.NewIndex(entries, rec)
	var todo []string
	for _, n := range rec.Numbers() {
		if _, done := j.table[n]; !done {
			todo = append(todo, n)
		}
	}
	if len(todo) == 0 {
		return false
	}
	program, err := numbers.Find()
	if err == nil {
		var t numbers.Table
		if t, err = numbers.Convert(ctx, program, j.o.Region, todo); err == nil {
			for _, n := range todo {
				j.table[n] = t[n] // "" marks a number that has no E.164 form
			}
			return false
		}
	}
	// Said once per run, and on every verdict in --json: a release
	// without cusax-numbers must not look like a caller nobody knows.
	if !j.warned {
		j.warned = true
		fmt.Fprintf(j.o.Warn, "cusax: warning: national numbers are not resolved: %v\n", err)
	}
	return true
}

// lostConn reports an error that says the chat connection is gone (the
// XMPP server restarted, the network dropped), which logging in again may
// cure, unlike a refusal.
func lostConn(err error) bool {
	return errors.Is(err, protocol.ErrNotConnected) || errors.Is(err, protocol.ErrUnreachable) || errors.Is(err, protocol.ErrTimeout)
}

// WithChat runs f on the account's chat session. A long-running listener
// keeps that session for hours: when f finds its connection lost, the
// session is dropped, logged in again once (said on Warn) and f runs
// again; an error then is returned as is, and the next call tries again.
// f runs without the Judge's lock (a slow send does not hold up judging
// the next call); logging in again takes it.
func (j *Judge) WithChat(f func(*session.ChatSession) error) error {
	j.mu.Lock()
	sess, err := j.chat()
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if err = f(sess); err == nil || !lostConn(err) {
		return err
	}
	j.mu.Lock()
	sess, err = j.again(sess, err)
	j.mu.Unlock()
	if err != nil {
		return err
	}
	return f(sess)
}

// withChat is WithChat with j.mu held throughout (judging).
func (j *Judge) withChat(f func(*session.ChatSession) error) error {
	sess, err := j.chat()
	if err != nil {
		return err
	}
	if err = f(sess); err == nil || !lostConn(err) {
		return err
	}
	if sess, err = j.again(sess, err); err != nil {
		return err
	}
	return f(sess)
}

// again drops sess, whose connection was lost (why), and logs in again,
// unless another caller did already. j.mu is held.
func (j *Judge) again(sess *session.ChatSession, why error) (*session.ChatSession, error) {
	if j.sess == sess {
		fmt.Fprintf(j.o.Warn, "cusax: chat connection of %s lost (%v); logging in again\n", j.o.JID, why)
		sess.Shutdown()
		j.sess = nil
	}
	return j.chat()
}

// contacts fetches roster entries with their vCards: only the given JIDs,
// or all of them when only is nil.
func (j *Judge) contacts(ctx context.Context, only []string) ([]callerid.Entry, error) {
	d, _ := address.DomainOf(j.o.JID)
	var list []addressbook.Contact
	err := j.withChat(func(sess *session.ChatSession) error {
		var err error
		list, err = addressbook.Build(ctx, sess, sess.Info, addressbook.Options{
			AccountDomain: d, Cache: j.cache, Refresh: j.o.Refresh, Only: only,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	out := make([]callerid.Entry, 0, len(list))
	for _, c := range list {
		if c.VCardError != "" {
			fmt.Fprintf(j.o.Warn, "cusax: warning: vCard of %s: %s\n", c.JID, c.VCardError)
		}
		out = append(out, callerid.Entry{JID: c.JID, Name: c.Name, Card: c.Card})
	}
	return out, nil
}

// Judge decides one call. RFC 7081 §3.5: with a hint, only the hinted
// contacts' vCards are consulted (no roster walk); without one, the index
// of every contact's TELs, built once per run. An anonymous caller needs
// no roster at all.
func (j *Judge) Judge(ctx context.Context, call callerid.Call) (Outcome, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	none := func(string) (callerid.Entry, bool) { return callerid.Entry{}, false }
	if call.Anonymous {
		empty := callerid.NewIndex(nil, callerid.GlobalOnly)
		return Outcome{Result: callerid.Judge(call, empty, none)}, nil
	}
	if len(call.Hints) > 0 {
		entries, err := j.contacts(ctx, call.Hints)
		if err != nil {
			return Outcome{}, err
		}
		unresolved := j.prepare(ctx, call, entries)
		empty := callerid.NewIndex(nil, j.norm())
		return Outcome{Result: callerid.Judge(call, empty, HintLookup(entries)), NumbersUnresolved: unresolved}, nil
	}
	var unresolved bool
	if j.index == nil {
		entries, err := j.contacts(ctx, nil)
		if err != nil {
			return Outcome{}, err
		}
		unresolved = j.prepare(ctx, call, entries)
		j.index = callerid.NewIndex(entries, j.norm())
	} else {
		unresolved = j.prepare(ctx, call, nil) // the caller's number only; the map is shared
	}
	return Outcome{Result: callerid.Judge(call, j.index, none), NumbersUnresolved: unresolved}, nil
}

// HintLookup finds a hinted contact among entries. JIDs are compared with
// address.BareKey: the hint's domain may be spelt in another case or IDN
// form than the roster's (issue 14); strings.ToLower alone missed
// bob@BÜCHER.example against bob@xn--bcher-kva.example.
func HintLookup(entries []callerid.Entry) func(string) (callerid.Entry, bool) {
	byJID := map[string]callerid.Entry{}
	for _, e := range entries {
		byJID[address.BareKey(e.JID)] = e
	}
	return func(jid string) (callerid.Entry, bool) {
		e, ok := byJID[address.BareKey(jid)]
		return e, ok
	}
}
