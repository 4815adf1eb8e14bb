package callplan

import (
	"errors"
	"fmt"
)

// Error is a planning error that says whose fault it is and what to do.
// Input marks what the user asked for as the cause (a bad target,
// --number, --via or --video, an unknown account, an answer that is not
// one of the choices): the command reports it as a usage error. Hint, when
// set, names the flag or config setting that fixes it.
type Error struct {
	Err   error
	Input bool
	Hint  string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Hints returns the hint, for the command's "hint:" lines.
func (e *Error) Hints() []string {
	if e.Hint == "" {
		return nil
	}
	return []string{e.Hint}
}

// IsInput reports whether err is the user's input to fix.
func IsInput(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Input
}

func inputf(format string, a ...any) error {
	return &Error{Err: fmt.Errorf(format, a...), Input: true}
}

func hinted(err error, hint string) error { return &Error{Err: err, Hint: hint} }
