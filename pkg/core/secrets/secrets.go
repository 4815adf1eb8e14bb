package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
)

// Sentinel errors.
var (
	// ErrNotFound: the store has no password for the reference.
	ErrNotFound = errors.New("password not found")
	// ErrInsecureFile: the secrets file is accessible to group or others, or
	// owned by another user, or a directory above it is owned by another
	// user or writable by others (then the error also wraps
	// safepath.ErrUnsafe), so it is not read.
	ErrInsecureFile = errors.New("secrets file is not private")
	// ErrInvalidRef: the reference's account or aspect is malformed.
	ErrInvalidRef = errors.New("invalid secret reference")
	// ErrEmptyPassword: an empty password was given or produced.
	ErrEmptyPassword = errors.New("empty password")
	// ErrPasswordCommand: a password_command failed, timed out or printed
	// nothing.
	ErrPasswordCommand = errors.New("password command failed")
	// ErrMalformed: the secrets file is not valid TOML or has an unknown
	// key; the error names the line, never its content.
	ErrMalformed = errors.New("malformed")
)

// Ref names the password of one aspect of one account.
type Ref struct {
	// Account is the account name (config.ValidateName rules).
	Account string
	// Aspect is "xmpp", "sip" or "provisioning" (the password or token
	// that fetches the account's provisioning document).
	Aspect string
}

// Key is the full name of the secret: "cusax/<account>/<aspect>".
func (r Ref) Key() string { return "cusax/" + r.user() }

// String returns "<account>/<aspect>", for messages. A Ref holds no secret.
func (r Ref) String() string { return r.user() }

// user is the keyring user name and the file store key.
func (r Ref) user() string { return r.Account + "/" + r.Aspect }

// Validate checks that Account is a valid account name and Aspect is
// "xmpp", "sip" or "provisioning". The error wraps ErrInvalidRef.
func (r Ref) Validate() error {
	if err := config.ValidateName(r.Account); err != nil {
		return fmt.Errorf("%w: account %q: %w", ErrInvalidRef, r.Account, err)
	}
	if r.Aspect != config.AspectXMPP && r.Aspect != config.AspectSIP && r.Aspect != config.AspectProvisioning {
		return fmt.Errorf("%w: aspect %q: want %q, %q or %q", ErrInvalidRef, r.Aspect, config.AspectXMPP, config.AspectSIP, config.AspectProvisioning)
	}
	return nil
}

// Store keeps passwords. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the password for ref, or an error wrapping ErrNotFound
	// if there is none.
	Get(ctx context.Context, ref Ref) (string, error)
	// Set stores password for ref, replacing any previous one. An empty
	// password is refused (ErrEmptyPassword).
	Set(ctx context.Context, ref Ref, password string) error
	// Delete removes the password for ref; the error wraps ErrNotFound if
	// there was none.
	Delete(ctx context.Context, ref Ref) error
	// Name is "keyring" or "file", for messages.
	Name() string
}

// Resolve returns the password for ref: the first line printed by
// passwordCommand if it is set (see RunCommand), else the password in store.
// Errors name ref and wrap ErrPasswordCommand, ErrNotFound or the store's
// error.
func Resolve(ctx context.Context, store Store, ref Ref, passwordCommand string) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	if passwordCommand != "" {
		pw, err := RunCommand(ctx, passwordCommand)
		if err != nil {
			return "", fmt.Errorf("password for %s: %w", ref, err)
		}
		return pw, nil
	}
	if store == nil {
		return "", fmt.Errorf("password for %s: no password_command and no secret store", ref)
	}
	return store.Get(ctx, ref)
}

func checkSet(ref Ref, password string) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	if password == "" {
		return fmt.Errorf("store password for %s: %w", ref, ErrEmptyPassword)
	}
	return nil
}
