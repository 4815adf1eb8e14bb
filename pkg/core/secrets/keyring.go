package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name under which cusax keeps passwords in
// the OS keyring; the user name is "<account>/<aspect>".
const KeyringService = "cusax"

type keyringStore struct{}

// Keyring returns the Store backed by the OS keyring (macOS Keychain,
// Windows Credential Manager, or a D-Bus Secret Service such as GNOME
// Keyring or KWallet). The keyring calls do not take a context; Get, Set and
// Delete stop waiting when ctx is done, but the call itself may complete
// later.
func Keyring() Store { return keyringStore{} }

func (keyringStore) Name() string { return "keyring" }

func (keyringStore) Get(ctx context.Context, ref Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	pw, err := withContext(ctx, func() (string, error) { return keyring.Get(KeyringService, ref.user()) })
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return "", fmt.Errorf("%w: %s in the OS keyring", ErrNotFound, ref)
	case err != nil:
		return "", fmt.Errorf("read password for %s from the OS keyring: %w", ref, err)
	case pw == "":
		return "", fmt.Errorf("%w: %s in the OS keyring is empty", ErrNotFound, ref)
	}
	return pw, nil
}

func (keyringStore) Set(ctx context.Context, ref Ref, password string) error {
	if err := checkSet(ref, password); err != nil {
		return err
	}
	_, err := withContext(ctx, func() (struct{}, error) {
		return struct{}{}, keyring.Set(KeyringService, ref.user(), password)
	})
	if err != nil {
		return fmt.Errorf("store password for %s in the OS keyring: %w", ref, err)
	}
	return nil
}

func (keyringStore) Delete(ctx context.Context, ref Ref) error {
	if err := ref.Validate(); err != nil {
		return err
	}
	_, err := withContext(ctx, func() (struct{}, error) {
		return struct{}{}, keyring.Delete(KeyringService, ref.user())
	})
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("%w: %s in the OS keyring", ErrNotFound, ref)
	case err != nil:
		return fmt.Errorf("delete password for %s from the OS keyring: %w", ref, err)
	}
	return nil
}

// withContext runs fn, returning early with ctx's error when ctx is done
// first. fn keeps running in the background in that case: go-keyring has
// no way to cancel a D-Bus or Keychain call.
func withContext[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
