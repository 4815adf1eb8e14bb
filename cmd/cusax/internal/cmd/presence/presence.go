// Package presence implements `cusax presence`: set the account's XMPP
// presence (RFC 6121 §4), or show the one last set.
package presence

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/ownpresence"
	"github.com/cusax/cusax/pkg/protocol"
)

// States are the arguments the command takes (RFC 6121 §4.7.2.1 show
// values, plus available and unavailable).
var States = []string{"available", "away", "dnd", "xa", "unavailable"}

// maxStatus bounds --status (characters).
const maxStatus = 1024

// Options are the parsed flags.
type Options struct {
	F       *cmdutil.Factory
	Account string
	// State is the argument ("" shows the presence last set).
	State  string
	Status string
	JSON   bool
	Hold   bool
}

// Result is what the command prints.
type Result struct {
	Account string `json:"account"`
	State   string `json:"state"`
	Status  string `json:"status,omitempty"`
	// Known: false when no presence was set with cusax for the account
	// (State is then "unknown").
	Known bool       `json:"known"`
	Set   *time.Time `json:"set_at,omitempty"`
	// Lasts says how long a presence just set lasts: "agent" (the agent's
	// session keeps it), "command" (this command's own session: it ends
	// when the command does) or "hold" (--hold: until Ctrl-C).
	Lasts string `json:"lasts,omitempty"`
}

// NewCmdPresence builds the command.
func NewCmdPresence(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "presence [available|away|dnd|xa|unavailable]",
		Short: "Set the account's presence, or show the one last set",
		Long: `Set the presence of the account's Chat (XMPP) aspect (RFC 6121 §4): available,
away, dnd (do not disturb), xa (extended away) or unavailable, with an
optional --status text. Contacts subscribed to the account's presence see it.

A presence lasts as long as the session that sent it. With 'cusax agent'
running for the account, it is the agent's session: the presence stays until
changed. Without an agent, cusax logs in for this command alone, so the
presence ends (contacts see unavailable) when the command exits; it says so
on stderr. --hold keeps that session, and the presence, until Ctrl-C (exit
130). Such a session of its own has priority -1, so the server neither hands
it the messages stored for you nor routes new ones to it (RFC 6121
§8.5.2.1.1): setting a presence never swallows chat.

The presence set is remembered (under $XDG_STATE_HOME/cusax/presence): with
no argument the command prints it, or "unknown" when none was set. A call
(cusax call, cusax answer) shows dnd "on the phone" while it is up and then
returns to it.`,
		Example: `  $ cusax presence dnd --status "writing"
  $ cusax presence away --hold
  $ cusax presence --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.Usagef("presence takes at most one state: %s", strings.Join(States, ", "))
			}
			return nil
		},
		ValidArgs: States,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.State = args[0]
			}
			if err := o.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return run(o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Account, "account", "", "account to use (default: the default account)")
	fl.StringVar(&o.Status, "status", "", "status text shown with the presence")
	fl.BoolVar(&o.JSON, "json", false, "print JSON")
	fl.BoolVar(&o.Hold, "hold", false, "without an agent: keep the presence until Ctrl-C")
	f.CompleteAccountFlag(cmd, "account")
	return cmd
}

func (o *Options) validate(cmd *cobra.Command) error {
	switch {
	case o.State != "" && !slices.Contains(States, o.State):
		return cmdutil.Usagef("presence %q: want one of %s", o.State, strings.Join(States, ", "))
	case o.State == "" && (cmd.Flags().Changed("status") || o.Hold):
		return cmdutil.Usagef("--status and --hold go with a state, e.g. 'cusax presence away --status lunch'")
	case o.State == "unavailable" && o.Hold:
		return cmdutil.Usagef("--hold keeps a presence up; unavailable needs no session")
	case !utf8.ValidString(o.Status) || strings.ContainsFunc(o.Status, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return cmdutil.Usagef("--status: text without control characters, in UTF-8")
	case utf8.RuneCountInString(o.Status) > maxStatus:
		return cmdutil.Usagef("--status: %d characters, at most %d", utf8.RuneCountInString(o.Status), maxStatus)
	}
	return nil
}

func run(o *Options) error {
	f := o.F
	acct, err := f.Account(o.Account)
	if err != nil {
		return err
	}
	if acct.XMPP == nil {
		return cmdutil.Usagef("account %s has no Chat (XMPP) aspect: presence is an XMPP feature", acct.Name)
	}
	if o.State == "" {
		return show(o, acct.Name)
	}
	saved := ownpresence.Saved{Account: acct.Name, State: o.State, Status: o.Status, Set: time.Now().UTC()}
	p := saved.Presence()
	sess, err := f.OpenChat(acct, 0)
	if err != nil {
		return err
	}
	defer sess.Shutdown()
	if !sess.Info.Has(protocol.CapPresence) {
		return fmt.Errorf("presence: the chat backend %q of account %s cannot set presence: %w", sess.Info.Name, acct.Name, protocol.ErrUnsupported)
	}
	own := !cmdutil.Borrowed(sess)
	if own && p.Type == "" {
		// RFC 6121 §8.5.2.1.1: a negative priority keeps offline messages
		// stored and bare-JID messages away from a session nobody reads.
		p.Priority = -1
	}
	if err := sess.SetPresence(f.Context, p); err != nil {
		if errors.Is(err, protocol.ErrInvalid) {
			return cmdutil.Usagef("presence: %v", err)
		}
		return fmt.Errorf("presence: %w", err)
	}
	if err := ownpresence.Save(saved); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "cusax: warning: the presence was set but not remembered: %v\n", err)
	}
	res := Result{Account: acct.Name, State: saved.State, Status: saved.Status, Known: true, Set: &saved.Set, Lasts: "agent"}
	if own {
		res.Lasts = "command"
		if o.Hold {
			res.Lasts = "hold"
		}
	}
	if err := printResult(o, res); err != nil {
		return err
	}
	switch {
	case !own, p.Type == "unavailable":
		return nil
	case o.Hold:
		fmt.Fprintln(f.IO.ErrOut, "cusax: presence held; Ctrl-C ends it (contacts then see unavailable)")
		<-f.Context.Done()
		return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
	}
	fmt.Fprintln(f.IO.ErrOut, "cusax: note: no agent keeps this account connected: the presence ends with this command (contacts see unavailable)")
	fmt.Fprintln(f.IO.ErrOut, "cusax: hint: cusax agent start (keeps it), or --hold (until Ctrl-C)")
	return nil
}

func show(o *Options, account string) error {
	s, ok, err := ownpresence.Load(account)
	if err != nil {
		return err
	}
	res := Result{Account: account, State: "unknown"}
	if ok {
		res = Result{Account: account, State: s.State, Status: s.Status, Known: true, Set: &s.Set}
	}
	return printResult(o, res)
}

func printResult(o *Options, r Result) error {
	if o.JSON {
		return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("presence"), r)
	}
	line := r.State
	if r.Status != "" {
		line += "\t" + cmdutil.TermSafe(r.Status)
	}
	_, err := fmt.Fprintln(o.F.IO.Out, line)
	return err
}
