package chat

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/contacts"
	corelogin "github.com/cusax/cusax/pkg/core/login"
	"github.com/cusax/cusax/pkg/protocol"
)

// listenJSON is one line of `--listen --json`.
type listenJSON struct {
	From  string    `json:"from"`
	To    string    `json:"to,omitempty"`
	Type  string    `json:"type"`
	Body  string    `json:"body"`
	Time  time.Time `json:"time"`
	Error string    `json:"error,omitempty"`
}

// listen prints messages until --count, --timeout or an interrupt.
func listen(o *Options, stream protocol.Stream[protocol.Message], keep func(protocol.Message) bool) error {
	ctx := o.F.Context
	var deadline <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	msgs := make(chan protocol.Message)
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	n := 0
	enc := json.NewEncoder(o.F.IO.Out)
	for {
		select {
		case <-deadline:
			return nil // "no results" is not a failure
		case <-ctx.Done():
			return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
		case err := <-errc:
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("listen: %w", err)
		case m := <-msgs:
			if !keep(m) || (m.Body == "" && m.Type != "error") {
				continue
			}
			if m.Time.IsZero() {
				m.Time = time.Now().UTC()
			}
			if err := printMessage(o, enc, m); err != nil {
				return err
			}
			n++
			if o.Count > 0 && n >= o.Count {
				return nil
			}
		}
	}
}

func printMessage(o *Options, enc *json.Encoder, m protocol.Message) error {
	io := o.F.IO
	switch {
	case o.JSON:
		return enc.Encode(listenJSON{From: m.From, To: m.To, Type: m.Type, Body: m.Body, Time: m.Time, Error: m.Error})
	case io.IsStdoutTTY():
		body := m.Body
		if m.Type == "error" {
			body = io.Red("error: " + m.Error)
		}
		_, err := fmt.Fprintf(io.Out, "%s %s %s\n", m.Time.Local().Format("15:04:05"), io.Bold(m.From+":"), body)
		return err
	}
	// Piped: one line per message, stable tab-separated columns.
	esc := strings.NewReplacer("\\", `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	_, err := fmt.Fprintf(io.Out, "%s\t%s\t%s\t%s\n", m.Time.UTC().Format(time.RFC3339), m.From, m.Type, esc.Replace(m.Body+m.Error))
	return err
}

// interact is the terminal line mode: each line typed is sent; messages
// from the contact are printed as they arrive. Ctrl-D ends it.
func interact(o *Options, in *bufio.Reader, stream protocol.Stream[protocol.Message], to string, send func(string) error) error {
	io := o.F.IO
	fmt.Fprintf(io.ErrOut, "cusax: chatting with %s; type a line and press Enter, Ctrl-D to end\n", to)
	ctx, cancel := context.WithCancel(o.F.Context)
	defer cancel()
	keep := filterFor(to, o.Room != "")
	go func() {
		enc := json.NewEncoder(io.Out)
		for {
			m, err := stream.Recv()
			if err != nil || ctx.Err() != nil {
				return
			}
			if keep(m) && m.Body != "" {
				if m.Time.IsZero() {
					m.Time = time.Now()
				}
				_ = printMessage(o, enc, m)
			}
		}
	}()
	return sendLines(ctx, in, send)
}

func printInfo(o *Options, sess *corelogin.ChatSession) error {
	d, err := sess.DiscoInfo(o.F.Context, bare(o.Room), "")
	if err != nil {
		return fmt.Errorf("disco#info %s: %w", o.Room, err)
	}
	av := contacts.RoomAudioVideoURI(d)
	io := o.F.IO
	if o.JSON {
		return cmdutil.WriteJSON(io.Out, struct {
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
