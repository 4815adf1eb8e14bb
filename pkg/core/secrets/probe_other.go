//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package secrets

import (
	"context"
	"errors"

	"github.com/zalando/go-keyring"
)

// probeOSKeyring looks up a name that is never stored: "not found" proves
// the keyring (Keychain, Credential Manager) answers; any other error, such
// as keyring.ErrUnsupportedPlatform, means it does not.
func probeOSKeyring(context.Context) error {
	_, err := keyring.Get(KeyringService, "cusax-probe")
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}
