package safepath

import (
	"errors"
	"fmt"
	"io/fs"
)

// ErrUnsafe is wrapped by every *Error.
var ErrUnsafe = errors.New("unsafe path")

// Error is one refusal: Path (the file, or one of its directories) is
// owned by someone else or writable by others.
type Error struct {
	// Path is the offending component, not necessarily the file checked.
	Path string
	// UID and Mode are what Path has.
	UID  int
	Mode fs.FileMode
	// Reason says why, e.g. "writable by group and others".
	Reason string
	// Hint is the command that fixes it.
	Hint string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (owner %s, mode %s)", e.Path, e.Reason, owner(e.UID), modeString(e.Mode))
}

// Is makes errors.Is(err, ErrUnsafe) true.
func (e *Error) Is(target error) bool { return target == ErrUnsafe }

// Hints returns the fix, for the CLI's "hint:" lines.
func (e *Error) Hints() []string {
	if e.Hint == "" {
		return nil
	}
	return []string{e.Hint}
}

// modeString shows the permission bits in octal with setuid/setgid/sticky,
// as chmod takes them.
func modeString(m fs.FileMode) string {
	v := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	return fmt.Sprintf("%04o", v)
}
