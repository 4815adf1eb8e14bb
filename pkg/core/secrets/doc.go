// Package secrets stores and retrieves the passwords of cusax account
// aspects ("xmpp" and "sip"), which never appear in the config file, in argv,
// in logs or in errors.
//
// A password comes from, in order (Resolve): the aspect's password_command
// (RunCommand), else a Store: the OS keyring (Keyring, via
// github.com/zalando/go-keyring) or, where no keyring works (headless
// Linux without a D-Bus Secret Service), a 0600 file secrets.toml beside the
// config (File). Open picks between them; CUSAX_SECRETS=file or
// CUSAX_SECRETS=keyring forces the choice. --password-stdin is read with
// ReadPasswordLine.
//
// The file store refuses to read a file that group or others can access, or
// that another user owns, or that sits below a directory another user owns
// or others can write (ErrInsecureFile; see package safepath), and writes
// atomically with mode 0600 under an advisory lock. Open removes the
// temporary copies a killed writer left beside it (atomicfile.RemoveStale).
//
// Error contract: the package never prints and never exits. Errors name the
// reference (account/aspect), the store and, for the file store, the path;
// they never contain a password, the output of a password command, or the
// command line itself. Lookups of a missing password wrap ErrNotFound.
package secrets
