package callerid

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cusax/cusax/pkg/protocol"
)

// Limits on a message Normalize and Parse accept. A real INVITE is a few
// kilobytes; these leave ample room and bound the work hostile input causes.
const (
	// MaxMessage is the largest message accepted, in bytes, before and
	// after normalisation: sipgo's own limit (sip.ParseMaxMessageLength).
	MaxMessage = 65535
	// MaxHeaderLine bounds one header field, folded lines together.
	MaxHeaderLine = 8 << 10
	// MaxHeaders bounds the number of header fields.
	MaxHeaders = 256
)

// invalid returns a one-line error wrapping protocol.ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("sip message: "+format+": %w", append(args, protocol.ErrInvalid)...)
}

var bom = []byte("\xef\xbb\xbf")

// Normalize makes a captured SIP message parseable by RFC 3261 §7 rules,
// repairing what captures and editors do to messages and refusing what no
// SIP stack sends:
//
//   - a leading UTF-8 byte order mark and blank lines are dropped (§7.5
//     lets a stream carry CRLFs before the start line);
//   - line ends in the header section become CRLF (LF-only captures; an
//     existing CRLF is kept, never doubled); a CR not followed by LF is
//     refused;
//   - a missing empty line after the headers is added;
//   - the body is kept as it is, but Content-Length is made to fit it: a
//     body without one gets one; a body that lost its CRs (so is shorter
//     by its line count) gets them back; a body shorter than
//     Content-Length (a cut capture) gets its real length; bytes past
//     Content-Length are dropped (§18.3); a body of blank lines only,
//     without Content-Length, is dropped.
//
// It refuses, with a one-line error wrapping protocol.ErrInvalid, a
// message over MaxMessage bytes, a header over MaxHeaderLine, more than
// MaxHeaders headers, control characters (NUL and the like) or invalid
// UTF-8 in the header section, a repeated or non-numeric Content-Length,
// and a message with no start line. raw is not modified.
func Normalize(raw []byte) ([]byte, error) {
	if len(raw) > MaxMessage {
		return nil, invalid("%d bytes, over the limit of %d", len(raw), MaxMessage)
	}
	// Leading byte order marks and blank lines (RFC 3261 §7.5).
	data := raw
	for {
		data = bytes.TrimPrefix(data, bom)
		line, rest, ok := cutLine(data)
		if !ok || len(bytes.Trim(line, " \t")) != 0 {
			break
		}
		data = rest
	}
	data = bytes.TrimPrefix(data, bom)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("empty")
	}

	var (
		lines       [][]byte // start line and header lines, without line ends
		headers     int
		fieldLen    int
		clIndex     = -1
		cl          = -1
		body        []byte
		lfOnly      bool
		sawBlank    bool
		sectionSize int
	)
	for len(data) > 0 {
		line, rest, ok := cutLine(data)
		if !ok {
			// The last line has no line end at all.
			line, rest = data, nil
		} else if len(data) > len(line) && data[len(line)] == '\n' {
			lfOnly = true
		}
		data = rest
		if len(line) == 0 {
			sawBlank = true
			body = rest
			break
		}
		n := len(lines) + 1
		sectionSize += len(line) + 2
		if err := checkHeaderBytes(line, n); err != nil {
			return nil, err
		}
		continuation := line[0] == ' ' || line[0] == '\t'
		switch {
		case len(lines) == 0:
			if continuation {
				return nil, invalid("line 1: start line begins with white space")
			}
			fieldLen = 0
		case continuation:
			if len(lines) == 1 {
				return nil, invalid("line 2: continuation of the start line")
			}
			fieldLen += len(line)
		default:
			headers++
			fieldLen = len(line)
			if headers > MaxHeaders {
				return nil, invalid("more than %d headers", MaxHeaders)
			}
			if name, value, ok := bytes.Cut(line, []byte(":")); ok {
				if n := strings.ToLower(string(bytes.TrimSpace(name))); n == "content-length" || n == "l" {
					if clIndex >= 0 {
						return nil, invalid("line %d: second Content-Length", len(lines)+1)
					}
					v, err := strconv.Atoi(string(bytes.TrimSpace(value)))
					if err != nil || v < 0 {
						return nil, invalid("line %d: Content-Length %q is not a number", len(lines)+1, clip(string(bytes.TrimSpace(value))))
					}
					clIndex, cl = len(lines), v
				}
			}
		}
		if fieldLen > MaxHeaderLine {
			return nil, invalid("line %d: header over %d bytes", n, MaxHeaderLine)
		}
		lines = append(lines, line)
	}
	if clIndex >= 0 && (len(lines) > clIndex+1 && (lines[clIndex+1][0] == ' ' || lines[clIndex+1][0] == '\t')) {
		// A folded Content-Length is legal but would survive the rewrite
		// below as a stray continuation line; no stack folds a number.
		return nil, invalid("line %d: folded Content-Length", clIndex+2)
	}
	if !sawBlank {
		body = nil
	}

	// The body: make Content-Length fit it (see the doc comment).
	newCL := -1
	switch {
	case cl < 0 && len(bytes.Trim(body, "\r\n")) == 0:
		body = nil
	case cl < 0:
		newCL = len(body)
	case len(body) == cl:
	case lfOnly && len(body) < cl && len(body)+bytes.Count(body, []byte("\n"))-bytes.Count(body, []byte("\r\n")) == cl:
		body = toCRLF(body)
	case len(body) > cl:
		body = body[:cl]
	default:
		newCL = len(body)
	}

	var out bytes.Buffer
	out.Grow(sectionSize + len(body) + 24)
	for i, line := range lines {
		if i == clIndex && newCL >= 0 {
			out.WriteString("Content-Length: ")
			out.WriteString(strconv.Itoa(newCL))
		} else {
			out.Write(line)
		}
		out.WriteString("\r\n")
	}
	if clIndex < 0 && newCL >= 0 {
		out.WriteString("Content-Length: ")
		out.WriteString(strconv.Itoa(newCL))
		out.WriteString("\r\n")
		if headers++; headers > MaxHeaders {
			return nil, invalid("more than %d headers", MaxHeaders)
		}
	}
	out.WriteString("\r\n")
	out.Write(body)
	if out.Len() > MaxMessage {
		return nil, invalid("%d bytes once normalised, over the limit of %d", out.Len(), MaxMessage)
	}
	return out.Bytes(), nil
}

// cutLine splits data at the first line end, CRLF or LF. It reports false
// when data has no LF.
func cutLine(data []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return data, nil, false
	}
	line = data[:i]
	if i > 0 && data[i-1] == '\r' {
		line = data[:i-1]
	}
	return line, data[i+1:], true
}

// checkHeaderBytes refuses control characters other than HTAB (a lone CR
// included: RFC 3261 §7 ends lines with CRLF only) and invalid UTF-8
// (RFC 3261 §25.1 TEXT-UTF8) in a line of the header section.
func checkHeaderBytes(line []byte, n int) error {
	for i, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return invalid("line %d: control character 0x%02x at byte %d", n, c, i+1)
		}
	}
	if !utf8.Valid(line) {
		return invalid("line %d: not UTF-8", n)
	}
	return nil
}

// toCRLF turns every LF not preceded by CR into CRLF.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
