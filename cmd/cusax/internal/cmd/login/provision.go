package login

import (
	"fmt"
	"io"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/enrol"
)

// provisioning reports whether the account comes from a provider's
// document rather than from flags.
func (o *Options) provisioning() bool { return o.Provision != "" || o.Discover != "" || o.Refresh }

// manualFlags are the flags a provider's document sets; they cannot be
// mixed with it (the document would silently win or lose).
var manualFlags = []string{"jid", "aor", "xmpp-server", "xmpp-direct-tls", "sip-proxy", "sip-username", "no-relationship", "allow-plaintext"}

// runProvision sets an account up from a provider's provisioning document
// (--provision URL, --discover ADDRESS) or fetches it again (--refresh),
// then proves it live like any login before saving it (enrol.Provision,
// enrol.Prove). Nothing is saved unless both the document and the login
// are good.
func runProvision(o *Options, cfg *config.Config, cfgPath string) error {
	n := 0
	for _, on := range []bool{o.Provision != "", o.Discover != "", o.Refresh} {
		if on {
			n++
		}
	}
	if n > 1 {
		return cmdutil.Usagef("--provision, --discover and --refresh are mutually exclusive")
	}
	for _, fl := range manualFlags {
		if o.set(fl) {
			return cmdutil.Usagef("--%s cannot be combined with provisioning: the provider's document sets it", fl)
		}
	}
	if o.Refresh && o.set("policy") {
		return cmdutil.Usagef("--policy cannot be combined with --refresh: set the policy list with cusax login --name NAME --policy …")
	}
	if o.WebFingerAddr != "" && o.Discover == "" {
		return cmdutil.Usagef("--webfinger-addr needs --discover")
	}
	if o.PasswordStdin && o.PasswordCommand != "" {
		return cmdutil.Usagef("--password-stdin and --password-command are mutually exclusive")
	}
	switch o.Auth {
	case "", "basic", "bearer", "none":
	default:
		return cmdutil.Usagef("--auth: %q is not basic, bearer or none", o.Auth)
	}
	env, storeNote, err := o.env(cfgPath)
	if err != nil {
		return err
	}
	req := enrol.ProvisionRequest{
		Config: cfg, Name: o.Name, URL: o.Provision, Discover: o.Discover, WebFingerAddr: o.WebFingerAddr,
		Refresh: o.Refresh, Passwords: o.passwordInput(), Timeout: o.Timeout,
		User: o.flag("user", o.User), Auth: o.flag("auth", o.Auth),
		XMPPBackend: o.flag("xmpp-backend", o.XMPPBackend), SIPBackend: o.flag("sip-backend", o.SIPBackend),
	}
	if o.set("ca-file") {
		abs := absPath(o.CAFile)
		req.CAFile = &abs
	}
	setup, err := enrol.Provision(o.F.Context, env, req)
	if err != nil {
		return cliErr(err)
	}
	if setup.UpToDate {
		return o.upToDate(setup)
	}
	return o.prove(env, storeNote, enrol.Job{
		Account: setup.Account, XMPPPassword: setup.XMPPPassword, SIPPassword: setup.SIPPassword, Provisioned: setup.Provisioned,
	})
}

// flag is the value of a flag the user gave, nil when not given.
func (o *Options) flag(name, value string) *string {
	if !o.set(name) {
		return nil
	}
	return &value
}

// upToDate says that a refresh found nothing to do.
func (o *Options) upToDate(s *enrol.Setup) error {
	rep := s.Provisioned.Report.Normalized()
	if o.JSON {
		return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("login"), struct {
			Account      string        `json:"account"`
			OK           bool          `json:"ok"`
			Saved        bool          `json:"saved"`
			Provisioning *enrol.Report `json:"provisioning"`
		}{s.Name, true, false, &rep})
	}
	fmt.Fprintf(o.F.IO.Out, "Account %s is up to date with %s: %s\n", s.Name, rep.URL, s.Why)
	return nil
}

// printProvisioned says which provider set the account up and what a
// refresh changed.
func printProvisioned(w io.Writer, r *enrol.Report) {
	if r == nil {
		return
	}
	who := r.URL
	if r.Provider != "" {
		who = r.Provider + " (" + r.URL + ")"
	}
	fmt.Fprintf(w, "Provisioned by %s\n", who)
	for _, c := range r.Changes {
		fmt.Fprintf(w, "  changed %s: %s → %s\n", c.Field, orNone(c.From), orNone(c.To))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
