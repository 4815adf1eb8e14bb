// Package config reads, validates and writes the cusax accounts file,
// $XDG_CONFIG_HOME/cusax/config.toml by default (see DefaultPath).
//
// A cusax account combines up to two aspects: an XMPP account for chat and
// presence and a SIP account for calls. RFC 7081 §3.4 lets a client record
// that the two are aspects of one CUSAX service (Account.Related); §2 then
// turns calling over XMPP and instant messaging over SIP off by default
// (Features).
//
// The file holds no passwords: those live in the OS keyring or in
// secrets.toml beside the config (package secrets), or come from a
// password_command.
//
// Files are written atomically (a temporary file in the same directory,
// fsync, rename) with mode 0600 in a 0700 directory, and read-modify-write
// cycles hold an advisory lock (Update), so a crash or a concurrent cusax
// never leaves a half-written or lost config. Load removes the temporary
// files of writers that were killed mid-write (atomicfile.RemoveStale).
//
// Load refuses a config that another user owns or that others can write,
// or one below a directory that is (package safepath, errors.Is
// safepath.ErrUnsafe): nothing in it, a password_command least of all, is
// used.
//
// Error contract: the package never prints and never exits. Load returns a
// *ParseError (errors.Is(err, ErrMalformed)) for a malformed file, with the
// line and column; Load and Config.Account do not validate, so that a
// broken account can still be repaired, and callers run Account.Validate
// before using an account. Validation returns *ValidationError values
// (errors.Is(err, ErrInvalid)) that name the account and the field; lookups
// return errors wrapping ErrNoAccounts, ErrAccountNotFound or
// ErrAmbiguousAccount.
package config
