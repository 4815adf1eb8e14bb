// Package chat implements `cusax chat`: send a message to a contact or a
// room, listen for messages, or chat interactively on a terminal. RFC 7081
// strategy 2: messaging goes over XMPP.
package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Account           string
	Contact           string
	Message           string
	HasMessage        bool
	Lines             bool
	Room              string
	Nick              string
	RoomPasswordStdin bool
	Listen            bool
	// ListenFor is --listen-for (formerly --timeout, kept as a deprecated
	// alias: elsewhere --timeout bounds a network wait).
	ListenFor time.Duration
	Count     int
	// IncludeDelayed makes --count count delayed messages (XEP-0203:
	// offline storage, room history) too.
	IncludeDelayed bool
	GiveUpAfter    time.Duration
	// ProbeEvery (hidden; tests) replaces the idle listener's probe
	// interval, with half of it for the answer.
	ProbeEvery time.Duration
	Info       bool
	JSON       bool

	deprecatedTimeout time.Duration
}

// NewCmdChat builds the command.
func NewCmdChat(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "chat [CONTACT] [MESSAGE...]",
		Short: "Send or receive chat messages (XMPP)",
		Long: `Send a message to a contact, or to a multi-user chat room with --room.

CONTACT is a JID, an xmpp: URI, or a roster name (exact, else a unique
case-insensitive prefix). The message comes from the arguments, else from
stdin when it is not a terminal (all of it as one message; with --lines, each
line as it arrives). A message is at most 252 KiB; a longer one, or text
that is not UTF-8, is refused before anything of it is sent (exit 2).

With --listen, incoming messages are printed until interrupted, --listen-for
or --count. The server counts a message delivered only once cusax printed it
(XEP-0198 stream management): what cusax never printed (killed, --count
reached) goes to the next listener. A dropped connection or a server
restart is survived: cusax logs in again (said on stderr), joins the room
again, and prints what the server stored meanwhile, each message once and
marked delayed ("delayed": true with the server's "delay" time in --json),
until --give-up-after; then it exits 7. --count and --listen-for count over
the whole run. Messages the server kept for later (offline storage, room
history; XEP-0203 delay) are printed marked delayed but do not count
towards --count unless --include-delayed: --count 1 waits for one new
message, not the first stored one. --timeout is the old name of
--listen-for (deprecated: elsewhere --timeout bounds a network wait).

With --lines, a dropped connection is restored: cusax logs in again and
sends the line that failed again (said on stderr), until --give-up-after;
then it exits 7 naming the line that was not sent.

On a terminal with no message, cusax chats interactively. A recipient outside
the roster is allowed, with a note.

IM over SIP (RFC 7081 §2): for an account with im_over_sip = true, or with
SIP and no XMPP, chat goes over SIP MESSAGE (RFC 3428, the sipmessage
backend) with the SIP address and password: CONTACT is a SIP address
(sip:bob@example.com or bob@example.com), a message is at most 1300 bytes
on the wire, and a listener that is not running makes the sender's chat fail
with 480 (exit 7); rooms and --info exit 17 (docs/sipmessage-backend.md).`,
		Example: `  $ cusax chat bob "the build is green"
  $ echo done | cusax chat bob
  $ tail -f app.log | cusax chat ops --lines
  $ cusax chat --room dev@conference.example.com "deploying"
  $ cusax chat --listen --json --count 1
  $ cusax chat --listen --listen-for 10m
  $ cusax chat --room dev@conference.example.com --info
  $ cusax chat --account sipper sip:bob@example.com "over SIP MESSAGE"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Room == "" && len(args) > 0 {
				o.Contact, args = args[0], args[1:]
			}
			if len(args) > 0 {
				o.Message, o.HasMessage = strings.Join(args, " "), true
			}
			if cmd.Flags().Changed("timeout") {
				if cmd.Flags().Changed("listen-for") {
					return cmdutil.Usagef("--timeout is the old name of --listen-for: give one of them")
				}
				o.ListenFor = o.deprecatedTimeout
				fmt.Fprintln(o.F.IO.ErrOut, "cusax: warning: chat --timeout is deprecated: use --listen-for (the listening time; elsewhere --timeout bounds a network wait)")
			}
			if err := o.validate(); err != nil {
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
	fl.BoolVar(&o.Lines, "lines", false, "send each line of stdin as a message, as it arrives")
	fl.StringVar(&o.Room, "room", "", "multi-user chat room JID (XEP-0045)")
	fl.StringVar(&o.Nick, "nick", "", "nickname in the room (default: your JID's local part)")
	fl.BoolVar(&o.RoomPasswordStdin, "room-password-stdin", false, "read the room password from the first line of stdin")
	fl.BoolVar(&o.Listen, "listen", false, "print incoming messages")
	fl.DurationVar(&o.ListenFor, "listen-for", 0, "with --listen: stop after listening this long (e.g. 30s)")
	fl.DurationVar(&o.deprecatedTimeout, "timeout", 0, "deprecated: --listen-for")
	_ = fl.MarkHidden("timeout")
	fl.IntVar(&o.Count, "count", 0, "with --listen: stop after this many new messages (delayed ones count with --include-delayed)")
	fl.BoolVar(&o.IncludeDelayed, "include-delayed", false, "with --listen --count: count delayed messages (offline storage, room history) too")
	fl.DurationVar(&o.GiveUpAfter, "give-up-after", 5*time.Minute, "with --lines or --listen: when the connection drops, keep logging in again this long, then exit 7 (0: never)")
	fl.DurationVar(&o.ProbeEvery, "probe-every", 0, "with --listen: probe an idle connection this often (tests)")
	_ = fl.MarkHidden("probe-every")
	fl.BoolVar(&o.Info, "info", false, "with --room: print the room's disco#info (RFC 7081 §4: audio-video-uri)")
	fl.BoolVar(&o.JSON, "json", false, "print JSON (one object per line with --listen)")
	f.CompleteAccountFlag(cmd, "account")
	cmd.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if o.Room != "" {
			// With --room every argument is message text.
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f.CompleteContact(c, args, toComplete)
	}
	return cmd
}

func (o *Options) validate() error {
	switch {
	case o.Info && o.Room == "":
		return cmdutil.Usagef("--info needs --room")
	case o.Lines && o.HasMessage:
		return cmdutil.Usagef("--lines reads stdin: give no message arguments")
	case o.Count < 0:
		return cmdutil.Usagef("--count must not be negative")
	case o.GiveUpAfter < 0:
		return cmdutil.Usagef("--give-up-after must not be negative")
	case (o.ListenFor != 0 || o.Count != 0 || o.IncludeDelayed) && !o.Listen:
		return cmdutil.Usagef("--listen-for, --count and --include-delayed go with --listen")
	case o.ListenFor < 0:
		return cmdutil.Usagef("--listen-for must not be negative")
	case o.Room == "" && o.Contact == "" && !o.Listen:
		return cmdutil.Usagef("name a contact, or --room ROOM, or --listen")
	case o.Nick != "" && o.Room == "":
		return cmdutil.Usagef("--nick goes with --room")
	case o.Room != "" && !isRoomJID(o.Room):
		// A short name went to the server, whose refusal exited 1.
		return cmdutil.WithHint(cmdutil.Usagef("--room %q: want the room's JID, room@service (XEP-0045)", o.Room),
			"give the full address, e.g. --room "+shortRoomExample(o.Room))
	}
	return nil
}

// isRoomJID: a bare room JID (XEP-0045 §4.1: room@service), a nickname
// after '/' allowed and ignored as elsewhere (bare).
func isRoomJID(room string) bool {
	local, domain, ok := strings.Cut(bare(room), "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(bare(room), " \t\r\n") &&
		!strings.Contains(domain, "@")
}

func shortRoomExample(room string) string {
	name := strings.TrimSpace(bare(room))
	if name == "" || strings.Contains(name, "@") {
		name = "room"
	}
	return name + "@conference.example.com"
}

func run(o *Options) error {
	f := o.F
	ctx := f.Context
	acct, err := f.Account(o.Account)
	if err != nil {
		return err
	}
	// Read what comes from stdin before connecting: a password line first,
	// then (unless --lines or --listen) the whole message.
	in := bufio.NewReaderSize(f.IO.In, 4096)
	var roomPassword string
	if o.RoomPasswordStdin {
		if roomPassword, err = secrets.ReadPasswordLine(in); err != nil {
			return cmdutil.Usagef("--room-password-stdin: %v", err)
		}
	}
	interactive := false
	if !o.HasMessage && !o.Lines && !o.Info && (o.Room != "" || o.Contact != "") {
		if f.IO.IsStdinTTY() {
			interactive = !o.Listen
		} else if !o.Listen {
			b, err := io.ReadAll(io.LimitReader(in, maxMessage+1))
			if err != nil {
				return fmt.Errorf("read message from stdin: %w", err)
			}
			if len(b) > maxMessage {
				return inputError("message on stdin is longer than %s, the most one message may carry: nothing was sent (--lines sends each line as a message)", size(maxBody))
			}
			o.Message, o.HasMessage = strings.TrimRight(string(b), "\r\n"), true
		}
	}
	if o.HasMessage && strings.TrimSpace(o.Message) == "" {
		return cmdutil.Usagef("nothing to send: the message is empty")
	}
	if o.HasMessage {
		// Checked before logging in: nothing is sent in part.
		if err := checkBody(o.Message); err != nil {
			return inputError("the message %v: nothing was sent", err)
		}
	}

	if o.HasMessage && !o.Lines && !o.Listen && !o.Info && !interactive && o.Room == "" && o.Contact != "" {
		if done, err := sendViaAgent(o, acct); done {
			return err
		}
	}

	// RFC 7081 §2: chat goes over XMPP, or over SIP MESSAGE when the
	// account says im_over_sip = true or has no XMPP aspect.
	sess, err := f.OpenIM(acct, 0)
	if err != nil {
		return err
	}
	if err := needCapabilities(o, sess); err != nil {
		sess.Shutdown()
		return err
	}
	// rc.sess is the session from here on: a --lines sender or a --listen
	// listener replaces it when the connection drops (resend.go, listen.go).
	rc := &reconnector{sess: sess, giveUp: o.GiveUpAfter, errOut: f.IO.ErrOut, sleep: sleepCtx, account: imAddress(acct)}
	defer func() { rc.sess.Shutdown() }()

	if o.Info {
		return printInfo(o, sess)
	}
	to, msgType, err := o.target(ctx, sess)
	if err != nil {
		return err
	}
	// Open the message stream before joining or announcing presence, so
	// nothing that arrives in between is lost.
	var stream protocol.Stream[protocol.Message]
	var acker protocol.AckedMessages
	// setupLost is a connection lost while a listener was still setting up
	// (after the login, before it listened): it is recovered like a drop
	// later on, not an exit.
	var setupLost error
	lostInSetup := func(err error) bool {
		if o.Listen && lost(err) && setupLost == nil {
			setupLost = err
			return true
		}
		return false
	}
	if o.Listen || interactive {
		if stream, acker, err = openMessages(ctx, sess.IMPPSession, o.F.IO.ErrOut); err != nil {
			if !lostInSetup(err) {
				return fmt.Errorf("listen: %w", err)
			}
		} else {
			defer stream.Close()
		}
	}
	if o.Room != "" {
		nick := o.Nick
		if nick == "" {
			nick = localPart(acct.XMPP.JID)
		}
		join := protocol.RoomJoin{Room: o.Room, Nick: nick, Password: roomPassword}
		if setupLost == nil {
			if _, err := sess.JoinRoom(ctx, join); err != nil && !lostInSetup(err) {
				return fmt.Errorf("join %s: %w", o.Room, err)
			}
		}
		rc.rejoin = &join
		defer func() {
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = rc.sess.LeaveRoom(lctx, o.Room)
		}()
	} else if stream != nil && setupLost == nil {
		if err := announcePresence(ctx, sess); err != nil && !lostInSetup(err) {
			return err
		}
	}

	rc.open = func() (*session.ChatSession, error) { return f.OpenIM(acct, 0) }
	l := &listening{o: o, rc: rc, stream: stream, acker: acker, keep: filterFor(to, o.Room != "")}
	if o.Room == "" {
		l.setup = announcePresence
	}
	if setupLost != nil {
		// Log in again as the listener does after a drop (open the stream,
		// join the room again, announce presence), bounded by --listen-for.
		rctx, cancel := context.WithCancel(ctx)
		if o.ListenFor > 0 {
			rctx, cancel = context.WithTimeout(ctx, o.ListenFor)
		}
		_, err := rc.reconnect(rctx, setupLost, l.open, l.announce)
		timedOut := rctx.Err() != nil
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
		case timedOut:
			return nil // --timeout: no results is not a failure, as in listen
		default:
			return streamError(err)
		}
		defer func() { l.stream.Close() }()
		stream, acker = l.stream, l.acker
		fmt.Fprintf(f.IO.ErrOut, "cusax: chat: connection of %s restored; listening\n", rc.account)
	}
	sent := 0
	sendOn := func(s *session.ChatSession, body string) error {
		// The backend's error names the recipient and the condition.
		return refusedInput(s.Send(ctx, protocol.Message{To: to, Type: msgType, Body: body}))
	}
	send := func(body string) error {
		var err error
		if o.Lines && stream == nil {
			// A listener's stream belongs to its session: only a plain
			// sender logs in again.
			err = rc.send(ctx, body, sendOn)
		} else {
			err = sendOn(rc.sess, body)
		}
		if err != nil {
			return err
		}
		sent++
		return nil
	}
	switch {
	case o.HasMessage:
		if err := send(o.Message); err != nil {
			return err
		}
	case o.Lines:
		if err := sendLines(ctx, in, send); err != nil {
			return err
		}
	case interactive:
		return interact(o, in, stream, acker, to, send)
	}
	if sent > 0 && !o.Listen {
		if err := printSent(o, to, msgType, sent); err != nil {
			return err
		}
	}
	if o.Listen {
		return listen(l)
	}
	return nil
}

// announcePresence makes a listener available. RFC 6121 §8.5.2.1: messages
// to the bare JID reach only available resources, and the server delivers
// what it stored offline on initial presence (§8.5.2.1.1, XEP-0160).
func announcePresence(ctx context.Context, sess *session.ChatSession) error {
	if !sess.Info.Has(protocol.CapPresence) {
		return nil // SIP MESSAGE has no presence: messages reach the binding
	}
	if err := sess.SetPresence(ctx, protocol.Presence{}); err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	return nil
}

// target resolves CONTACT against the roster (or takes the room).
func (o *Options) target(ctx context.Context, sess *session.ChatSession) (string, string, error) {
	if o.Room != "" {
		return bare(o.Room), "groupchat", nil
	}
	if o.Contact == "" {
		return "", "chat", nil
	}
	if !sess.Info.Has(protocol.CapRoster) && session.Serve(sess.Account).ChatOverSIP {
		// No roster over SIP MESSAGE: the contact is a SIP address
		// (sip:bob@example.com, or bob@example.com).
		to := strings.TrimSpace(o.Contact)
		if l := strings.ToLower(to); !strings.HasPrefix(l, "sip:") && !strings.HasPrefix(l, "sips:") {
			if !strings.Contains(to, "@") {
				return "", "", cmdutil.Usagef("contact %q: this account's chat goes over SIP MESSAGE, which has no roster: give a SIP address such as sip:bob@example.com", o.Contact)
			}
			to = "sip:" + to
		}
		return to, "chat", nil
	}
	items, err := sess.Roster(ctx)
	if err != nil && !errors.Is(err, protocol.ErrUnsupported) {
		return "", "", fmt.Errorf("roster: %w", err)
	}
	if err == nil {
		o.F.RememberRoster(sess.Account, items)
	}
	entries := make([]contacts.Entry, 0, len(items))
	inRoster := map[string]bool{}
	for _, it := range items {
		entries = append(entries, contacts.Entry{JID: it.JID, Name: it.Name})
		inRoster[strings.ToLower(it.JID)] = true
	}
	e, err := contacts.Resolve(entries, o.Contact)
	if err != nil {
		return "", "", cmdutil.Usagef("%v", err)
	}
	if !inRoster[strings.ToLower(e.JID)] {
		noteNotInRoster(o, e.JID)
	}
	return e.JID, "chat", nil
}

func noteNotInRoster(o *Options, jid string) {
	fmt.Fprintf(o.F.IO.ErrOut, "cusax: note: %s is not in your roster\n", jid)
}

// printSent is what a sender prints once its messages went: with --json,
// where they went and how many; nothing otherwise.
func printSent(o *Options, to, msgType string, sent int) error {
	if !o.JSON {
		return nil
	}
	return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("chat"), map[string]any{"to": to, "type": msgType, "sent": sent})
}

// sendViaAgent is `cusax chat CONTACT MESSAGE` in one round trip to the
// agent (issue 17: a one-liner in a few milliseconds): the agent resolves
// the contact against its live roster as target does and sends on its live
// session. done is false when the agent did not take it (none runs, it
// does not keep this account, it predates this call): then the usual path
// runs, with the same output and exit codes.
func sendViaAgent(o *Options, acct config.Account) (done bool, err error) {
	r, ok, err := o.F.SendChatViaAgent(acct, o.Contact, o.Message)
	switch {
	case !ok:
		return false, nil
	case r.ContactError != "":
		return true, cmdutil.Usagef("%s", r.ContactError)
	}
	if r.NotInRoster {
		noteNotInRoster(o, r.To)
	}
	if err != nil {
		return true, refusedInput(err)
	}
	return true, printSent(o, r.To, "chat", 1)
}

// needCapabilities refuses, before anything is sent, what the account's
// IM backend cannot do (rooms, disco over SIP MESSAGE), naming it.
func needCapabilities(o *Options, sess *session.ChatSession) error {
	name := sess.Info.Name
	switch {
	case o.Room != "" && !sess.Info.Has(protocol.CapMUC):
		return &session.IMBackendError{Backend: name, Account: sess.Account.Name, What: "rooms (XEP-0045 multi-user chat) need an XMPP aspect"}
	case o.Info && !sess.Info.Has(protocol.CapDisco):
		return &session.IMBackendError{Backend: name, Account: sess.Account.Name, What: "--info (XEP-0030 disco) needs an XMPP aspect"}
	}
	return nil
}

// refusedInput makes a message the backend refused before sending it
// (protocol.ErrInvalid: e.g. over SIP MESSAGE's 1300 bytes, RFC 3428 §7)
// the user's input to fix: exit 2, nothing was sent.
func refusedInput(err error) error {
	if errors.Is(err, protocol.ErrInvalid) {
		return inputError("%v: nothing was sent", err)
	}
	return err
}

// imAddress is the account's address on the aspect its chat goes over.
func imAddress(a config.Account) string {
	if session.Serve(a).ChatOverSIP {
		return a.SIP.AOR
	}
	return a.XMPP.JID
}

func filterFor(to string, room bool) func(protocol.Message) bool {
	if to == "" {
		return func(protocol.Message) bool { return true }
	}
	return func(m protocol.Message) bool {
		if room {
			return m.Type == "groupchat" && strings.EqualFold(bare(m.From), to)
		}
		return strings.EqualFold(bare(m.From), to)
	}
}

func bare(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

func localPart(j string) string {
	if i := strings.IndexByte(j, '@'); i >= 0 {
		return j[:i]
	}
	return j
}
