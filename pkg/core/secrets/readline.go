package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxPasswordLine is the most ReadPasswordLine reads, newline included.
const MaxPasswordLine = 4 << 10

// ReadPasswordLine reads one password line, as for --password-stdin: bytes
// up to the first LF, without the trailing CR/LF. It reads one byte at a
// time so that nothing after the line is consumed, and at most
// MaxPasswordLine bytes; a longer line is an error. Input that ends without
// a newline is accepted. An empty line wraps ErrEmptyPassword. Errors never
// include what was read.
func ReadPasswordLine(r io.Reader) (string, error) {
	var line []byte
	var b [1]byte
	for empty := 0; ; {
		n, err := r.Read(b[:])
		if n == 0 && err == nil {
			// A reader that never makes progress must not spin forever.
			if empty++; empty > 100 {
				return "", fmt.Errorf("read password: %w", io.ErrNoProgress)
			}
			continue
		}
		empty = 0
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(line) == MaxPasswordLine-1 {
				return "", fmt.Errorf("read password: line longer than %d bytes", MaxPasswordLine)
			}
			line = append(line, b[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", fmt.Errorf("read password: %w", ErrEmptyPassword)
	}
	return string(line), nil
}
