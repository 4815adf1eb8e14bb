package enrol

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

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/provision"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// PasswordInput is where the user's secrets come from besides a prompt:
// never argv.
type PasswordInput struct {
	// Stdin, when set (--password-stdin), gives one secret per line.
	Stdin io.Reader
	// Command prints the secret (--password-command, run with sh -c).
	Command string
}

// ProvisionRequest is a login from a provider's document
// (docs/provisioning.md): exactly one of URL, Discover and Refresh.
type ProvisionRequest struct {
	// Config is the loaded config; it is not changed.
	Config *config.Config
	// Name is the account's name ("" for the document's or the default).
	Name string
	// URL is the document's https URL (--provision).
	URL string
	// Discover is an address whose document is found by WebFinger
	// (RFC 7033); WebFingerAddr asks HOST:PORT instead of the domain's
	// port 443.
	Discover      string
	WebFingerAddr string
	// Refresh fetches the document of account Name again.
	Refresh bool
	// User and Auth are the user ID and "basic", "bearer" or "none" for
	// the provisioning server; nil: the saved ones (refresh) or the
	// defaults (basic; with Discover the address as user ID).
	User *string
	Auth *string
	// CAFile is an absolute path of extra trust anchors; nil: the saved
	// account's.
	CAFile *string
	// XMPPBackend and SIPBackend, when set, choose the plugins (the user's
	// choice, never the provider's).
	XMPPBackend *string
	SIPBackend  *string
	Passwords   PasswordInput
	// Timeout bounds discovery and the fetch.
	Timeout time.Duration
}

// Setup is a provisioned account ready for Prove, or a refresh that found
// nothing to do.
type Setup struct {
	// UpToDate: the document did not change; its validators and fetch time
	// were recorded and no login is needed. Why says how that was known.
	UpToDate bool
	Why      string
	// Name is the account's name.
	Name         string
	Account      config.Account
	XMPPPassword string
	SIPPassword  string
	Provisioned  *Provisioned
}

