package account

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/spf13/cobra"
)

func newCmdShow(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f, Sub: "show"}
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show one account, and where its passwords are kept",
		Long: `Show the account NAME: its addresses, servers, backends, provisioning
source, and for each aspect where its password is kept: "keyring" (the OS
keyring), "file" (secrets.toml beside the config, with its path),
"password_command" (the command is not shown: it may hold a secret) or
"none". The passwords themselves are never shown. Also the account's
local files (vCard cache, presence state) and whether they exist.`,
		Example: `  $ cusax account show work
  $ cusax account show work --json`,
		Args:              exactArgs(1, "one account name"),
		RunE:              func(_ *cobra.Command, args []string) error { o.Args = args; return dispatch(o, runF) },
		ValidArgsFunction: completeNames(f, 1),
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

// ShowJSON is `account show --json`: ListJSON and the details. As
// everywhere in cusax's JSON (docs/json.md), the XMPP settings are under
// "chat" and the SIP ones under "telephony" (RFC 7081 §2); each says
// where its password is kept, never what it is.
type ShowJSON struct {
	ListJSON
	Chat         *ChatJSON         `json:"chat,omitempty"`
	Telephony    *TelephonyJSON    `json:"telephony,omitempty"`
	Provisioning *ProvisioningJSON `json:"provisioning,omitempty"`
	CAFile       string            `json:"ca_file,omitempty"`
	Policy       []string          `json:"policy,omitempty"`
	// Files are the account's local files (files.go).
	Files []FileState `json:"files"`
}

// ChatJSON is the Chat (XMPP) aspect of `account show --json`.
type ChatJSON struct {
	Server string `json:"server,omitempty"`
	PasswordPlace
}

// TelephonyJSON is the Telephony (SIP) aspect of `account show --json`.
type TelephonyJSON struct {
	Proxy    string `json:"proxy,omitempty"`
	Username string `json:"username,omitempty"`
	PasswordPlace
}

// ProvisioningJSON is where a provisioned account came from, and where
// the provisioning server's password is kept (no source when its auth is
// "none").
type ProvisioningJSON struct {
	URL       string    `json:"url"`
	Provider  string    `json:"provider,omitempty"`
	Auth      string    `json:"auth,omitempty"`
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	PasswordPlace
}

// PasswordPlace is where one aspect's password is kept.
type PasswordPlace struct {
	// Source is "password_command" (the command is never shown: it may
	// embed a secret), "keyring", "file" or "none"; "" (left out) where
	// the aspect needs no password.
	Source string `json:"password_source,omitempty"`
	// SecretsFile is the secrets file holding it, for Source "file".
	SecretsFile string `json:"secrets_file,omitempty"`
	// Error is why a store could not be asked (e.g. a secrets file
	// others can read, which is refused).
	Error string `json:"password_error,omitempty"`
}

// FileState is a local file of the account and whether it exists.
type FileState struct {
	localFile
	Exists bool `json:"exists"`
}

func showRun(o *Options) error {
	f := o.F
	cfg, cfgPath, err := f.Config()
	if err != nil {
		return err
	}
	a, err := cfg.Account(o.Args[0])
	if err != nil {
		return cmdutil.WithHint(cmdutil.Usagef("%v", err), "list them: cusax account list")
	}
	out := ShowJSON{ListJSON: listEntry(cfg, *a), CAFile: a.CAFile, Policy: a.Policy, Files: []FileState{}}
	places, err := o.passwordPlaces(*a, cfgPath)
	if err != nil {
		return err
	}
	if a.XMPP != nil {
		out.Chat = &ChatJSON{Server: a.XMPP.Server, PasswordPlace: places[config.AspectXMPP]}
	}
	if a.SIP != nil {
		out.Telephony = &TelephonyJSON{Proxy: a.SIP.Proxy, Username: a.SIP.Username, PasswordPlace: places[config.AspectSIP]}
	}
	if p := a.Provisioning; p != nil {
		out.Provisioning = &ProvisioningJSON{URL: p.URL, Provider: p.Provider, Auth: p.Auth, FetchedAt: p.Fetched.UTC(),
			PasswordPlace: places[config.AspectProvisioning]}
	}
	files, err := accountFiles(a.Name)
	if err != nil {
		return err
	}
	for _, lf := range files {
		_, serr := os.Lstat(lf.Path)
		out.Files = append(out.Files, FileState{localFile: lf, Exists: serr == nil})
	}
	if o.JSON {
		return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("account-show"), out)
	}
	return printShow(o, out)
}

