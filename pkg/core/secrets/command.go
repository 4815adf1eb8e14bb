package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultCommandTimeout bounds a password command unless ctx ends sooner.
const DefaultCommandTimeout = 10 * time.Second

const (
	maxCommandStdout = 64 << 10 // more than any password; the rest is dropped
	maxCommandStderr = 4 << 10  // captured; errors show at most stderrInError
	stderrInError    = 200
)

// Seams for tests.
var (
	commandTimeout = DefaultCommandTimeout
	commandShell   = "sh"
)

// RunCommand runs a password_command with `sh -c command` and returns the
// first line it prints on stdout, without the trailing CR/LF; further lines
// are ignored (pass(1) prints metadata there).
//
// The command runs for at most DefaultCommandTimeout (10 s) or until ctx is
// done, with stdin from /dev/null and the caller's environment. It runs in
// its own process group, and on a timeout or cancel that whole group is
// killed, so a child it started does not outlive it. When cusax runs in the
// foreground of a terminal, the command's group gets the terminal while it
// runs, so that it may still prompt on /dev/tty (as bw, op or keepassxc-cli
// do when locked); Ctrl-C then goes to the command. Every error wraps
// ErrPasswordCommand: a non-zero exit, a timeout, or no output. An error
// includes the first 200 bytes of stderr (control characters replaced, and
// the stdout line removed should the command have echoed it), but never
// stdout and never the command line, which may embed a secret.
func RunCommand(ctx context.Context, command string) (string, error) {
	if strings.TrimSpace(command) == "" {
		return "", fmt.Errorf("%w: empty command", ErrPasswordCommand)
	}
	runCtx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()

	cmd := exec.CommandContext(runCtx, commandShell, "-c", command)
	// Stdin nil is /dev/null (os/exec). A grandchild that keeps stdout
	// open must not hold us past the deadline.
	cmd.WaitDelay = time.Second
	stdout := &capBuffer{max: maxCommandStdout}
	stderr := &capBuffer{max: maxCommandStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	restore := isolate(cmd)
	runErr := cmd.Run()
	restore()
	if errors.Is(runErr, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The command succeeded but left a background child holding
		// stdout open; what it printed before exiting is complete.
		runErr = nil
	}

	line := firstLine(stdout.Bytes())
	detail := stderrDetail(stderr.Bytes(), line)
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("%w: %w%s", ErrPasswordCommand, ctx.Err(), detail)
	case runCtx.Err() != nil:
		return "", fmt.Errorf("%w: timed out after %s%s", ErrPasswordCommand, commandTimeout, detail)
	case runErr != nil:
		var exitErr *exec.ExitError
		if errors.As(runErr, &exitErr) {
			return "", fmt.Errorf("%w: %s%s", ErrPasswordCommand, exitErr.ProcessState, detail)
		}
		return "", fmt.Errorf("%w: %w%s", ErrPasswordCommand, runErr, detail)
	case line == "":
		return "", fmt.Errorf("%w: %w: it printed nothing on stdout%s", ErrPasswordCommand, ErrEmptyPassword, detail)
	}
	return line, nil
}

// firstLine returns b up to the first LF, without a trailing CR.
func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return string(bytes.TrimSuffix(b, []byte("\r")))
}

// stderrDetail formats captured stderr for an error: the password (if the
// command also echoed it there and it is long enough to find reliably)
// removed, control characters replaced so nothing can drive the terminal,
// and at most stderrInError bytes.
func stderrDetail(stderr []byte, password string) string {
	s := strings.TrimSpace(string(stderr))
	if len(password) >= 4 {
		s = strings.ReplaceAll(s, password, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError:
			return '?'
		}
		return r
	}, s)
	if s == "" {
		return ""
	}
	if len(s) > stderrInError {
		cut := stderrInError
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return ": stderr: " + s
}

// capBuffer keeps the first max bytes written and discards the rest, while
// reporting full writes so the child is not killed by EPIPE.
type capBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capBuffer) Bytes() []byte { return c.buf.Bytes() }
