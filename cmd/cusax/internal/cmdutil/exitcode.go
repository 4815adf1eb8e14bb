package cmdutil

import (
	"context"
	"errors"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/safepath"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// ExitCode maps an error to the documented exit code. It is the only place
// that knows the numbers (see `cusax help exit-codes`).
func ExitCode(err error) int {
	var exit *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &exit):
		return exit.Code
	case errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case IsUsage(err), IsConfigError(err):
		return ExitUsage
	case errors.As(err, new(*session.IMBackendError)), errors.Is(err, session.ErrCallsOverXMPP),
		errors.Is(err, session.ErrNoChat):
		return ExitUnsupported
	case errors.Is(err, protocol.ErrAuth):
		return ExitAuth
	case errors.Is(err, protocol.ErrDenied):
		return ExitDenied
	case errors.Is(err, pluginhost.ErrPluginNotFound), errors.Is(err, pluginhost.ErrIncompatible),
		errors.Is(err, pluginhost.ErrFailed), errors.Is(err, pluginhost.ErrRefused):
		return ExitPlugin
	case errors.Is(err, safepath.ErrUnsafe), errors.Is(err, secrets.ErrInsecureFile):
		// A config, secrets or state file others could have written.
		return ExitUsage
	case errors.Is(err, protocol.ErrMediaInsecure):
		// Before ErrInsecure: a refused call is about its media, not TLS.
		return ExitMediaInsecure
	case errors.Is(err, protocol.ErrCertificate), errors.Is(err, protocol.ErrInsecure):
		return ExitTLS
	case errors.Is(err, protocol.ErrUnreachable), errors.Is(err, protocol.ErrTimeout),
		errors.Is(err, protocol.ErrNotConnected): // the server or the network dropped the session
		return ExitNetwork
	}
	return ExitFailure
}

// IsConfigError: config.toml is not valid TOML, has a wrong type or an
// unknown key, or a value that fails validation; or secrets.toml beside it
// is not valid TOML. Like a bad flag, it is the user's input to fix, so it
// exits 2 (`cusax help exit-codes`).
func IsConfigError(err error) bool {
	return errors.Is(err, config.ErrMalformed) || errors.Is(err, config.ErrInvalid) ||
		errors.Is(err, secrets.ErrMalformed)
}
