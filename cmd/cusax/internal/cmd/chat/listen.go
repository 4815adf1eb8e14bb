package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// listenJSON is one line of `--listen --json`.
type listenJSON struct {
	From string `json:"from"`
	To   string `json:"to,omitempty"`
	Type string `json:"type"`
	Body string `json:"body"`
	// ReceivedAt is when cusax received the message.
	ReceivedAt time.Time `json:"received_at"`
	// DelayedAt is when the sender's server says it was sent (XEP-0203),
	// for a message that was delayed (offline storage, room history).
	DelayedAt *time.Time `json:"delayed_at,omitempty"`
	// Delayed is true when DelayedAt is set: the message was stored by the
	// server (offline storage during an outage, room history) and is
	// delivered late (issue 17: a field a script can test).
	Delayed bool   `json:"delayed,omitempty"`
	Error   string `json:"error,omitempty"`
}

// openMessages opens the message stream, acknowledged by us when the
// backend can (XEP-0198): a message counts as delivered only once printed,
// so one that cusax received but never printed (killed, --count reached)
// is delivered again to the next session. Without it, stderr says so once.
func openMessages(ctx context.Context, sess protocol.IMPPSession, errOut io.Writer) (protocol.Stream[protocol.Message], protocol.AckedMessages, error) {
	if am, ok := sess.(protocol.AckedMessages); ok {
		st, err := am.AckedMessages(ctx)
		if err == nil {
			return st, am, nil
		}
		if !errors.Is(err, protocol.ErrUnsupported) {
			return nil, nil, err
		}
	}
	fmt.Fprintln(errOut, "cusax: warning: no delivery acknowledgement (XMPP: the server offers no XEP-0198 stream management, or the plugin predates it; SIP MESSAGE has none): messages received but not yet printed are lost if cusax dies")
	st, err := sess.Messages(ctx)
	return st, nil, err
}

// ack tells the backend that m was taken (printed, or deliberately left
// out by the filter).
func ack(ctx context.Context, acker protocol.AckedMessages, m protocol.Message) error {
	if acker == nil || m.Seq == 0 {
		return nil
	}
	if err := acker.AckMessage(ctx, m.Seq); err != nil && ctx.Err() == nil {
		return streamError(err)
	}
	return nil
}

// streamError maps the end of the session to the network exit code: the
// server or the network dropped the connection.
func streamError(err error) error {
	err = fmt.Errorf("listen: %w", err)
	if errors.Is(err, protocol.ErrNotConnected) {
		return cmdutil.WithExit(cmdutil.ExitNetwork, err)
	}
	return err
}

// listening is what a --listen listener holds across reconnects.
type listening struct {
	o      *Options
	rc     *reconnector
	stream protocol.Stream[protocol.Message]
	acker  protocol.AckedMessages
	keep   func(protocol.Message) bool
	// setup announces the listener on a new session (initial presence,
	// RFC 6121 §4.2, which is also what makes the server deliver what it
	// stored offline, §8.5.2.1.1); nil for a room (joined again instead).
	setup func(context.Context, *session.ChatSession) error
	seen  seenWindow
}

// received is a message (or the stream's end, err) with the generation of
// the stream it came from: after a reconnect, a message of the old session
// is still printed, but never acknowledged on the new one.
type received struct {
	m   protocol.Message
	err error
	gen int
}

