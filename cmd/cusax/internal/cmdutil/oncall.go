package cmdutil

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/oncall"
	"github.com/cusax/cusax/pkg/core/ownpresence"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// StartOnCall begins showing account a as on the phone for a call about
// to be placed or taken (RFC 7081 §3; see pkg/core/oncall). It returns nil
// (a Tracker that does nothing) when off is set (--no-presence) or the
// account's presence_on_call is off. The Chat aspect is opened in the
// background: this never delays the call. Notes go to stderr.
//
// listener: the command outlives its calls (answer). Its own session
// then goes back to unavailable after each call, as it was before.
//
// chat, when set, gives the command's own Chat session (answer's caller
// judge keeps one), which the tracker uses and leaves open; nil opens one
// for the tracker alone, closed at the end.
func (f *Factory) StartOnCall(a config.Account, off, listener bool, chat func() (*session.ChatSession, error)) *oncall.Tracker {
	if off || !a.Features.PresenceOnCallEnabled(a) {
		return nil
	}
	note := func(s string) { fmt.Fprintf(f.IO.ErrOut, "cusax: note: %s\n", s) }
	return oncall.Start(f.Context, func(context.Context) (oncall.Session, error) {
		open, closeIt := chat, false
		if open == nil {
			open, closeIt = func() (*session.ChatSession, error) { return f.OpenChat(a, 0) }, true
		}
		sess, err := open()
		if err != nil {
			return oncall.Session{}, err
		}
		s := oncall.Session{IMPP: sess.IMPPSession, Info: sess.Info, Own: !Borrowed(sess)}
		if closeIt {
			s.Close = sess.Shutdown
		}
		if s.Own && listener {
			s.Restore = &protocol.Presence{Type: "unavailable"}
		}
		if !s.Own {
			// A live session kept by someone else (the agent): give it back
			// the presence the user chose, else available.
			r := protocol.Presence{}
			if saved, ok, err := ownpresence.Load(a.Name); err != nil {
				note(err.Error())
			} else if ok {
				r = saved.Presence()
			}
			s.Restore = &r
		}
		return s, nil
	}, oncall.Options{Note: note})
}

// Borrowed reports whether sess is a live session kept by the agent (its
// presence outlives the command) rather than one opened for this command.
// The agent's leases are marked by pkg/core/session's Plugins.Lent (branch
// fix-agentcli); asked through an interface so that this compiles before
// and after that merge.
func Borrowed(sess *session.ChatSession) bool {
	if sess == nil || sess.Plugins == nil {
		return false
	}
	l, ok := any(sess.Plugins).(interface{ Lent(protocol.Kind) bool })
	return ok && l.Lent(protocol.KindIMPP)
}
