package account

import (
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/spf13/cobra"
)

func newCmdDefault(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f, Sub: "default"}
	cmd := &cobra.Command{
		Use:   "default [NAME]",
		Short: "Set the default account, or print it",
		Long: `With NAME, make NAME the default account: the one commands use when
--account is not given (default_account in the config). Without NAME,
print the default account: default_account, else the only account; none
(several accounts and no default_account) prints nothing and says so on
stderr.`,
		Example: `  $ cusax account default work
  $ cusax account default`,
		Args:              maxArgs(1, "at most one account name"),
		RunE:              func(_ *cobra.Command, args []string) error { o.Args = args; return dispatch(o, runF) },
		ValidArgsFunction: completeNames(f, 1),
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

// DefaultJSON is `account default --json`.
type DefaultJSON struct {
	// DefaultAccount is the default account now; "" for none.
	DefaultAccount string `json:"default_account"`
	// Explicit: default_account names it (not only "the only account").
	Explicit bool `json:"explicit"`
}

func defaultRun(o *Options) error {
	f := o.F
	cfg, cfgPath, err := f.Config()
	if err != nil {
		return err
	}
	if len(o.Args) == 1 {
		name := o.Args[0]
		if name == "" {
			return cmdutil.Usagef("an account name must not be empty")
		}
		if err := cfg.SetDefault(name); err != nil {
			return cmdutil.WithHint(cmdutil.Usagef("%v", err), "list them: cusax account list")
		}
		err := config.Update(cfgPath, func(c *config.Config) error {
			if err := c.SetDefault(name); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			cfg = c
			return nil
		})
		if err != nil {
			return err
		}
		if !o.JSON {
			fmt.Fprintf(f.IO.ErrOut, "cusax: the default account is now %s\n", safe(name))
		}
	}
	cur := DefaultJSON{DefaultAccount: cfg.EffectiveDefault()}
	cur.Explicit = cur.DefaultAccount != "" && cur.DefaultAccount == cfg.Default
	if o.JSON {
		return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("account-default"), cur)
	}
	if len(o.Args) == 1 {
		return nil
	}
	if cur.DefaultAccount == "" {
		fmt.Fprintln(f.IO.ErrOut, "cusax: no default account; choose one with 'cusax account default NAME'")
		return nil
	}
	fmt.Fprintln(f.IO.Out, cur.DefaultAccount)
	return nil
}