// listen prints messages until --count, --listen-for or an interrupt. Each
// message is acknowledged after it was written; after the --count-th
// nothing more is taken, so what arrived after it stays with the server.
// When the connection is lost it logs in again (l.rc, until
// --give-up-after); --count and --listen-for count over the whole run.
// --count counts new messages only, unless --include-delayed.
func listen(l *listening) error {
	o := l.o
	ctx := o.F.Context
	// lctx ends at --listen-for: it also bounds the waits of a reconnect.
	lctx, cancel := context.WithCancel(ctx)
	if o.ListenFor > 0 {
		lctx, cancel = context.WithTimeout(ctx, o.ListenFor)
	}
	defer cancel()
	// ended maps the end of lctx: an interrupt, or --listen-for ("no
	// results" is not a failure).
	ended := func() error {
		if ctx.Err() != nil {
			return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
		}
		return nil
	}
	msgs := make(chan received)
	gen := 0
	recv := func(st protocol.Stream[protocol.Message], g int) {
		for {
			m, err := st.Recv()
			select {
			case msgs <- received{m: m, err: err, gen: g}:
			case <-lctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}
	go recv(l.stream, gen)
	// An idle listener asks the server something now and then: a
	// connection that died silently (a link down, a NAT that forgot it)
	// sends no FIN, and without traffic TCP never notices (RFC 6120 §4.6.1:
	// whitespace or XEP-0199-style checks are the client's job).
	every, wait := probeEvery, probeTimeout
	if o.ProbeEvery > 0 {
		every, wait = o.ProbeEvery, o.ProbeEvery/2
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastHeard, probing := time.Now(), false
	probes := make(chan received, 1)
	n := 0
	for {
		var r received
		select {
		case <-lctx.Done():
			return ended()
		case r = <-msgs:
			if r.gen == gen {
				lastHeard = time.Now()
			}
		case <-tick.C:
			if !probing && l.rc != nil && time.Since(lastHeard) >= every {
				probing = true
				go probe(lctx, l.rc.sess, gen, wait, probes)
			}
			continue
		case r = <-probes:
			probing = false
			if r.err == nil || r.gen != gen {
				lastHeard = time.Now()
				continue
			}
		}
		lostErr := r.err
		switch {
		case r.err != nil && r.gen != gen:
			continue // the old stream of a session already replaced
		case r.err != nil:
			if errors.Is(r.err, io.EOF) || lctx.Err() != nil {
				return ended()
			}
		default:
			m := r.m
			keep := l.keep(m) && (m.Body != "" || m.Type == "error")
			switch {
			case keep && l.seen.again(m):
				fmt.Fprintf(o.F.IO.ErrOut, "cusax: chat: message %s from %s was delivered again after the reconnect; it was printed before, not again\n",
					cmdutil.TermSafe(m.ID), cmdutil.TermSafe(m.From))
			case keep:
				if err := printMessage(o, m); err != nil {
					return err // not acknowledged: the server keeps it
				}
				l.seen.add(m)
				if m.Delay.IsZero() || o.IncludeDelayed {
					// Stored messages are old news: they count only when
					// asked (XEP-0203 marks them).
					n++
				}
			}
			if r.gen == gen {
				lostErr = ack(ctx, l.acker, m)
			}
			if o.Count > 0 && n >= o.Count {
				return nil
			}
		}
		if lostErr == nil {
			continue
		}
		if lctx.Err() != nil {
			return ended()
		}
		if !lost(lostErr) || l.rc == nil {
			return streamError(lostErr)
		}
		if l.rc.rejoin != nil {
			// Rooms keep no offline messages: ask the room for what was
			// said since shortly before the connection was last known
			// good (XEP-0045 §7.2.13 'since'); what was printed already
			// comes again delayed and is recognised (seenWindow).
			j := *l.rc.rejoin
			j.HistorySince = lastHeard.Add(-historyMargin)
			l.rc.rejoin = &j
		}
		took, err := l.rc.reconnect(lctx, lostErr, l.open, l.announce)
		if err != nil {
			if lctx.Err() != nil {
				return ended()
			}
			return streamError(err)
		}
		gen++
		lastHeard = time.Now()
		go recv(l.stream, gen)
		fmt.Fprintf(o.F.IO.ErrOut, "cusax: chat: connection of %s restored; listening again after %.1fs\n", l.rc.account, took.Seconds())
	}
}

func printMessage(o *Options, m protocol.Message) error {
	io := o.F.IO
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	switch {
	case o.JSON:
		j := listenJSON{From: m.From, To: m.To, Type: m.Type, Body: m.Body, ReceivedAt: m.Time.UTC(), Error: m.Error}
		if !m.Delay.IsZero() {
			d := m.Delay.UTC()
			j.DelayedAt, j.Delayed = &d, true
		}
		return cmdutil.WriteJSONLine(o.F.IO.Out, cmdutil.Schema("chat-message"), j)
	case io.IsStdoutTTY():
		// Text from others is escaped: no control, C1 or bidi character
		// reaches the terminal (cmdutil.TermSafe).
		body := cmdutil.TermSafe(m.Body)
		if m.Type == "error" {
			body = io.Red("error: " + cmdutil.TermSafe(m.Error))
		}
		if !m.Delay.IsZero() {
			body += " (delayed: sent " + delayText(m.Delay, m.Time) + ")"
		}
		_, err := fmt.Fprintf(io.Out, "%s %s %s\n", m.Time.Local().Format("15:04:05"), io.Bold(cmdutil.TermSafe(m.From)+":"), body)
		return err
	}
	// Piped: one line per message, stable tab-separated columns: the time
	// received, sender, type, text, and the sender's delay stamp (empty
	// when the message was not delayed).
	esc := strings.NewReplacer("\\", `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	delay := ""
	if !m.Delay.IsZero() {
		delay = m.Delay.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(io.Out, "%s\t%s\t%s\t%s\t%s\n", m.Time.UTC().Format(time.RFC3339), esc.Replace(m.From), m.Type, esc.Replace(m.Body+m.Error), delay)
	return err
}

// delayText shows a delay stamp in local time, with the date unless it is
// the day the message was received.
func delayText(sent, received time.Time) string {
	s, r := sent.Local(), received.Local()
	if s.Format("2006-01-02") == r.Format("2006-01-02") {
		return s.Format("15:04:05")
	}
	return s.Format("2006-01-02 15:04:05")
}

// interact is the terminal line mode: each line typed is sent; messages
// from the contact are printed (and acknowledged) as they arrive. Ctrl-D
// ends it.
func interact(o *Options, in *bufio.Reader, stream protocol.Stream[protocol.Message], acker protocol.AckedMessages, to string, send func(string) error) error {
	io := o.F.IO
	fmt.Fprintf(io.ErrOut, "cusax: chatting with %s; type a line and press Enter, Ctrl-D to end\n", cmdutil.TermSafe(to))
	ctx, cancel := context.WithCancel(o.F.Context)
	defer cancel()
	keep := filterFor(to, o.Room != "")
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil || ctx.Err() != nil {
				return
			}
			if keep(m) && m.Body != "" {
				if printMessage(o, m) != nil {
					return
				}
			}
			if ack(ctx, acker, m) != nil {
				return
			}
		}
	}()
	return sendLines(ctx, in, send)
}

func printInfo(o *Options, sess *session.ChatSession) error {
	d, err := sess.DiscoInfo(o.F.Context, bare(o.Room), "")
	if err != nil {
		return fmt.Errorf("disco#info %s: %w", o.Room, err)
	}
	av := contacts.RoomAudioVideoURI(d)
	io := o.F.IO
	if o.JSON {
		return cmdutil.WriteJSON(io.Out, cmdutil.Schema("chat-room-info"), struct {
			protocol.DiscoInfo
			AudioVideoURI string `json:"audio_video_uri,omitempty"`
		}{d, av})
	}
	for _, id := range d.Identities {
		fmt.Fprintf(io.Out, "identity\t%s/%s\t%s\n", id.Category, id.Type, id.Name)
	}
	for _, feat := range d.Features {
		fmt.Fprintf(io.Out, "feature\t%s\n", feat)
	}
	for _, form := range d.Forms {
		keys := make([]string, 0, len(form.Fields))
		for k := range form.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(io.Out, "field\t%s\t%s\n", k, strings.Join(form.Fields[k], ", "))
		}
	}
	if av != "" {
		fmt.Fprintf(io.Out, "audio-video-uri\t%s\n", av)
	}
	return nil
}
