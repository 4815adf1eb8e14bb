package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/atomicfile"
)

// EnvSecrets names the environment variable that forces a store:
// "keyring" or "file". Unset (or "auto") probes the OS keyring.
const EnvSecrets = "CUSAX_SECRETS"

// ErrBadSecretsMode: CUSAX_SECRETS has a value other than keyring, file or
// auto.
var ErrBadSecretsMode = errors.New("unknown " + EnvSecrets + " value")

// Seams for tests.
var (
	probeTimeout = 3 * time.Second
	probeKeyring = probeOSKeyring
)

// Open returns the store cusax should use for the config in configDir, and
// a note for the user when the choice needs explaining (else "").
//
// With CUSAX_SECRETS=keyring it returns Keyring(); with CUSAX_SECRETS=file
// it returns File(configDir/secrets.toml). Otherwise it probes the OS
// keyring, bounded by a short timeout and without unlocking or prompting;
// if the keyring does not answer (headless Linux: no D-Bus session bus, no
// Secret Service) it falls back to the file store and says so in the note.
// The error wraps ErrBadSecretsMode for an unknown CUSAX_SECRETS value.
func Open(configDir string) (Store, string, error) {
	if configDir == "" {
		return nil, "", errors.New("open secret store: empty config directory")
	}
	path := filepath.Join(configDir, FileName)
	// A cusax killed while writing the file store leaves a temporary copy
	// of it (passwords); remove such leftovers at the next start, whatever
	// the store. Best effort: a live writer's file is kept.
	_, _ = atomicfile.RemoveStale(path)
	switch mode := strings.ToLower(strings.TrimSpace(os.Getenv(EnvSecrets))); mode {
	case "file":
		return File(path), "", nil
	case "keyring":
		return Keyring(), "", nil
	case "", "auto":
	default:
		return nil, "", fmt.Errorf("%w %q: want keyring, file or auto", ErrBadSecretsMode, mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := probe(ctx); err == nil {
		return Keyring(), "", nil
	}
	return File(path), fmt.Sprintf("no OS keyring here: passwords are kept in %s (mode 0600)", path), nil
}

// probe runs probeKeyring but gives up when ctx is done, so a wedged
// D-Bus peer cannot stall the CLI.
func probe(ctx context.Context) error {
	p := probeKeyring // read once: the goroutine may outlive this call
	_, err := withContext(ctx, func() (struct{}, error) { return struct{}{}, p(ctx) })
	return err
}