// Provision fetches a provider's document (discovering its URL first
// with Discover), checks it and builds the account it describes into a
// copy of the config, with the secrets from req.Passwords, the store
// (refresh) or env.Prompter. Nothing is saved: that is Prove's job, once
// the account works. The one exception is a refresh that finds the
// document unchanged (304, or the same settings): then only the account's
// validators and fetch time are updated (Setup.UpToDate).
func Provision(ctx context.Context, env Env, req ProvisionRequest) (*Setup, error) {
	cfg := req.Config
	var prev *config.Account
	name := req.Name
	if req.Refresh {
		a, err := cfg.Account(name)
		if err != nil {
			return nil, err
		}
		if a.Provisioning == nil {
			return nil, usagef([]string{"set it up with cusax login --provision URL or --discover ADDRESS"},
				"account %q was not set up from a provisioning document; nothing to refresh", a.Name)
		}
		prev, name = a, a.Name
	} else if name != "" {
		if a, err := cfg.Account(name); err == nil && a.Name == name {
			prev = a
		}
	}

	caFile := ""
	switch {
	case req.CAFile != nil:
		caFile = *req.CAFile
	case prev != nil:
		caFile = prev.CAFile
	}
	roots, err := trustRoots(caFile)
	if err != nil {
		return nil, usagef(nil, "%v", err)
	}

	rep := Report{Refresh: req.Refresh}
	switch {
	case req.Refresh:
		rep.URL, rep.Auth, rep.User = prev.Provisioning.URL, prev.Provisioning.Auth, prev.Provisioning.Username
		if req.Auth != nil {
			rep.Auth = *req.Auth
		}
		if req.User != nil {
			rep.User = *req.User
		}
	case req.Discover != "":
		env.progress(fmt.Sprintf("looking up the provisioning document of %s (WebFinger, RFC 7033)", req.Discover))
		u, err := provision.Discover(ctx, req.Discover, provision.DiscoverOptions{Roots: roots, Addr: req.WebFingerAddr, Timeout: req.Timeout})
		if err != nil {
			return nil, hint(fmt.Errorf("discover %s: %w", req.Discover, err), discoverHints(err)...)
		}
		rep.URL = u
		rep.User = deref(req.User)
		if rep.User == "" {
			rep.User = strings.TrimPrefix(req.Discover, "acct:")
		}
	default:
		rep.URL, rep.User = req.URL, deref(req.User)
	}
	if rep.Auth == "" {
		rep.Auth = deref(req.Auth)
		if rep.Auth == "" {
			rep.Auth = "basic"
		}
	}
	// Refused before any secret is read: the document sets up servers
	// and credentials.
	if err := provision.CheckURL(rep.URL); err != nil {
		return nil, err
	}

	if rep.Auth == "basic" && rep.User == "" {
		if !canPrompt(env.Prompter) {
			return nil, usagef([]string{"or use --discover ADDRESS, or --auth none for a document without authentication"},
				"--user is required: the provisioning server %s asks for a user ID", HostOf(rep.URL))
		}
		if rep.User, err = env.Prompter.Prompt(fmt.Sprintf("User ID at %s: ", HostOf(rep.URL))); err != nil {
			return nil, err
		}
	}
	cred, err := provisionSecret(ctx, env, req.Passwords, rep, prev)
	if err != nil {
		return nil, err
	}

	fopts := provision.FetchOptions{Roots: roots, Timeout: req.Timeout, UserAgent: "cusax"}
	switch rep.Auth {
	case "basic":
		fopts.Auth = provision.Basic{User: rep.User, Password: cred.secret}
	case "bearer":
		fopts.Auth = provision.Bearer{Token: cred.secret}
	}
	if req.Refresh {
		fopts.ETag, fopts.LastModified = prev.Provisioning.ETag, prev.Provisioning.LastModified
	}
	env.progress(fmt.Sprintf("fetching the provisioning document from %s", HostOf(rep.URL)))
	fetched, err := provision.Fetch(ctx, rep.URL, fopts)
	if err != nil {
		// Fetch's errors name the URL already.
		return nil, hint(err, fetchHints(err, rep)...)
	}
	if req.Refresh && fetched.NotModified {
		return upToDate(env.ConfigPath, name, rep, fetched, "the server says the document has not changed (304)")
	}

	res, err := provision.Apply(cfg, fetched.Document, provision.ApplyOptions{Name: name, Origin: fetched.Origin(fopts.Auth), CAFile: caFile})
	if err != nil {
		if errors.Is(err, provision.ErrAccountExists) {
			return nil, usagef([]string{"give the provisioned account another --name"}, "%v", err)
		}
		return nil, fmt.Errorf("provisioning document %s: %w", rep.URL, err)
	}
	name = res.Account
	rep.Provider, rep.SHA256, rep.Warnings = fetched.Document.Provider, fetched.SHA256, res.Warnings
	if req.Refresh {
		rep.Changes = res.Changes
		if len(rep.Changes) == 0 {
			return upToDate(env.ConfigPath, name, rep, fetched, "the document has not changed")
		}
	}
	ap, err := res.Config.Account(name)
	if err != nil {
		return nil, err
	}
	acct := *ap
	if acct.Provisioning != nil {
		acct.Provisioning.PasswordCommand = cred.command
	}
	// Backends are the user's choice, never the provider's
	// (provision.Apply keeps the saved ones).
	if acct.XMPP != nil && req.XMPPBackend != nil {
		acct.XMPP.Backend = *req.XMPPBackend
	}
	if acct.SIP != nil && req.SIPBackend != nil {
		acct.SIP.Backend = *req.SIPBackend
	}
	for _, w := range rep.Warnings {
		env.warn(w)
	}

	xpw, spw, err := aspectPasswords(ctx, env, req, acct, res, cred, rep)
	if err != nil {
		return nil, err
	}
	return &Setup{
		Name: name, Account: acct, XMPPPassword: xpw, SIPPassword: spw,
		Provisioned: &Provisioned{Report: rep, MinTLS: res.MinTLS, secret: cred.secret, keep: cred.keep, calls: &res.Config.Calls},
	}, nil
}

// credential is the secret for the provisioning server and where it came
// from.
type credential struct {
	secret  string
	command string // the password command, kept for the aspects that use the same password
	keep    bool   // store it for a refresh
}

