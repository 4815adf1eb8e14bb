// Package iostreams decides where output goes and how it looks: data on
// stdout, everything else on stderr; tables and colour only on a terminal;
// NO_COLOR and CLICOLOR_FORCE honoured.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
)

// IOStreams are the standard streams and what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	color                          bool
}

// System returns the process's streams.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY:  isTTY(os.Stdin),
		stdoutTTY: isTTY(os.Stdout),
		stderrTTY: isTTY(os.Stderr),
	}
	s.color = colorWanted(s.stdoutTTY)
	return s
}

func isTTY(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// colorWanted follows no-color.org (NO_COLOR set and not empty: no
// colour; NO_COLOR= is as if unset) and the CLICOLOR_FORCE convention.
func colorWanted(tty bool) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	if v := os.Getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	return tty && os.Getenv("TERM") != "dumb"
}

// Test returns streams backed by buffers, none of them a terminal.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetTTY marks the test streams as terminals (tests only).
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// IsStdinTTY reports whether stdin is a terminal (prompts are allowed).
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether stdout is a terminal (tables, not TSV).
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal (progress lines).
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the user can be asked questions.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// ColorEnabled reports whether colour codes may be written.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// Color wraps text in an ANSI colour when colour is on.
func (s *IOStreams) Color(code, text string) string {
	if !s.color {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Green, Yellow and Red colour status words.
func (s *IOStreams) Green(t string) string  { return s.Color("32", t) }
func (s *IOStreams) Yellow(t string) string { return s.Color("33", t) }
func (s *IOStreams) Red(t string) string    { return s.Color("31", t) }
func (s *IOStreams) Bold(t string) string   { return s.Color("1", t) }

// syncWriter serialises writes: with --debug the plugin host's loggers
// write to stderr from their own goroutines while the command writes its
// progress and diagnostics there.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// SerializeErrOut makes ErrOut safe for concurrent writers (once).
func (s *IOStreams) SerializeErrOut() {
	if _, ok := s.ErrOut.(*syncWriter); !ok {
		s.ErrOut = &syncWriter{w: s.ErrOut}
	}
}
