// Package agent implements `cusax agent run|start|stop|status`: the
// per-user daemon of pkg/core/agent that keeps the accounts connected.
package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	coreagent "github.com/cusax/cusax/pkg/core/agent"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Options are the parsed flags of every subcommand.
type Options struct {
	F *cmdutil.Factory
	// Sub is "run", "start", "stop" or "status".
	Sub      string
	Accounts []string
	JSON     bool
	// ProbeEvery is the XMPP liveness probe interval (hidden; tests).
	ProbeEvery time.Duration
	// Wait bounds start and stop.
	Wait time.Duration
	// Foreground makes start behave as run (start --foreground).
	Foreground bool
	// Globals are the global flags given (--plugin-dir, --debug,
	// --allow-plaintext), which start hands on to the agent it runs;
	// --config travels as CUSAX_CONFIG.
	Globals []string
}

// NewCmdAgent builds `cusax agent` and its subcommands.
func NewCmdAgent(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Keep the accounts connected in the background (run, start, stop, status)",
		Long: `The agent is one process per user that keeps every configured account
connected: SIP registered first, then XMPP (RFC 7081 §2), registrations
refreshed, dropped connections noticed and restored with backoff, every
change of state logged. It listens on a private socket
($XDG_RUNTIME_DIR/cusax-agent/agent.sock, else $TMPDIR/cusax-agent-UID/)
that only processes of the same user may use; it refuses to run when that
directory is reachable by others.

  run     in the foreground, logging to stderr (for systemd: Type=simple)
  start   in the background, logging to $XDG_STATE_HOME/cusax/agent.log
  stop    stop the running agent (SIP unregistered, presence unavailable)
  status  what the agent keeps connected, and how

See docs/agent.md.`,
		Example: `  $ cusax agent start
  $ cusax agent status --json
  $ cusax agent run --account work
  $ cusax agent stop`,
		// Runnable, so that an unknown subcommand (agent stauts) is a
		// usage error with a suggestion rather than help and exit 0.
		Args: cmdutil.NoArgsButSubcommands,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	sub := func(name, short string, setup func(*cobra.Command, *Options)) *cobra.Command {
		opts := &Options{F: f, Sub: name, ProbeEvery: 30 * time.Second, Wait: 30 * time.Second}
		c := &cobra.Command{
			Use:   name,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				opts.Globals = globalFlags(c)
				if runF != nil {
					return runF(opts)
				}
				return dispatch(opts)
			},
		}
		setup(c, opts)
		return c
	}
	accounts := func(c *cobra.Command, o *Options) {
		c.Flags().StringArrayVar(&o.Accounts, "account", nil, "keep only this account connected (repeatable; default all)")
		f.CompleteAccountFlag(c, "account")
		c.Flags().DurationVar(&o.ProbeEvery, "probe-every", 30*time.Second, "XMPP liveness probe interval")
		_ = c.Flags().MarkHidden("probe-every")
	}
	run := sub("run", "Run the agent in the foreground (logs to stderr; for systemd)", accounts)
	run.Aliases = []string{"foreground"}
	run.Long = `Run the agent in the foreground until SIGTERM or SIGINT: it stays in front
and logs each change of state to stderr, as systemd expects of a
Type=simple service. On SIGTERM it unregisters SIP, sends presence
unavailable, logs out, removes its socket and exits 0.

A second agent refuses to run while one answers on the socket (exit 16);
a socket directory others can reach is refused (exit 2).`
	start := sub("start", "Start the agent in the background and print its pid", func(c *cobra.Command, o *Options) {
		accounts(c, o)
		c.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
		c.Flags().DurationVar(&o.Wait, "wait", 30*time.Second, "how long to wait for the agent to answer")
		c.Flags().BoolVar(&o.Foreground, "foreground", false, "stay in the foreground, as 'agent run' (for systemd)")
	})
	start.Long = `Start 'cusax agent run' detached (its own session, stdin from /dev/null,
stdout and stderr appended to $XDG_STATE_HOME/cusax/agent.log, mode 0600),
wait until it answers on its socket, and print its pid. When an agent is
already running it says so and exits 0: there is never a second one.
With --foreground it is 'agent run'.`
	stop := sub("stop", "Stop the running agent and wait until it is gone", func(c *cobra.Command, o *Options) {
		c.Flags().DurationVar(&o.Wait, "wait", 30*time.Second, "how long to wait for the agent to end")
	})
	stop.Long = `Ask the agent to stop as on SIGTERM and wait until its process is gone.
With no agent running it says so and exits 0.`
	status := sub("status", "Show what the agent keeps connected", func(c *cobra.Command, o *Options) {
		c.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	})
	status.Long = `Show the running agent (pid, version, since when) and the state of each
account's aspects: connected, connecting or down, since when, and the last
error. Exit 15 when no agent is running; exit 2 when its socket is refused
(not private to you).`
	cmd.AddCommand(run, start, stop, status)
	return cmd
}