// provisionSecret reads the password (basic) or token (bearer) for the
// provisioning server: --password-stdin, --password-command, the stored
// one (refresh), or a prompt. Never from argv.
func provisionSecret(ctx context.Context, env Env, in PasswordInput, rep Report, prev *config.Account) (credential, error) {
	what := "password"
	if rep.Auth == "bearer" {
		what = "token"
	}
	switch {
	case rep.Auth == "none":
		return credential{}, nil // no credential for the server; the aspects' passwords are read later
	case in.Stdin != nil:
		s, err := secrets.ReadPasswordLine(in.Stdin)
		if err != nil {
			return credential{}, usagef(nil, "--password-stdin: %v", err)
		}
		return credential{secret: s, keep: true}, nil
	case in.Command != "":
		s, err := secrets.RunCommand(ctx, in.Command)
		if err != nil {
			return credential{}, fmt.Errorf("--password-command: %w", err)
		}
		return credential{secret: s, command: in.Command}, nil
	}
	if prev != nil && prev.Provisioning != nil {
		if cmd := prev.Provisioning.PasswordCommand; cmd != "" {
			s, err := secrets.RunCommand(ctx, cmd)
			if err != nil {
				return credential{}, fmt.Errorf("provisioning password command: %w", err)
			}
			return credential{secret: s, command: cmd}, nil
		}
		s, err := env.Store.Get(ctx, secrets.Ref{Account: prev.Name, Aspect: config.AspectProvisioning})
		if err == nil {
			return credential{secret: s, keep: true}, nil
		}
		if !errors.Is(err, secrets.ErrNotFound) {
			return credential{}, err
		}
	}
	if canPrompt(env.Prompter) {
		s, err := env.Prompter.PromptSecret(fmt.Sprintf("%s for %s at %s: ", upperFirst(what), rep.User, HostOf(rep.URL)))
		if err != nil {
			return credential{}, err
		}
		return credential{secret: s, keep: true}, nil
	}
	return credential{}, usagef([]string{"pipe it in with --password-stdin, or use --password-command (secrets are never taken from argv)"},
		"no %s for the provisioning server %s", what, HostOf(rep.URL))
}

// aspectPasswords gives each aspect its password as the document says
// (docs/provisioning.md): "same" is the provisioning password (basic
// authentication only: a bearer token is not a password), "prompt" a
// separate one asked for on the terminal. A refresh keeps the stored ones.
func aspectPasswords(ctx context.Context, env Env, req ProvisionRequest, acct config.Account, res *provision.Applied, cred credential, rep Report) (string, string, error) {
	if req.Refresh {
		xpw, spw, err := session.Passwords(ctx, env.Store, acct)
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
		case req.Passwords.Stdin != nil:
			pw, err = secrets.ReadPasswordLine(req.Passwords.Stdin)
			if err != nil {
				return "", usagef([]string{"with --auth " + rep.Auth + ", give the server's credential and then the account's password on separate lines (docs/provisioning.md)"},
					"--password-stdin: the password for the provider's %s aspect %s: %v", aspect, label, err)
			}
		case canPrompt(env.Prompter):
			if pw, err = env.Prompter.PromptSecret(fmt.Sprintf("Password for %s (%s): ", label, aspect)); err != nil {
				return "", err
			}
		default:
			return "", usagef([]string{"pipe it in with --password-stdin after the server's credential (docs/provisioning.md), or run cusax login on a terminal"},
				"no password for the provider's %s aspect %s", aspect, label)
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

// upToDate records a fetch that changed nothing (validators and time); no
// login is needed.
func upToDate(cfgPath, name string, rep Report, fetched *provision.Fetched, why string) (*Setup, error) {
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
		return nil, err
	}
	return &Setup{UpToDate: true, Why: why, Name: name, Provisioned: &Provisioned{Report: rep}}, nil
}

// HostOf is the host of a URL, for messages (the URL itself when it has
// none).
func HostOf(raw string) string {
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

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
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

func fetchHints(err error, rep Report) []string {
	switch {
	case errors.Is(err, protocol.ErrCertificate):
		return []string{"if the provider uses a private CA, trust it with --ca-file PATH (certificate checks are never turned off)"}
	case errors.Is(err, protocol.ErrAuth):
		if rep.Auth == "basic" {
			return []string{fmt.Sprintf("check the user ID (%s) and password for %s", rep.User, HostOf(rep.URL))}
		}
		return []string{"check the credential for " + HostOf(rep.URL)}
	}
	return []string{"nothing was changed"}
}

func discoverHints(err error) []string {
	if errors.Is(err, protocol.ErrCertificate) {
		return []string{"if the provider uses a private CA, trust it with --ca-file PATH"}
	}
	return []string{"if the provider gave you a URL, use --provision URL"}
}
