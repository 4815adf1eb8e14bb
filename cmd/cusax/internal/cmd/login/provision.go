package login

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/provision"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// provisioning reports whether the account comes from a provider's
// document rather than from flags.
func (o *Options) provisioning() bool { return o.Provision != "" || o.Discover != "" || o.Refresh }

// manualFlags are the flags a provider's document sets; they cannot be
// mixed with it (the document would silently win or lose).
var manualFlags = []string{"jid", "aor", "xmpp-server", "xmpp-direct-tls", "sip-proxy", "sip-username", "no-relationship", "allow-plaintext"}

// ProvisionJSON is the "provisioning" object of login --json.
type ProvisionJSON struct {
	URL      string             `json:"url"`
	Provider string             `json:"provider,omitempty"`
	Auth     string             `json:"auth"`
	User     string             `json:"user,omitempty"`
	SHA256   string             `json:"document_sha256"`
	Refresh  bool               `json:"refresh"`
	Changes  []provision.Change `json:"changes"`
	Warnings []string           `json:"warnings"`
}

// provisioned is what a provider's document adds to a login: the secret
// for the provisioning server, the [calls] settings, and what to report.
type provisioned struct {
	report ProvisionJSON
	secret string               // stored under config.AspectProvisioning unless from a command
	keep   bool                 // store secret
	calls  *config.CallSettings // [calls] with the document's cost gate applied
}

