package account

import (
	"errors"
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/spf13/cobra"
)

func newCmdRename(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f, Sub: "rename"}
	cmd := &cobra.Command{
		Use:     "rename OLD NEW",
		Aliases: []string{"mv"},
		Short:   "Rename an account, with its passwords, caches and state",
		Long: `Rename the account OLD to NEW: the config entry (and default_account if it
named OLD), its stored passwords (OS keyring and secrets.toml), its vCard
cache and its presence state move with it. Refused (exit 2) if an account
called NEW exists; NEW must be 1 to 64 characters from A-Z a-z 0-9 . _ -.
Stale passwords or files left under NEW by no account are replaced.

The passwords are copied to NEW and the files moved before the config is
written; the passwords under OLD are deleted only after. If a step fails
the config still says OLD and the command can be run again.`,
		Example: `  $ cusax account rename work office
  $ cusax account rename work office --json`,
		Args:              exactArgs(2, "OLD and NEW"),
		RunE:              func(_ *cobra.Command, args []string) error { o.Args = args; return dispatch(o, runF) },
		ValidArgsFunction: completeNames(f, 1),
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print what was moved as JSON")
	return cmd
}

// RenameJSON is what `account rename --json` prints.
type RenameJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	// SecretsMoved are the passwords now stored under To.
	SecretsMoved []SecretJSON `json:"secrets_moved"`
	// FilesMoved are the local files now under To's name.
	FilesMoved []localFile `json:"files_moved"`
	Default    bool        `json:"default"`
	// OldSecretsLeft: deleting the passwords under From failed after the
	// rename was saved (a warning says so); they are used by no account.
	OldSecretsLeft     bool `json:"old_secrets_left,omitempty"`
	AgentRestartNeeded bool `json:"agent_restart_needed"`
}

// renameRun renames the account. Under the config lock: (1) the secrets
// are copied to NEW in every store (secrets.CopyAccount, which also clears
// stale ones under NEW), (2) the local files move, (3) the config is
// written with the new name. Only then (4) are OLD's secrets deleted. A
// failure in (1)–(3) leaves the config naming OLD with OLD's secrets and
// (but for what (2) moved) files: the command can be run again, and what
// it copied under NEW is overwritten. A failure in (4) leaves unused
// copies under OLD, which a warning reports. Deleting OLD's before the
// config is written could lose the passwords altogether.
func renameRun(o *Options) error {
	f := o.F
	old, new := o.Args[0], o.Args[1]
	cfg, cfgPath, err := f.Config()
	if err != nil {
		return err
	}
	// Checked before asking any store, so that a refusal costs nothing.
	if err := cfg.Rename(old, new); err != nil {
		return renameErr(err)
	}
	if old == new {
		fmt.Fprintf(f.IO.ErrOut, "cusax: account %s is already called that\n", safe(old))
		return nil
	}
	stores, err := o.stores(cfgPath)
	if err != nil {
		return err
	}
	oldValid := config.ValidateName(old) == nil
	res := RenameJSON{From: old, To: new, SecretsMoved: []SecretJSON{}, FilesMoved: []localFile{}}
	err = config.Update(cfgPath, func(c *config.Config) error {
		if err := c.Rename(old, new); err != nil {
			return renameErr(err)
		}
		res.Default = c.EffectiveDefault() == new
		for _, s := range stores {
			var set []secrets.Ref
			var err error
			if oldValid {
				set, err = secrets.CopyAccount(f.Context, s.store, old, new)
			} else {
				// No secret can be stored under an invalid name; clear
				// stale ones under the new.
				_, err = secrets.DeleteAccount(f.Context, s.store, new)
			}
			for _, ref := range set {
				res.SecretsMoved = append(res.SecretsMoved, secretJSON(ref, s))
			}
			if err != nil {
				return fmt.Errorf("copy the passwords: %w", err)
			}
		}
		moved, err := moveFiles(old, new)
		res.FilesMoved = append(res.FilesMoved, moved...)
		return err
	})
	if err != nil {
		return cmdutil.WithHint(fmt.Errorf("rename account %s: %w", safe(old), err),
			fmt.Sprintf("the account is still called %s; fix the cause and run the command again", safe(old)))
	}
	w := f.IO.ErrOut
	if oldValid {
		for _, s := range stores {
			if _, err := secrets.DeleteAccount(f.Context, s.store, old); err != nil {
				res.OldSecretsLeft = true
				fmt.Fprintf(w, "cusax: warning: renamed, but the passwords under the old name %s stay in the %s (no account uses them): %v\n",
					safe(old), s.store.Name(), err)
			}
		}
	}
	res.AgentRestartNeeded = o.agentKeeps(old)
	if o.JSON {
		if err := cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("account-rename"), res); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "cusax: renamed account %s to %s (%d stored password(s), %d local file(s) moved)\n",
		safe(old), safe(new), len(res.SecretsMoved), len(res.FilesMoved))
	if res.AgentRestartNeeded {
		fmt.Fprintf(w, "cusax: note: the running agent still knows the account as %s until it is restarted: cusax agent stop && cusax agent start\n", safe(old))
	}
	return nil
}

// renameErr: an unknown OLD, an existing or invalid NEW are usage errors.
func renameErr(err error) error {
	switch {
	case errors.Is(err, config.ErrAccountExists):
		return cmdutil.WithHint(cmdutil.Usagef("%v: not renamed, nothing changed", err), "choose another name, or remove that account first: cusax account remove NAME")
	case errors.Is(err, config.ErrAccountNotFound):
		return cmdutil.WithHint(cmdutil.Usagef("%v", err), "list them: cusax account list")
	case errors.Is(err, config.ErrInvalid):
		return cmdutil.Usagef("%v", err)
	}
	return err
}
