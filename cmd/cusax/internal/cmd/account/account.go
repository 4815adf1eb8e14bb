// Package account implements `cusax account list|show|remove|rename|default`
// and `cusax logout NAME` (remove, as gh's `auth logout`): managing the
// accounts `cusax login` set up without editing config.toml by hand.
//
// remove and rename touch, besides the config entry, the account's stored
// secrets and its local files (files.go); the order of those steps is
// chosen so that a failure leaves a state the same command can finish
// (see removeRun and renameRun).
package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/spf13/cobra"
)

// Options are the parsed flags and arguments of every subcommand.
type Options struct {
	F *cmdutil.Factory
	// Sub is "list", "show", "remove", "rename" or "default".
	Sub  string
	Args []string
	JSON bool
	// Yes confirms remove without asking.
	Yes bool
	// AgentStatus asks the running agent what it keeps connected; nil
	// asks the user's agent on its socket. Tests replace it.
	AgentStatus func(ctx context.Context) (*agentapi.StatusResponse, error)
}

// NewCmdAccount builds `cusax account` and its subcommands. runF, if not
// nil, receives the parsed options instead of running (tests).
func NewCmdAccount(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account <command>",
		Short: "List, show, remove, rename the accounts, or choose the default",
		Long: `Manage the accounts 'cusax login' set up: list them, show one (where its
passwords are kept, never the passwords), remove one with its stored
passwords, caches and state, rename one, or choose the default account
(the one used when --account is not given).

See docs/accounts.md.`,
		Example: `  $ cusax account list
  $ cusax account show work --json
  $ cusax account default work
  $ cusax account rename work office
  $ cusax account remove office --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newCmdList(f, runF),
		newCmdShow(f, runF),
		newCmdRemove(f, runF, "remove NAME", []string{"rm", "logout"}),
		newCmdRename(f, runF),
		newCmdDefault(f, runF),
	)
	return cmd
}

// NewCmdLogout builds `cusax logout NAME`: `cusax account remove` under
// the name gh users type (`gh auth logout`).
func NewCmdLogout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := newCmdRemove(f, runF, "logout NAME", nil)
	cmd.Short = "Remove an account with its stored passwords (cusax account remove)"
	cmd.Example = `  $ cusax logout work
  $ cusax logout work --yes --json`
	return cmd
}

// dispatch runs o.Sub, or hands o to runF.
func dispatch(o *Options, runF func(*Options) error) error {
	if runF != nil {
		return runF(o)
	}
	return Run(o)
}

// Run runs the subcommand o.Sub (tests call it from runF after adjusting
// o, e.g. AgentStatus).
func Run(o *Options) error {
	switch o.Sub {
	case "list":
		return listRun(o)
	case "show":
		return showRun(o)
	case "remove":
		return removeRun(o)
	case "rename":
		return renameRun(o)
	case "default":
		return defaultRun(o)
	}
	return fmt.Errorf("account: unknown subcommand %q", o.Sub)
}

// Argument checks that are usage errors (exit 2), as cobra's own are not.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cmdutil.Usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return cmdutil.Usagef("%s takes %s, got %d argument(s)", cmd.CommandPath(), what, len(args))
		}
		for _, a := range args {
			if a == "" {
				return cmdutil.Usagef("%s: an account name must not be empty", cmd.CommandPath())
			}
		}
		return nil
	}
}

func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return cmdutil.Usagef("%s takes %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// argv is name as an argument in a command line shown in a hint: after
// "--" when it would otherwise read as a flag.
func argv(name string) string {
	name = safe(name)
	if strings.HasPrefix(name, "-") {
		return "-- " + name
	}
	return name
}

// safe is s for a message on a terminal: an account name from a
// hand-edited config may hold control characters.
func safe(s string) string { return cmdutil.TermSafe(s) }

// completeNames completes the first n arguments with account names from
// the config (never a network call); no files.
func completeNames(f *cmdutil.Factory, n int) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg, _, err := f.Config()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, name := range cfg.Names() {
			if strings.HasPrefix(name, prefix) && config.ValidateName(name) == nil {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
