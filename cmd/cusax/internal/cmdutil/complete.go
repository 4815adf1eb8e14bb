package cmdutil

import (
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/vcardcache"
	"github.com/cusax/cusax/pkg/protocol"
)

// Shell completion (cusax completion bash|zsh|fish). A completion runs on
// every Tab, so it only reads local files: the config for account names
// (through config.Load, which refuses a config others could have written
// and, as for every command, clears a killed write's temporary file), the
// roster cache for contacts. It never logs in, never starts a plugin and
// never opens the secret store; when a file is missing, refused or broken
// it offers nothing rather than an error.

// CompleteEnum makes flag name complete to values (and never to files).
func CompleteEnum(cmd *cobra.Command, name string, values []string) {
	_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// CompleteEnumList makes a comma-separated list flag (--accept a,b)
// complete its last element to the values not given yet.
func CompleteEnumList(cmd *cobra.Command, name string, values []string) {
	_ = cmd.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		given := strings.Split(toComplete, ",")
		head := strings.Join(given[:len(given)-1], ",")
		if head != "" {
			head += ","
		}
		var out []string
		for _, v := range values {
			if !slices.Contains(given[:len(given)-1], v) {
				out = append(out, head+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
}

// CompleteAccountFlag makes flag name (--account, --via, …) complete to
// the configured account names.
func (f *Factory) CompleteAccountFlag(cmd *cobra.Command, name string) {
	_ = cmd.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return f.accountNames(nil), cobra.ShellCompDirectiveNoFileComp
	})
}

// CompleteAccountArgs completes every positional argument to an account
// name not given yet (status, audit-tls).
func (f *Factory) CompleteAccountArgs(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	return f.accountNames(args), cobra.ShellCompDirectiveNoFileComp
}

// CompleteContact completes the first positional argument to a contact
// from the roster cache of the account named by the --account flag (the
// default account without it); later arguments get nothing.
func (f *Factory) CompleteContact(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	account := ""
	if fl := cmd.Flags().Lookup("account"); fl != nil {
		account = fl.Value.String()
	}
	return f.cachedContacts(account, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func (f *Factory) completionConfig() *config.Config {
	path, err := f.ConfigPath()
	if err != nil {
		return nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil
	}
	return cfg
}

// accountNames lists the configured accounts, less those in given.
func (f *Factory) accountNames(given []string) []string {
	cfg := f.completionConfig()
	if cfg == nil {
		return nil
	}
	var out []string
	for _, n := range cfg.Names() {
		if !slices.Contains(given, n) {
			out = append(out, n)
		}
	}
	return out
}

// cachedContacts lists account's cached roster: each contact by its name
// (its JID as the description), or by its JID when it has no name or when
// what is typed so far matches the JID only.
func (f *Factory) cachedContacts(account, toComplete string) []string {
	cfg := f.completionConfig()
	if cfg == nil {
		return nil
	}
	a, err := cfg.Account(account)
	if err != nil {
		return nil
	}
	root, err := vcardcache.Dir()
	if err != nil {
		return nil
	}
	items, err := vcardcache.LoadRoster(root, a.Name)
	if err != nil {
		return nil
	}
	return contactCandidates(items, toComplete)
}

func contactCandidates(items []protocol.RosterItem, toComplete string) []string {
	prefix := strings.ToLower(toComplete)
	var out []string
	for _, it := range items {
		// Names are other people's text, and a line break or tab would
		// split the shell's list: whitespace runs become one space; a name
		// with control or bidi characters is offered as its JID; a JID
		// with any is left out.
		name := strings.Join(strings.Fields(it.Name), " ")
		if needsEscape(name) {
			name = ""
		}
		if it.JID == "" || needsEscape(it.JID) || strings.ContainsFunc(it.JID, unicode.IsSpace) {
			continue
		}
		switch {
		case name != "" && strings.HasPrefix(strings.ToLower(name), prefix):
			out = append(out, cobra.CompletionWithDesc(name, it.JID))
		case strings.HasPrefix(strings.ToLower(it.JID), prefix):
			if name == "" {
				out = append(out, it.JID)
			} else {
				out = append(out, cobra.CompletionWithDesc(it.JID, name))
			}
		}
	}
	return out
}

// FinishCompletion gives every command and flag under root that has no
// completion of its own ShellCompDirectiveNoFileComp: the shell offers
// file names only where a file is meant, that is for flags marked with
// MarkFlagFilename or MarkFlagDirname, and for commands that completed
// their arguments themselves.
func FinishCompletion(root *cobra.Command) {
	none := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.ValidArgsFunction == nil && len(c.ValidArgs) == 0 {
			c.ValidArgsFunction = none
		}
		visit := func(fl *pflag.Flag) {
			if fl.Value.Type() == "bool" {
				return
			}
			if _, ok := fl.Annotations[cobra.BashCompFilenameExt]; ok {
				return
			}
			if _, ok := fl.Annotations[cobra.BashCompSubdirsInDir]; ok {
				return
			}
			if _, ok := c.GetFlagCompletionFunc(fl.Name); ok {
				return
			}
			_ = c.RegisterFlagCompletionFunc(fl.Name, none)
		}
		c.Flags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// RememberRoster keeps account a's roster in the roster cache for shell
// completion (CompleteContact). Commands call it whenever they fetched
// the whole roster; a cache that cannot be written only costs completion.
func (f *Factory) RememberRoster(a config.Account, items []protocol.RosterItem) {
	root, err := vcardcache.Dir()
	if err == nil {
		err = vcardcache.SaveRoster(root, a.Name, items)
	}
	if err != nil && f.Logger != nil {
		f.Logger().Debug("roster cache not written", "account", a.Name, "error", err)
	}
}
