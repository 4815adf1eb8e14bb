// Package safepath decides whether a file cusax is about to trust (a
// plugin it will run, a config whose password_command it will run, a
// secrets or state file it will believe) could have been written by
// someone other than the user.
//
// The rule is OpenSSH's safe_path (auth.c, StrictModes): the file and
// every directory up to / must be owned by the user or root and not be
// writable by group or others. One exception keeps ordinary setups
// working: an ancestor that others can write but that has the sticky bit
// (like /tmp) is accepted when the next component below it is owned by the
// user or root, because the sticky bit stops others from renaming or
// removing that component. The directory that directly holds the file gets
// no such exception: others could add files to it (a plugin, a config
// symlink). Symbolic links are followed and both the path as given and the
// resolved path are checked.
//
// The package never prints; a refusal is an *Error (errors.Is ErrUnsafe)
// naming the offending path, its owner and mode, and a hint.
package safepath