// passwordPlaces says where each aspect's password is, by the aspect's
// name in the secret stores (config.AspectXMPP, …): a password_command
// first, as secrets.Resolve does, then the stores (stores) in order; the
// first that has it wins.
func (o *Options) passwordPlaces(a config.Account, cfgPath string) (map[string]PasswordPlace, error) {
	type aspect struct{ name, command string }
	var aspects []aspect
	if a.XMPP != nil {
		aspects = append(aspects, aspect{config.AspectXMPP, a.XMPP.PasswordCommand})
	}
	if a.SIP != nil {
		aspects = append(aspects, aspect{config.AspectSIP, a.SIP.PasswordCommand})
	}
	if p := a.Provisioning; p != nil && p.Auth != "none" {
		aspects = append(aspects, aspect{config.AspectProvisioning, p.PasswordCommand})
	}
	out := map[string]PasswordPlace{}
	if len(aspects) == 0 {
		return out, nil
	}
	var stores []secretStore
	if config.ValidateName(a.Name) == nil {
		var err error
		if stores, err = o.stores(cfgPath); err != nil {
			return nil, err
		}
	}
	for _, asp := range aspects {
		place := PasswordPlace{Source: "none"}
		if asp.command != "" {
			place.Source = "password_command"
			out[asp.name] = place
			continue
		}
		var errs []string
		for _, s := range stores {
			ok, err := secrets.Has(o.F.Context, s.store, secrets.Ref{Account: a.Name, Aspect: asp.name})
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if ok {
				place.Source, place.SecretsFile = s.store.Name(), s.path
				break
			}
		}
		if place.Source == "none" && len(errs) > 0 {
			place.Error = strings.Join(errs, "; ")
		}
		out[asp.name] = place
	}
	return out, nil
}

func printShow(o *Options, s ShowJSON) error {
	tw := tabwriter.NewWriter(o.F.IO.Out, 0, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, safe(v))
		}
	}
	line("name", s.Name)
	line("default", yesNo(s.Default))
	line("related", yesNo(s.Related))
	if c := s.Chat; c != nil {
		line("chat (xmpp)", joinVia(s.JID, c.Server))
	}
	if t := s.Telephony; t != nil {
		line("telephony (sip)", joinVia(s.AOR, t.Proxy))
		line("sip username", t.Username)
	}
	line("backends", backendsCell(s.Backends))
	line("ca file", s.CAFile)
	line("policy", strings.Join(s.Policy, ", "))
	if p := s.Provisioning; p != nil {
		line("provisioned from", p.URL)
	}
	if c := s.Chat; c != nil {
		line("chat password", placeText(c.PasswordPlace))
	}
	if t := s.Telephony; t != nil {
		line("telephony password", placeText(t.PasswordPlace))
	}
	if p := s.Provisioning; p != nil {
		line("provisioning password", placeText(p.PasswordPlace))
	}
	for _, fs := range s.Files {
		state := "none"
		if fs.Exists {
			state = fs.Path
		}
		line(strings.ReplaceAll(fs.What, "_", " "), state)
	}
	return tw.Flush()
}

func joinVia(addr, via string) string {
	if addr == "" {
		return ""
	}
	if via != "" {
		return addr + " via " + via
	}
	return addr
}

// placeText is p for the terminal; "" (no line) where the aspect needs
// no password.
func placeText(p PasswordPlace) string {
	var s string
	switch p.Source {
	case "":
		return ""
	case "keyring":
		s = "in the OS keyring"
	case "file":
		s = "in " + p.SecretsFile
	case "password_command":
		s = "from password_command"
	default:
		s = "not stored"
	}
	if p.Error != "" {
		s += " (" + p.Error + ")"
	}
	return s
}
