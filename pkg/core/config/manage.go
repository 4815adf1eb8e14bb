package config

import (
	"errors"
	"fmt"
)

// ErrAccountExists: a rename was asked for to a name another account
// already has.
var ErrAccountExists = errors.New("account exists")

// EffectiveDefault is the account an empty --account selects: the
// default_account if it names an account, else the only account, else ""
// (none: several accounts and no default, or no accounts).
func (c *Config) EffectiveDefault() string {
	if c.Default != "" {
		if c.index(c.Default) >= 0 {
			return c.Default
		}
		return ""
	}
	if len(c.Accounts) == 1 {
		return c.Accounts[0].Name
	}
	return ""
}

// SetDefault makes name the default account (default_account). The error
// wraps ErrAccountNotFound when no account has that name.
func (c *Config) SetDefault(name string) error {
	if c.index(name) < 0 {
		return c.notFound(name)
	}
	c.Default = name
	return nil
}

// Rename gives the account called old the name new, keeping its place in
// the file, and moves default_account with it. It refuses (the error wraps
// ErrAccountExists) when another account is called new, so nothing is
// overwritten; new must be a valid name (ValidateName; the error wraps
// ErrInvalid). The error wraps ErrAccountNotFound when there is no old.
// Renaming an account to its own name is a no-op.
func (c *Config) Rename(old, new string) error {
	i := c.index(old)
	if i < 0 {
		return c.notFound(old)
	}
	if old == new {
		return nil
	}
	if err := ValidateName(new); err != nil {
		return &ValidationError{Account: old, Field: "name", Err: fmt.Errorf("new name %q: %w", new, err)}
	}
	if c.index(new) >= 0 {
		return fmt.Errorf("%w: %q", ErrAccountExists, new)
	}
	c.Accounts[i].Name = new
	if c.Default == old {
		c.Default = new
	}
	return nil
}
