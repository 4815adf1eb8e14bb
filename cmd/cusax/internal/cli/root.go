package cli

import (
	"context"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/agent"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmd/account"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/answer"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/auditcontacts"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/audittls"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/call"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/chat"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/login"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/plugins"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/presence"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/roster"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/status"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/version"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/whoiscaller"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/spf13/cobra"
)

// NewRootCmd builds the command tree.
func NewRootCmd(f *cmdutil.Factory, g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "cusax <command>",
		Short: "One tool for SIP calls and XMPP chat (RFC 7081)",
		Long: `cusax uses one account made of two aspects: SIP for calls ("Telephony") and
XMPP for chat, presence, the roster and vCards ("Chat"), as RFC 7081 (CUSAX)
describes. Data goes to stdout, diagnostics to stderr; every data command
takes --json. See 'cusax help exit-codes'.`,
		Example: `  $ cusax login --name work --jid alice@example.com --aor sip:alice@example.com --password-stdin < pw
  $ cusax status --check
  $ cusax plugins --json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Version,
	}
	root.SetVersionTemplate("cusax {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", "", "config file (default $CUSAX_CONFIG, else $XDG_CONFIG_HOME/cusax/config.toml)")
	pf.StringArrayVar(&g.pluginDirs, "plugin-dir", nil, "extra plugin directory, searched first (repeatable; also $CUSAX_PLUGIN_PATH)")
	pf.BoolVar(&g.debug, "debug", false, "log debug details, including plugin logs, to stderr")
	// Per invocation only, never stored (issue 13 item 9): a setting in the
	// config would later authenticate in the clear without a word.
	pf.BoolVar(&g.allowPlaintext, "allow-plaintext", false, "this once, when an XMPP server refuses TLS, log in without it (the credentials and the session cross the network unprotected)")
	pf.BoolVar(&g.noAgent, "no-agent", false, "log in afresh even when the agent (cusax agent) keeps the account connected (also CUSAX_NO_AGENT=1)")
	root.SetFlagErrorFunc(cmdutil.FlagError)
	_ = root.MarkPersistentFlagFilename("config", "toml")
	_ = root.MarkPersistentFlagDirname("plugin-dir")

	root.AddCommand(
		login.NewCmdLogin(f, nil),
		account.NewCmdAccount(f, nil),
		account.NewCmdLogout(f, nil),
		roster.NewCmdRoster(f),
		presence.NewCmdPresence(f, nil),
		chat.NewCmdChat(f, nil),
		call.NewCmdCall(f, nil),
		whoiscaller.NewCmdWhoisCaller(f, nil),
		answer.NewCmdAnswer(f, nil),
		audittls.NewCmdAuditTLS(f, nil),
		auditcontacts.NewCmdAuditContacts(f, nil),
		status.NewCmdStatus(f, nil),
		plugins.NewCmdPlugins(f, nil),
		version.NewCmdVersion(f, nil),
		agent.NewCmdAgent(f, nil),
		&cobra.Command{Use: "exit-codes", Short: "The exit codes cusax returns", Long: cmdutil.ExitCodesHelp},
	)
	// Unknown commands and bad arguments are usage errors (exit 2). This
	// replaces cobra's own check, so its "did you mean" is made here.
	root.Args = cmdutil.NoArgsButSubcommands
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	// --jq on every command that has --json (docs/json.md).
	cmdutil.EnableJQ(root, f)
	cmdutil.FinishCompletion(root)
	return root
}

// isUnknownCommand recognises cobra's own "unknown command" error.
func isUnknownCommand(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "unknown command ")
}

// NewRootCmdForDocs builds the command tree for documentation generators.
func NewRootCmdForDocs(ctx context.Context, io *iostreams.IOStreams) *cobra.Command {
	f, g := newFactory(ctx, io)
	return NewRootCmd(f, g)
}
