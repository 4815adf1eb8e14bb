package chat

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// maxBody bounds one message body as it goes on the wire (XML-escaped).
// Prosody refuses a client stanza over c2s_stanza_size_limit, 256 KiB by
// default (mod_c2s.lua), by closing the whole stream; XMPP servers do not
// announce their limit (XEP-0478 is not implemented by Prosody 0.12), so
// cusax keeps one under that default with 4 KiB for the envelope (the
// addresses, ID and the rest of the <message/>).
const maxBody = 256<<10 - 4<<10

// inputError is bad input on stdin or in the arguments: exit 2, like a
// usage error, but without the usage hint (the flags were right).
func inputError(format string, a ...any) error {
	return cmdutil.WithExit(cmdutil.ExitUsage, fmt.Errorf(format, a...))
}

// maxMessage bounds what is read of one message or line from stdin: the
// escaped form is never shorter than the text.
const maxMessage = maxBody

// escapedLen is the size of s once XML-escaped as the wire carries it.
func escapedLen(s string) int {
	var n countWriter
	_ = xml.EscapeText(&n, []byte(s))
	return int(n)
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// checkBody refuses a body that is not valid UTF-8 (XMPP is UTF-8 only,
// RFC 6120 §11.6) or too long for one message, with a one-line reason.
func checkBody(s string) error {
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("is not valid UTF-8 (byte %d is 0x%02x); XMPP carries UTF-8 text only", i+1, s[i])
	}
	if n := escapedLen(s); n > maxBody {
		return fmt.Errorf("is %s (%s as XML), over the %s a message may have (the server's stanza limit, 256 KiB by default on Prosody)", size(len(s)), size(n), size(maxBody))
	}
	return nil
}

func size(n int) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	// Rounded up: a size just over the limit must not read as the limit.
	return fmt.Sprintf("%.1f KiB", math.Ceil(float64(n)*10/1024)/10)
}

// sendLines sends each non-blank line of in as its own message, as it
// arrives. A line that cannot be sent whole (too long, not UTF-8) stops
// everything before any of it is sent, with an error that names the line
// and says what was sent before it.
func sendLines(ctx context.Context, in *bufio.Reader, send func(string) error) error {
	lineNo, sent := 0, 0
	for {
		line, n, err := readLine(in, maxMessage)
		if n > 0 || err == nil {
			lineNo++
		}
		if n > 0 && line == "" {
			return inputError("--lines: line %d is %s, over the %s one message may carry; it was not sent%s", lineNo, size(n), size(maxBody), sentBefore(sent))
		}
		if l := strings.TrimRight(line, "\r\n"); strings.TrimSpace(l) != "" {
			if cerr := checkBody(l); cerr != nil {
				return inputError("--lines: line %d %v; it was not sent%s", lineNo, cerr, sentBefore(sent))
			}
			if serr := send(l); serr != nil {
				// Which line failed and what went before: a script can
				// resume from there.
				return fmt.Errorf("--lines: line %d was not sent (%s): %w", lineNo, sentSoFar(sent), serr)
			}
			sent++
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// sentSoFar says how many messages went before a line that failed.
func sentSoFar(n int) string {
	switch n {
	case 0:
		return "no message before it was sent"
	case 1:
		return "1 message before it was sent"
	}
	return fmt.Sprintf("%d messages before it were sent", n)
}

func sentBefore(n int) string {
	switch n {
	case 0:
		return " (nothing was sent)"
	case 1:
		return " (1 message before it was sent)"
	}
	return fmt.Sprintf(" (%d messages before it were sent)", n)
}

// readLine reads one line (with its newline) of at most max bytes. A
// longer line is read to its end and dropped: line is empty and n is its
// length without the newline.
func readLine(in *bufio.Reader, max int) (line string, n int, err error) {
	var b []byte
	tooLong := false
	for {
		chunk, err := in.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if n > max+2 { // +2: the line ending
				tooLong, b = true, nil
			} else {
				b = append(b, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			if err == nil {
				n-- // the newline is not part of the line
			}
			return "", n, err
		}
		return string(b), n, err
	}
}
