package secrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
)

// Aspects are every aspect a secret may be stored under for one account.
var Aspects = []string{config.AspectXMPP, config.AspectSIP, config.AspectProvisioning}

// DeleteAccount deletes every secret of account from store, one per
// aspect of Aspects, whatever the config says the account has (a secret
// left from an aspect since removed goes too). A missing secret is not an
// error. It tries every aspect and returns the references it deleted and
// the failures joined; an invalid account name wraps ErrInvalidRef (no
// store can hold a secret under it) and deletes nothing.
func DeleteAccount(ctx context.Context, store Store, account string) (deleted []Ref, err error) {
	if err := (Ref{Account: account, Aspect: config.AspectXMPP}).Validate(); err != nil {
		return nil, err
	}
	var errs []error
	for _, aspect := range Aspects {
		ref := Ref{Account: account, Aspect: aspect}
		switch err := store.Delete(ctx, ref); {
		case err == nil:
			deleted = append(deleted, ref)
		case !errors.Is(err, ErrNotFound):
			errs = append(errs, err)
		}
	}
	return deleted, errors.Join(errs...)
}

// CopyAccount makes to's secrets in store exactly from's: each aspect
// from has is set for to, and each it has not is deleted for to (a stale
// secret under the new name must not become the renamed account's). from's
// secrets stay; the caller deletes them (DeleteAccount) once the rename
// is saved. It returns the references of to that were set. On an error
// it stops; what was set for to so far is left for a retry to overwrite.
// Passwords never appear in errors.
func CopyAccount(ctx context.Context, store Store, from, to string) (set []Ref, err error) {
	for _, name := range []string{from, to} {
		if err := (Ref{Account: name, Aspect: config.AspectXMPP}).Validate(); err != nil {
			return nil, err
		}
	}
	for _, aspect := range Aspects {
		src, dst := Ref{Account: from, Aspect: aspect}, Ref{Account: to, Aspect: aspect}
		pw, err := store.Get(ctx, src)
		switch {
		case errors.Is(err, ErrNotFound):
			if err := store.Delete(ctx, dst); err != nil && !errors.Is(err, ErrNotFound) {
				return set, fmt.Errorf("clear stale %s: %w", dst, err)
			}
			continue
		case err != nil:
			return set, err
		}
		if err := store.Set(ctx, dst, pw); err != nil {
			return set, err
		}
		set = append(set, dst)
	}
	return set, nil
}

// Has reports whether store holds a secret for ref, without handing the
// secret to the caller (for `cusax account show`, which says where a
// password is kept, never what it is). The error is the store's, other
// than ErrNotFound.
func Has(ctx context.Context, store Store, ref Ref) (bool, error) {
	_, err := store.Get(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}