func (p *provisioned) json() *ProvisionJSON {
	if p == nil {
		return nil
	}
	r := p.report
	if r.Changes == nil {
		r.Changes = []provision.Change{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return &r
}

func (p *provisioned) printHuman(w io.Writer) {
	if p == nil {
		return
	}
	who := p.report.URL
	if p.report.Provider != "" {
		who = p.report.Provider + " (" + p.report.URL + ")"
	}
	fmt.Fprintf(w, "Provisioned by %s\n", who)
	for _, c := range p.report.Changes {
		fmt.Fprintf(w, "  changed %s: %s → %s\n", c.Field, orNone(c.From), orNone(c.To))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (p *provisioned) saveSecret(ctx context.Context, store secrets.Store, account string) error {
	if p == nil || !p.keep || p.secret == "" {
		return nil
	}
	if err := store.Set(ctx, secrets.Ref{Account: account, Aspect: config.AspectProvisioning}, p.secret); err != nil {
		return fmt.Errorf("store provisioning credential: %w", err)
	}
	return nil
}

func (p *provisioned) applyCalls(c *config.Config) {
	if p != nil && p.calls != nil {
		c.Calls = *p.calls
	}
}

// runProvision sets an account up from a provider's provisioning document
// (--provision URL, --discover ADDRESS) or fetches it again (--refresh),
// then proves it live like any login before saving it. Nothing is saved
// unless both the document and the login are good.
func runProvision(o *Options, cfg *config.Config, cfgPath string) error {
	f := o.F
	ctx := f.Context
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

	var prev *config.Account
	name := o.Name
	if o.Refresh {
		a, err := cfg.Account(name)
		if err != nil {
			return err
		}
		if a.Provisioning == nil {
			return cmdutil.WithHint(cmdutil.Usagef("account %q was not set up from a provisioning document; nothing to refresh", a.Name),
				"set it up with cusax login --provision URL or --discover ADDRESS")
		}
		prev, name = a, a.Name
	} else if name != "" {
		if a, err := cfg.Account(name); err == nil && a.Name == name {
			prev = a
		}
	}

	caFile := ""
	switch {
	case o.set("ca-file"):
		caFile = absPath(o.CAFile)
	case prev != nil:
		caFile = prev.CAFile
	}
	roots, err := trustRoots(caFile)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}

	rep := ProvisionJSON{Refresh: o.Refresh}
	switch {
	case o.Refresh:
		rep.URL, rep.Auth, rep.User = prev.Provisioning.URL, prev.Provisioning.Auth, prev.Provisioning.Username
		if o.set("auth") {
			rep.Auth = o.Auth
		}
		if o.set("user") {
			rep.User = o.User
		}
	case o.Discover != "":
		progressf(o, "looking up the provisioning document of %s (WebFinger, RFC 7033)", o.Discover)
		u, err := provision.Discover(ctx, o.Discover, provision.DiscoverOptions{Roots: roots, Addr: o.WebFingerAddr, Timeout: o.Timeout})
		if err != nil {
			return cmdutil.WithHint(fmt.Errorf("discover %s: %w", o.Discover, err), discoverHints(err)...)
		}
		rep.URL = u
		rep.User = o.User
		if rep.User == "" {
			rep.User = strings.TrimPrefix(o.Discover, "acct:")
		}
	default:
		rep.URL, rep.User = o.Provision, o.User
	}
	if rep.Auth == "" {
		rep.Auth = o.Auth
		if rep.Auth == "" {
			rep.Auth = "basic"
		}
	}
	// Refused before any secret is read: the document sets up servers
	// and credentials.
	if err := provision.CheckURL(rep.URL); err != nil {
		return err
	}

	store, storeNote, err := f.Secrets()
	if err != nil {
		return err
	}
	if rep.Auth == "basic" && rep.User == "" {
		if !f.IO.CanPrompt() {
			return cmdutil.WithHint(cmdutil.Usagef("--user is required: the provisioning server %s asks for a user ID", hostOf(rep.URL)),
				"or use --discover ADDRESS, or --auth none for a document without authentication")
		}
		if rep.User, err = cmdutil.Prompt(f.IO, fmt.Sprintf("User ID at %s: ", hostOf(rep.URL))); err != nil {
			return err
		}
	}
	cred, err := o.provisionSecret(ctx, store, rep, prev)
	if err != nil {
		return err
	}

	fopts := provision.FetchOptions{Roots: roots, Timeout: o.Timeout, UserAgent: "cusax"}
	switch rep.Auth {
	case "basic":
		fopts.Auth = provision.Basic{User: rep.User, Password: cred.secret}
	case "bearer":
		fopts.Auth = provision.Bearer{Token: cred.secret}
	}
	if o.Refresh {
		fopts.ETag, fopts.LastModified = prev.Provisioning.ETag, prev.Provisioning.LastModified
	}
	progressf(o, "fetching the provisioning document from %s", hostOf(rep.URL))
	fetched, err := provision.Fetch(ctx, rep.URL, fopts)
	if err != nil {
		// Fetch's errors name the URL already.
		return cmdutil.WithHint(err, fetchHints(err, rep)...)
	}
	if o.Refresh && fetched.NotModified {
		return o.upToDate(cfgPath, name, rep, fetched, "the server says the document has not changed (304)")
	}

	res, err := provision.Apply(cfg, fetched.Document, provision.ApplyOptions{Name: name, Origin: fetched.Origin(fopts.Auth), CAFile: caFile})
	if err != nil {
		if errors.Is(err, provision.ErrAccountExists) {
			return cmdutil.WithHint(cmdutil.Usagef("%v", err), "give the provisioned account another --name")
		}
		return fmt.Errorf("provisioning document %s: %w", rep.URL, err)
	}
	name = res.Account
	rep.Provider, rep.SHA256, rep.Warnings = fetched.Document.Provider, fetched.SHA256, res.Warnings
	if o.Refresh {
		rep.Changes = res.Changes
		if len(rep.Changes) == 0 {
			return o.upToDate(cfgPath, name, rep, fetched, "the document has not changed")
		}
	}
	ap, err := res.Config.Account(name)
	if err != nil {
		return err
	}
	acct := *ap
	if acct.Provisioning != nil {
		acct.Provisioning.PasswordCommand = cred.command
	}
	keepUserSettings(&acct, o)
	for _, w := range rep.Warnings {
		fmt.Fprintf(f.IO.ErrOut, "cusax: warning: %s\n", w)
	}

	xpw, spw, err := o.aspectPasswords(ctx, store, acct, res, cred, rep)
	if err != nil {
		return err
	}
	prov := &provisioned{report: rep, secret: cred.secret, keep: cred.keep, calls: &res.Config.Calls}
	return o.prove(proveJob{acct: acct, xpw: xpw, spw: spw, cfgPath: cfgPath, store: store, storeNote: storeNote, minTLS: res.MinTLS, prov: prov})
}

// credential is the secret for the provisioning server and where it came
// from.
type credential struct {
	secret  string
	command string // --password-command, kept for the aspects that use the same password
	keep    bool   // store it for --refresh
}

// provisionSecret reads the password (basic) or token (bearer) for the
// provisioning server: --password-stdin, --password-command, the stored
// one (--refresh), or a prompt. Never from argv.
func (o *Options) provisionSecret(ctx context.Context, store secrets.Store, rep ProvisionJSON, prev *config.Account) (credential, error) {
	what := "password"
	if rep.Auth == "bearer" {
		what = "token"
	}
	switch {
	case rep.Auth == "none":
		return credential{}, nil // no credential for the server; the aspects' passwords are read later
	case o.PasswordStdin:
		s, err := secrets.ReadPasswordLine(o.F.IO.In)
		if err != nil {
			return credential{}, cmdutil.Usagef("--password-stdin: %v", err)
		}
		return credential{secret: s, keep: true}, nil
	case o.PasswordCommand != "":
		s, err := secrets.RunCommand(ctx, o.PasswordCommand)
		if err != nil {
			return credential{}, fmt.Errorf("--password-command: %w", err)
		}
		return credential{secret: s, command: o.PasswordCommand}, nil
	}
	if prev != nil && prev.Provisioning != nil {
		if cmd := prev.Provisioning.PasswordCommand; cmd != "" {
			s, err := secrets.RunCommand(ctx, cmd)
			if err != nil {
				return credential{}, fmt.Errorf("provisioning password command: %w", err)
			}
			return credential{secret: s, command: cmd}, nil
		}
		s, err := store.Get(ctx, secrets.Ref{Account: prev.Name, Aspect: config.AspectProvisioning})
		if err == nil {
			return credential{secret: s, keep: true}, nil
		}
		if !errors.Is(err, secrets.ErrNotFound) {
			return credential{}, err
		}
	}
	if o.F.IO.CanPrompt() {
		s, err := cmdutil.PromptSecret(o.F.IO, fmt.Sprintf("%s for %s at %s: ", upperFirst(what), rep.User, hostOf(rep.URL)))
		if err != nil {
			return credential{}, err
		}
		return credential{secret: s, keep: true}, nil
	}
	return credential{}, cmdutil.WithHint(cmdutil.Usagef("no %s for the provisioning server %s", what, hostOf(rep.URL)),
		"pipe it in with --password-stdin, or use --password-command (secrets are never taken from argv)")
}

// aspectPasswords gives each aspect its password as the document says
// (docs/provisioning.md): "same" is the provisioning password (basic
// authentication only: a bearer token is not a password), "prompt" a
// separate one asked for on the terminal. A refresh keeps the stored ones.
func (o *Options) aspectPasswords(ctx context.Context, store secrets.Store, acct config.Account, res *provision.Applied, cred credential, rep ProvisionJSON) (string, string, error) {
	if o.Refresh {
		xpw, spw, err := session.Passwords(ctx, store, acct)
		if err == nil {
			return xpw, spw, nil
		}
		if !errors.Is(err, secrets.ErrNotFound) {
			return "", "", err
		}
	}
	// --password-stdin reads one line per secret, in this order: the
	// server's password or token (not with --auth none), then the account
	// password shared by the "same" aspects when that was not the server's
	// password (--auth bearer or none), then one line per "prompt" aspect,
	// Chat first. On a terminal, what is missing is asked for instead.
	shared, haveShared := "", false
	if rep.Auth == "basic" && cred.secret != "" {
		shared, haveShared = cred.secret, true
	}
	get := func(aspect string, src provision.PasswordSource, cmd *string, label string) (string, error) {
		if src == provision.PasswordSame && haveShared {
			if cred.command != "" {
				*cmd = cred.command
			}
			return shared, nil
		}
		var pw string
		var err error
		switch {
		case o.PasswordStdin:
			pw, err = secrets.ReadPasswordLine(o.F.IO.In)
			if err != nil {
				return "", cmdutil.WithHint(cmdutil.Usagef("--password-stdin: the password for the provider's %s aspect %s: %v", aspect, label, err),
					"with --auth "+rep.Auth+", give the server's credential and then the account's password on separate lines (docs/provisioning.md)")
			}
		case o.F.IO.CanPrompt():
			if pw, err = cmdutil.PromptSecret(o.F.IO, fmt.Sprintf("Password for %s (%s): ", label, aspect)); err != nil {
				return "", err
			}
		default:
			return "", cmdutil.WithHint(cmdutil.Usagef("no password for the provider's %s aspect %s", aspect, label),
				"pipe it in with --password-stdin after the server's credential (docs/provisioning.md), or run cusax login on a terminal")
		}
		if src == provision.PasswordSame {
			shared, haveShared = pw, true
		}
		return pw, nil
	}
	var xpw, spw string
	var err error
	if acct.XMPP != nil {
		if xpw, err = get("Chat", res.XMPPPassword, &acct.XMPP.PasswordCommand, acct.XMPP.JID); err != nil {
			return "", "", err
		}
	}
	if acct.SIP != nil {
		if spw, err = get("Telephony", res.SIPPassword, &acct.SIP.PasswordCommand, acct.SIP.AOR); err != nil {
			return "", "", err
		}
	}
	return xpw, spw, nil
}

// upToDate records a fetch that changed nothing (validators and time) and
// says so; no login is needed.
func (o *Options) upToDate(cfgPath, name string, rep ProvisionJSON, fetched *provision.Fetched, why string) error {
	err := config.Update(cfgPath, func(c *config.Config) error {
		a, err := c.Account(name)
		if err != nil || a.Provisioning == nil {
			return err
		}
		p := a.Provisioning
		p.Fetched = time.Now().UTC().Truncate(time.Second)
		if fetched.ETag != "" {
			p.ETag = fetched.ETag
		}
		if fetched.LastModified != "" {
			p.LastModified = fetched.LastModified
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.JSON {
		r := (&provisioned{report: rep}).json()
		return cmdutil.WriteJSON(o.F.IO.Out, struct {
			Account      string         `json:"account"`
			OK           bool           `json:"ok"`
			Saved        bool           `json:"saved"`
			Provisioning *ProvisionJSON `json:"provisioning"`
		}{name, true, false, r})
	}
	fmt.Fprintf(o.F.IO.Out, "Account %s is up to date with %s: %s\n", name, rep.URL, why)
	return nil
}

// keepUserSettings applies this run's backend flags: backends are the
// user's choice, never the provider's (provision.Apply keeps the saved
// ones).
func keepUserSettings(acct *config.Account, o *Options) {
	if acct.XMPP != nil && o.set("xmpp-backend") {
		acct.XMPP.Backend = o.XMPPBackend
	}
	if acct.SIP != nil && o.set("sip-backend") {
		acct.SIP.Backend = o.SIPBackend
	}
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// trustRoots is the system's roots plus the user's CA file. A provider's
// document can never add trust anchors.
func trustRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return provision.Roots(nil)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := provision.Roots(pem)
	if err != nil {
		return nil, fmt.Errorf("--ca-file %s: %w", caFile, err)
	}
	return pool, nil
}

func progressf(o *Options, format string, args ...any) { progress(o, fmt.Sprintf(format, args...)) }

func fetchHints(err error, rep ProvisionJSON) []string {
	switch {
	case errors.Is(err, protocol.ErrCertificate):
		return []string{"if the provider uses a private CA, trust it with --ca-file PATH (certificate checks are never turned off)"}
	case errors.Is(err, protocol.ErrAuth):
		if rep.Auth == "basic" {
			return []string{fmt.Sprintf("check the user ID (%s) and password for %s", rep.User, hostOf(rep.URL))}
		}
		return []string{"check the credential for " + hostOf(rep.URL)}
	}
	return []string{"nothing was changed"}
}

func discoverHints(err error) []string {
	if errors.Is(err, protocol.ErrCertificate) {
		return []string{"if the provider uses a private CA, trust it with --ca-file PATH"}
	}
	return []string{"if the provider gave you a URL, use --provision URL"}
}