func dispatch(o *Options) error {
	switch o.Sub {
	case "run":
		return runAgent(o)
	case "start":
		if o.Foreground {
			return runAgent(o)
		}
		return startAgent(o)
	case "stop":
		return stopAgent(o)
	case "status":
		return showStatus(o)
	}
	return fmt.Errorf("agent %s: unknown subcommand", o.Sub)
}

// runAgent is `cusax agent run`.
func runAgent(o *Options) error {
	f := o.F
	cfg, _, err := f.Config()
	if err != nil {
		return err
	}
	accts, err := pick(cfg, o.Accounts)
	if err != nil {
		return err
	}
	// Not f.Backends: in one-liners that lends from the running agent;
	// the agent starts its own backends.
	src, err := agentSource(f)
	if err != nil {
		return err
	}
	store, _, err := f.Secrets()
	if err != nil {
		return err
	}
	a, err := coreagent.New(coreagent.Options{
		Source: src, Store: store, Accounts: accts, Version: f.Version, ProbeEvery: o.ProbeEvery,
		Log: func(line string) { fmt.Fprintln(f.IO.ErrOut, "cusax agent: "+cmdutil.TermSafe(line)) },
	})
	if err != nil {
		return err
	}
	return agentErr(a.Run(f.Context))
}

// agentErr maps the agent's refusals to their exit codes.
func agentErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, coreagent.ErrRunning):
		return cmdutil.WithExit(cmdutil.ExitAgentRunning, cmdutil.WithHint(err, "stop it first: cusax agent stop"))
	case errors.Is(err, agentapi.ErrRefused):
		return cmdutil.WithExit(cmdutil.ExitUsage, cmdutil.WithHint(err,
			"the agent's socket directory must be yours, mode 0700, not a symlink; remove it or chmod 700 it"))
	case errors.Is(err, agentapi.ErrNoAgent):
		return cmdutil.WithExit(cmdutil.ExitNoAgent, cmdutil.WithHint(err, "start one: cusax agent start"))
	}
	return err
}

// globalFlags lists the root's persistent flags set on this invocation,
// except --config, as arguments.
func globalFlags(c *cobra.Command) []string {
	var out []string
	// VisitAll and Changed: parsing happened on the subcommand's merged
	// flag set, which shares these flags but not the root's record of them.
	c.Root().PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" || !f.Changed {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

// pick keeps the accounts named (all when none is).
func pick(cfg *config.Config, names []string) ([]config.Account, error) {
	if len(cfg.Accounts) == 0 {
		return nil, cmdutil.WithHint(cmdutil.Usagef("no accounts configured"), "add one: cusax login")
	}
	if len(names) == 0 {
		return cfg.Accounts, nil
	}
	var out []config.Account
	for _, n := range names {
		a, err := cfg.Account(n)
		if err != nil {
			return nil, cmdutil.Usagef("%v", err)
		}
		out = append(out, *a)
	}
	return out, nil
}

// dial connects to the running agent.
func dial(ctx context.Context) (agentapi.AgentClient, func(), error) {
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	return agentapi.NewAgentClient(cc), func() { cc.Close() }, nil
}
