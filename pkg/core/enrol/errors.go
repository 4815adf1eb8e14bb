package enrol

import (
	"errors"
	"fmt"
)

// Error is an error with what the user can do about it.
type Error struct {
	Err error
	// Usage: the user's input is wrong or missing (a command exits 2).
	Usage bool
	// Fix lists hints, one line each, naming the flag or command that fixes
	// it.
	Fix []string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Hints returns Fix (cmdutil.Hints collects it).
func (e *Error) Hints() []string { return e.Fix }

// IsUsage reports whether err is (or wraps) an *Error with Usage set.
func IsUsage(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Usage
}

// usagef is an input error the user fixes, with hints.
func usagef(hints []string, format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...), Usage: true, Fix: hints}
}

// hint attaches hints to err (nil stays nil).
func hint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Fix: hints}
}
