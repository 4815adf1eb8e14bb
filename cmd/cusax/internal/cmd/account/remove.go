package account

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/spf13/cobra"
)

func newCmdRemove(f *cmdutil.Factory, runF func(*Options) error, use string, aliases []string) *cobra.Command {
	o := &Options{F: f, Sub: "remove"}
	cmd := &cobra.Command{
		Use:     use,
		Aliases: aliases,
		Short:   "Remove an account with its stored passwords, caches and state",
		Long: `Remove the account NAME: its passwords (from the OS keyring in use and from
secrets.toml beside the config: every aspect, xmpp, sip and provisioning),
its vCard cache ($XDG_CACHE_HOME/cusax/vcards/NAME), its presence state
($XDG_STATE_HOME/cusax/presence/NAME.json), and last its entry in the
config, written atomically. Nothing of any other account is touched. A
password_command is not run and what it reads is not touched: it is yours.

On a terminal cusax asks first; otherwise --yes is required (without it
the command exits 2 and removes nothing). Declining exits 5.

If a step fails the config entry stays, so the same command can be run
again to finish. When the default account changes, cusax says which one
it is now, if any. A running agent (cusax agent) that keeps the
account connected goes on doing so until it is restarted: cusax says so.`,
		Example: `  $ cusax account remove work
  $ cusax account remove work --yes --json
  $ cusax logout work`,
		Args:              exactArgs(1, "one account name"),
		RunE:              func(_ *cobra.Command, args []string) error { o.Args = args; return dispatch(o, runF) },
		ValidArgsFunction: completeNames(f, 1),
	}
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "remove without asking")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print what was removed as JSON")
	return cmd
}

// RemoveJSON is what `account remove --json` prints.
type RemoveJSON struct {
	Account string `json:"account"`
	// SecretsDeleted are the passwords deleted, with the store each was in.
	SecretsDeleted []SecretJSON `json:"secrets_deleted"`
	// FilesRemoved are the local files (cache, state) that existed.
	FilesRemoved []localFile `json:"files_removed"`
	// WasDefault: the account was the default; DefaultAccount is the
	// default now ("" none: commands need --account), which may also
	// change when another account is removed (the only one left is the
	// default).
	WasDefault     bool   `json:"was_default"`
	DefaultAccount string `json:"default_account"`
	defaultBefore  string
	hasAccounts    bool
	// AgentRestartNeeded: the running agent keeps the account connected
	// until it is restarted.
	AgentRestartNeeded bool `json:"agent_restart_needed"`
}

// SecretJSON names one stored secret and where it is: store "keyring" or
// "file" (with SecretsFile). It never holds the secret.
type SecretJSON struct {
	// Ref is the secret's name in the store: "ACCOUNT/xmpp", "ACCOUNT/sip"
	// or "ACCOUNT/provisioning" (the keyring user, docs/accounts.md).
	Ref string `json:"ref"`
	// Aspect is whose password it is, in the JSON vocabulary: "chat",
	// "telephony" or "provisioning".
	Aspect      string `json:"aspect"`
	Store       string `json:"store"`
	SecretsFile string `json:"secrets_file,omitempty"`
}

// secretJSON describes ref, deleted from or stored in s.
func secretJSON(ref secrets.Ref, s secretStore) SecretJSON {
	return SecretJSON{Ref: ref.String(), Aspect: aspectName(ref.Aspect), Store: s.store.Name(), SecretsFile: s.path}
}

// aspectName is a secret store's aspect ("xmpp", "sip") under its name in
// cusax's JSON (RFC 7081 §2: "chat", "telephony"); "provisioning" stays.
func aspectName(storeAspect string) string {
	switch storeAspect {
	case config.AspectXMPP:
		return "chat"
	case config.AspectSIP:
		return "telephony"
	}
	return storeAspect
}

