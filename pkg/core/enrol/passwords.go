package enrol

import (
	"context"
	"errors"
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
)

// Passwords resolves the passwords of an account set up by hand: one line
// from in.Stdin for both aspects, the account's password commands or
// stored passwords (an existing account), or one prompt for both. Never
// from argv. A usage *Error when none is to be had.
func Passwords(ctx context.Context, env Env, in PasswordInput, acct config.Account) (xmpp, sip string, err error) {
	if in.Stdin != nil {
		pw, err := secrets.ReadPasswordLine(in.Stdin)
		if err != nil {
			return "", "", usagef(nil, "--password-stdin: %v", err)
		}
		return pw, pw, nil
	}
	xpw, spw, err := session.Passwords(ctx, env.Store, acct)
	if err == nil {
		return xpw, spw, nil
	}
	if !errors.Is(err, secrets.ErrNotFound) {
		return "", "", err
	}
	if canPrompt(env.Prompter) {
		pw, perr := env.Prompter.PromptSecret(fmt.Sprintf("Password for %s (used for both aspects): ", acct.Name))
		if perr != nil {
			return "", "", perr
		}
		return pw, pw, nil
	}
	return "", "", usagef([]string{"pipe it in with --password-stdin, or set --password-command (passwords are never taken from argv)"},
		"no password for account %q", acct.Name)
}
