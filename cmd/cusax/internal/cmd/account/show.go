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

// ShowJSON is `account show --json`: ListJSON and the details.
type ShowJSON struct {
	ListJSON
	XMPPServer   string            `json:"xmpp_server,omitempty"`
	SIPProxy     string            `json:"sip_proxy,omitempty"`
	SIPUsername  string            `json:"sip_username,omitempty"`
	CAFile       string            `json:"ca_file,omitempty"`
	Policy       []string          `json:"policy,omitempty"`
	Provisioning *ProvisioningJSON `json:"provisioning,omitempty"`
	// Secrets says, per aspect, where its password is kept; never what
	// it is.
	Secrets []SecretPlace `json:"secrets"`
	// Files are the account's local files (files.go).
	Files []FileState `json:"files"`
}

// ProvisioningJSON is where a provisioned account came from.
type ProvisioningJSON struct {
	URL       string    `json:"url"`
	Provider  string    `json:"provider,omitempty"`
	Auth      string    `json:"auth,omitempty"`
	FetchedAt time.Time `json:"fetched_at,omitzero"`
}

// SecretPlace is where one aspect's password is kept.
type SecretPlace struct {
	// Aspect is "xmpp", "sip" or "provisioning".
	Aspect string `json:"aspect"`
	// Store is "password_command", "keyring", "file" or "none".
	Store string `json:"store"`
	// Path is the secrets file, for Store "file".
	Path string `json:"path,omitempty"`
	// Error is why a store could not be asked (e.g. a secrets file
	// others can read, which is refused).
	Error string `json:"error,omitempty"`
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
	out := ShowJSON{ListJSON: listEntry(cfg, *a), CAFile: a.CAFile, Policy: a.Policy, Secrets: []SecretPlace{}, Files: []FileState{}}
	if a.XMPP != nil {
		out.XMPPServer = a.XMPP.Server
	}
	if a.SIP != nil {
		out.SIPProxy, out.SIPUsername = a.SIP.Proxy, a.SIP.Username
	}
	if p := a.Provisioning; p != nil {
		out.Provisioning = &ProvisioningJSON{URL: p.URL, Provider: p.Provider, Auth: p.Auth, FetchedAt: p.Fetched}
	}
	if out.Secrets, err = o.secretPlaces(*a, cfgPath); err != nil {
		return err
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

// secretPlaces says where each aspect's password is, asking the stores
// (stores) in order; the first that has it wins.
func (o *Options) secretPlaces(a config.Account, cfgPath string) ([]SecretPlace, error) {
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
	out := []SecretPlace{}
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
		place := SecretPlace{Aspect: asp.name, Store: "none"}
		if asp.command != "" {
			place.Store = "password_command"
			out = append(out, place)
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
				place.Store, place.Path = s.store.Name(), s.path
				break
			}
		}
		if place.Store == "none" && len(errs) > 0 {
			place.Error = strings.Join(errs, "; ")
		}
		out = append(out, place)
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
	line("chat (xmpp)", joinVia(s.JID, s.XMPPServer))
	line("telephony (sip)", joinVia(s.AOR, s.SIPProxy))
	line("sip username", s.SIPUsername)
	line("backends", backendsCell(s.Backends))
	line("ca file", s.CAFile)
	line("policy", strings.Join(s.Policy, ", "))
	if p := s.Provisioning; p != nil {
		line("provisioned from", p.URL)
	}
	for _, p := range s.Secrets {
		line(p.Aspect+" password", placeText(p))
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

func placeText(p SecretPlace) string {
	var s string
	switch p.Store {
	case "keyring":
		s = "in the OS keyring"
	case "file":
		s = "in " + p.Path
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