// removeRun removes the account. The order (documented in
// docs/accounts.md) makes every failure retryable: under the config lock,
// (1) the secrets are deleted from every store, (2) the local files, and
// (3) only then is the config entry removed and the config written
// atomically. A failure in (1) or (2) returns before (3): the account is
// still listed and `account remove` runs again over what is left (a
// deleted secret or file is not an error the second time). The reverse
// order could leave secrets behind with no account to name them.
func removeRun(o *Options) error {
	f := o.F
	name := o.Args[0]
	cfg, cfgPath, err := f.Config()
	if err != nil {
		return err
	}
	a, err := cfg.Account(name)
	if err != nil {
		return cmdutil.WithHint(cmdutil.Usagef("%v", err), "list them: cusax account list")
	}
	if err := o.confirm(*a); err != nil {
		return err
	}
	stores, err := o.stores(cfgPath)
	if err != nil {
		return err
	}
	res := RemoveJSON{Account: name, SecretsDeleted: []SecretJSON{}, FilesRemoved: []localFile{}}
	err = config.Update(cfgPath, func(c *config.Config) error {
		// Looked up again under the lock: another cusax may have changed it.
		if _, err := c.Account(name); err != nil {
			return cmdutil.Usagef("%v", err)
		}
		res.defaultBefore = c.EffectiveDefault()
		res.WasDefault = res.defaultBefore == name
		if config.ValidateName(name) == nil {
			for _, s := range stores {
				deleted, err := secrets.DeleteAccount(f.Context, s.store, name)
				for _, ref := range deleted {
					res.SecretsDeleted = append(res.SecretsDeleted, secretJSON(ref, s))
				}
				if err != nil {
					return fmt.Errorf("delete the passwords: %w", err)
				}
			}
		}
		removed, err := removeFiles(name)
		res.FilesRemoved = append(res.FilesRemoved, removed...)
		if err != nil {
			return err
		}
		if err := c.Remove(name); err != nil {
			return err
		}
		res.DefaultAccount, res.hasAccounts = c.EffectiveDefault(), len(c.Accounts) > 0
		return nil
	})
	switch {
	case errors.Is(err, config.ErrAccountNotFound):
		return err // removed meanwhile by another cusax
	case err != nil:
		return cmdutil.WithHint(fmt.Errorf("remove account %s: %w", safe(name), err),
			fmt.Sprintf("the account is still configured; fix the cause and run 'cusax account remove --yes %s' again", argv(name)))
	}
	res.AgentRestartNeeded = o.agentKeeps(name)
	if o.JSON {
		if err := cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("account-remove"), res); err != nil {
			return err
		}
	}
	o.reportRemove(res)
	return nil
}

// confirm asks on a terminal, or requires --yes.
func (o *Options) confirm(a config.Account) error {
	if o.Yes {
		return nil
	}
	io := o.F.IO
	if !io.CanPrompt() {
		return cmdutil.WithHint(cmdutil.Usagef("remove account %s: not asked (stdin is not a terminal) and --yes not given: nothing removed", safe(a.Name)),
			fmt.Sprintf("to remove it with its stored passwords, caches and state: cusax account remove --yes %s", argv(a.Name)))
	}
	answer, err := cmdutil.Prompt(io, fmt.Sprintf("remove account %s (%s) with its stored passwords? [y/N] ", safe(a.Name), safe(addresses(a))))
	if err != nil {
		return err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return nil
	}
	return cmdutil.WithExit(cmdutil.ExitDenied, fmt.Errorf("account %s not removed", safe(a.Name)))
}

// addresses is "alice@example.com, sip:alice@example.com".
func addresses(a config.Account) string {
	var out []string
	if a.XMPP != nil {
		out = append(out, a.XMPP.JID)
	}
	if a.SIP != nil {
		out = append(out, a.SIP.AOR)
	}
	if len(out) == 0 {
		return "no addresses"
	}
	return strings.Join(out, ", ")
}

// secretStore is a store to clean, with the file store's path.
type secretStore struct {
	store secrets.Store
	path  string
}

// stores are where an account's secrets may be: the store cusax uses here
// (the OS keyring, or secrets.toml where none works), and secrets.toml
// beside the config in any case (a secret stored there while the keyring
// was unavailable, or with CUSAX_SECRETS=file). The keyring is not tried
// where the store in use is the file: there is no working keyring then.
func (o *Options) stores(cfgPath string) ([]secretStore, error) {
	store, _, err := o.F.Secrets()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(filepath.Dir(cfgPath), secrets.FileName)
	if store.Name() == "file" {
		return []secretStore{{store: store, path: file}}, nil
	}
	return []secretStore{{store: store}, {store: secrets.File(file), path: file}}, nil
}

func (o *Options) reportRemove(res RemoveJSON) {
	w := o.F.IO.ErrOut
	name := safe(res.Account)
	var what []string
	if n := len(res.SecretsDeleted); n > 0 {
		what = append(what, fmt.Sprintf("%d stored password(s) (%s)", n, storesOf(res.SecretsDeleted)))
	}
	for _, lf := range res.FilesRemoved {
		what = append(what, strings.ReplaceAll(lf.What, "_", " "))
	}
	if len(what) == 0 {
		what = append(what, "no stored password, cache or state")
	}
	fmt.Fprintf(w, "cusax: removed account %s with %s\n", name, strings.Join(what, ", "))
	if res.hasAccounts && res.DefaultAccount != res.defaultBefore {
		if res.DefaultAccount != "" {
			fmt.Fprintf(w, "cusax: note: the default account is now %s\n", safe(res.DefaultAccount))
		} else {
			fmt.Fprintln(w, "cusax: note: there is no default account now; choose one with 'cusax account default NAME'")
		}
	}
	if res.AgentRestartNeeded {
		fmt.Fprintf(w, "cusax: note: the running agent still keeps account %s connected until it is restarted: cusax agent stop && cusax agent start\n", name)
	}
}

// storesOf names the stores secrets were deleted from: "keyring",
// "secrets.toml", or both.
func storesOf(ss []SecretJSON) string {
	var names []string
	seen := map[string]bool{}
	for _, s := range ss {
		n := s.Store
		if n == "file" {
			n = secrets.FileName
		} else if n == "keyring" {
			n = "OS keyring"
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return strings.Join(names, " and ")
}
