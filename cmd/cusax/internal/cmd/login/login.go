// Package login implements `cusax login`: set up an account and prove it
// live by registering SIP and then logging into XMPP (RFC 7081 §2).
package login

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/cmd/cusax/internal/render"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/enrol"
	"github.com/cusax/cusax/pkg/core/parity"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Name            string
	JID             string
	AOR             string
	XMPPServer      string
	XMPPDirectTLS   bool
	SIPProxy        string
	SIPUsername     string
	PasswordStdin   bool
	PasswordCommand string
	CAFile          string
	NoRelationship  bool
	AllowPlaintext  bool
	MinTLS          string
	Parallel        bool
	SaveAnyway      bool
	RequireParity   bool
	Timeout         time.Duration
	XMPPBackend     string
	SIPBackend      string
	SIPIMBackend    string
	IMOverSIP       bool
	PublishReach    bool
	JSON            bool
	Policies        []string

	// Online provisioning (docs/provisioning.md).
	Provision     string
	Discover      string
	WebFingerAddr string
	Refresh       bool
	User          string
	Auth          string

	// Prompter asks on the terminal; nil is the terminal of F.IO (tests
	// script it).
	Prompter enrol.Prompter

	set   func(name string) bool
	debug func() bool
}

// Debug reports whether --debug is on.
func (o *Options) Debug() bool { return o.debug != nil && o.debug() }

// NewCmdLogin builds the command; runF replaces the run function in tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Set up an account and prove both aspects live",
		Long: `Log into both aspects of a CUSAX account and save it when both work.

SIP ("Telephony") is registered first, and XMPP ("Chat") is logged into only
after that (RFC 7081 §2; --parallel does both at once). Both are then logged
out again. For each aspect cusax shows whether it is encrypted, the TLS
version and cipher, how the server was authenticated, the certificate and the
authentication mechanism (RFC 7590 §3.6). If the two aspects are not
protected alike, it warns and shows the flag or setting that fixes it (RFC
7081 §7); so does call media that is, or may be, sent in clear while SIP
runs over TLS (media_encryption "none" or "optional", or a telephony
backend without SRTP).

Passwords never go in argv: use --password-stdin (one line, used for both
aspects), --password-command, the stored password of an existing account, or
the prompt on a terminal. They are kept in the OS keyring, or, where there is
none, in a 0600 secrets.toml beside the config.

XMPP always attempts STARTTLS, even when the server does not advertise it
(RFC 7590 §3.1), and never authenticates without TLS unless --allow-plaintext
is given on that very command: it is never saved, so every later command that
should log in without TLS needs it again (and says so on stderr when it does).
Certificates are checked against the JID's domain (RFC 6120 §13.7.1.2) and
the SIP domain (RFC 5922), also when servers are given as IP addresses.

A provider can set both aspects up for you (docs/provisioning.md):
--provision URL fetches its provisioning document over HTTPS (certificate
checked; HTTP basic authentication with --user and the password, or
--auth bearer with a token read like a password); --discover ADDRESS finds
that URL by WebFinger (RFC 7033) on the address's domain. The document sets
the servers, transports, the relationship, the features and the cost gate;
the account is proved live as above and saved only if it works. --refresh
fetches it again and reports what changed. A bad document changes nothing.`,
		Example: `  $ cusax login --name work --jid alice@example.com --aor sip:alice@example.com --password-stdin < pw
  $ cusax login --name lab --jid alice@lab.test --xmpp-server 127.0.0.1:5222 \
      --aor sip:alice@lab.test --sip-proxy 'sip:127.0.0.1:5061;transport=tls' --ca-file lab-ca.pem --password-command 'pass show lab'
  $ cusax login --name work --min-tls 1.3 --require-parity
  $ cusax login --discover alice@example.com --password-stdin < pw
  $ cusax login --provision https://provider.example/cusax/alice.json --user alice --password-command 'pass show provider'
  $ cusax login --name work --refresh --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.Usagef("login takes no arguments (got %q)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.set = func(n string) bool { return cmd.Flags().Changed(n) }
			opts.debug = func() bool {
				fl := cmd.Flags().Lookup("debug")
				return fl != nil && fl.Value.String() == "true"
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Name, "name", "", "account name (default: the existing default account, else \"default\")")
	fl.StringVar(&opts.JID, "jid", "", "XMPP address (Chat), e.g. alice@example.com")
	fl.StringVar(&opts.AOR, "aor", "", "SIP address of record (Telephony), e.g. sip:alice@example.com")
	fl.StringVar(&opts.XMPPServer, "xmpp-server", "", "XMPP server HOST:PORT (default: DNS SRV)")
	fl.BoolVar(&opts.XMPPDirectTLS, "xmpp-direct-tls", false, "XMPP over TLS from the first byte (XEP-0368) instead of STARTTLS")
	fl.StringVar(&opts.SIPProxy, "sip-proxy", "", "SIP outbound proxy URI, e.g. 'sip:host:5061;transport=tls' (default: RFC 3263 DNS)")
	fl.StringVar(&opts.SIPUsername, "sip-username", "", "SIP digest user name (default: the AOR's user part)")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password (one line, both aspects) from stdin")
	fl.StringVar(&opts.PasswordCommand, "password-command", "", "command that prints the password (run with sh -c, for both aspects)")
	fl.StringVar(&opts.CAFile, "ca-file", "", "PEM file of CA certificates to trust in addition to the system's")
	fl.BoolVar(&opts.NoRelationship, "no-relationship", false, "the XMPP and SIP accounts are not two aspects of one service (RFC 7081 §3.4)")
	fl.BoolVar(&opts.AllowPlaintext, "allow-plaintext", false, "this once, allow authenticating without TLS (XMPP) — credentials cross the network unprotected; never saved")
	fl.StringVar(&opts.MinTLS, "min-tls", "", "lowest TLS version for both aspects: 1.2 or 1.3")
	fl.BoolVar(&opts.Parallel, "parallel", false, "log into both aspects at once instead of SIP first")
	fl.BoolVar(&opts.SaveAnyway, "save-anyway", false, "save the account even if an aspect failed")
	fl.BoolVar(&opts.RequireParity, "require-parity", false, "fail (exit 9) when the aspects are not protected alike")
	fl.DurationVar(&opts.Timeout, "timeout", 15*time.Second, "time limit for each aspect's login")
	fl.StringVar(&opts.XMPPBackend, "xmpp-backend", "", "IMPP plugin to use (default xmpp)")
	fl.StringVar(&opts.SIPBackend, "sip-backend", "", "telephony plugin to use (default sip)")
	fl.BoolVar(&opts.IMOverSIP, "im-over-sip", false, "chat over SIP MESSAGE instead of XMPP (RFC 7081 §2 im_over_sip; --im-over-sip=false turns it off); needs --aor")
	fl.StringVar(&opts.SIPIMBackend, "sip-im-backend", "", "IMPP plugin that carries chat over SIP (default sipmessage)")
	fl.BoolVar(&opts.PublishReach, "publish-reach", false, "publish the SIP address as an XEP-0152 reachability address over XMPP (needs --aor and --jid)")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	fl.StringArrayVar(&opts.Policies, "policy", nil, "policy plugin consulted after the default for this account's decisions (repeatable, in order; replaces the account's list; --policy default alone clears it)")
	fl.StringVar(&opts.Provision, "provision", "", "set the account up from the provider's provisioning document at this https URL")
	fl.StringVar(&opts.Discover, "discover", "", "find the provisioning document of ADDRESS (user@domain) by WebFinger (RFC 7033) and set the account up from it")
	fl.StringVar(&opts.WebFingerAddr, "webfinger-addr", "", "with --discover: ask HOST:PORT instead of the domain's port 443 (its certificate must still name the domain)")
	fl.BoolVar(&opts.Refresh, "refresh", false, "fetch the account's provisioning document again, apply it and report what changed")
	fl.StringVar(&opts.User, "user", "", "user ID for the provisioning server (default with --discover: the address)")
	fl.StringVar(&opts.Auth, "auth", "", "how to authenticate to the provisioning server: basic (user ID + password, the default), bearer (a token read like a password) or none")
	f.CompleteAccountFlag(cmd, "name")
	cmdutil.CompleteEnum(cmd, "min-tls", []string{"1.2", "1.3"})
	cmdutil.CompleteEnum(cmd, "auth", []string{"basic", "bearer", "none"})
	_ = cmd.MarkFlagFilename("ca-file")
	return cmd
}

// Result is the --json output.
type Result struct {
	Account   string                   `json:"account"`
	OK        bool                     `json:"ok"`
	Saved     bool                     `json:"saved"`
	Related   bool                     `json:"related"`
	Telephony render.AspectJSON        `json:"telephony"`
	Chat      render.AspectJSON        `json:"chat"`
	Parity    []protocol.ParityFinding `json:"parity"`
	Reach     []protocol.ReachAddress  `json:"reach_published,omitempty"`
	ParityBy  string                   `json:"parity_policy,omitempty"`
	// ParityChain is every policy the parity findings went through, in
	// chain order (docs/plugins.md).
	ParityChain []protocol.DecisionStep `json:"parity_chain,omitempty"`
	ElapsedMS   int64                   `json:"elapsed_ms"`
	// Provisioning is set when the account came from a provider's
	// document (--provision, --discover, --refresh).
	Provisioning *enrol.Report `json:"provisioning,omitempty"`
}

func run(o *Options) error {
	f := o.F
	ctx := f.Context
	cfg, cfgPath, err := f.Config()
	if err != nil {
		return err
	}
	if _, ok := protocol.TLSVersion(o.MinTLS); !ok {
		return cmdutil.Usagef("--min-tls: %q is not 1.2 or 1.3", o.MinTLS)
	}
	if o.provisioning() {
		return runProvision(o, cfg, cfgPath)
	}
	acct, _, err := o.account(cfg)
	if err != nil {
		return err
	}
	if err := acct.Validate(); err != nil {
		return cmdutil.Usagef("%v", err)
	}
	if o.PasswordStdin && o.PasswordCommand != "" {
		return cmdutil.Usagef("--password-stdin and --password-command are mutually exclusive")
	}
	env, storeNote, err := o.env(cfgPath)
	if err != nil {
		return err
	}
	xpw, spw, err := enrol.Passwords(ctx, env, o.passwordInput(), acct)
	if err != nil {
		return cliErr(err)
	}
	return o.prove(env, storeNote, enrol.Job{Account: acct, XMPPPassword: xpw, SIPPassword: spw})
}

// env is what the enrol workflow needs from this invocation: backends,
// secret store, config path, the terminal and progress lines.
func (o *Options) env(cfgPath string) (enrol.Env, string, error) {
	f := o.F
	store, storeNote, err := f.Secrets()
	if err != nil {
		return enrol.Env{}, "", err
	}
	src, err := f.Backends()
	if err != nil {
		return enrol.Env{}, "", err
	}
	return enrol.Env{
		Source: src, Store: store, ConfigPath: cfgPath, Prompter: o.prompter(), Log: f.Logger(),
		Progress: func(msg string) { progress(o, msg) },
		Warn:     func(msg string) { fmt.Fprintf(f.IO.ErrOut, "cusax: warning: %s\n", msg) },
	}, storeNote, nil
}

func (o *Options) passwordInput() enrol.PasswordInput {
	in := enrol.PasswordInput{Command: o.PasswordCommand}
	if o.PasswordStdin {
		in.Stdin = o.F.IO.In
	}
	return in
}

// prompter is who answers questions: Options.Prompter, else the
// terminal.
func (o *Options) prompter() enrol.Prompter {
	if o.Prompter != nil {
		return o.Prompter
	}
	return termPrompter{o.F.IO}
}

// termPrompter asks on the terminal: questions on stderr, passwords
// without echo.
type termPrompter struct{ io *iostreams.IOStreams }

func (p termPrompter) CanPrompt() bool { return p.io.CanPrompt() }
func (p termPrompter) Prompt(q string) (string, error) {
	return cmdutil.Prompt(p.io, q)
}
func (p termPrompter) PromptSecret(q string) (string, error) {
	return cmdutil.PromptSecret(p.io, q)
}

// cliErr gives the workflow's input errors exit code 2; their hints travel
// with them.
func cliErr(err error) error {
	if enrol.IsUsage(err) {
		return cmdutil.Usagef("%w", err)
	}
	return err
}

// prove proves the job live and saved (enrol.Prove: RFC 7081 §2, §7),
// then prints the result and maps it to an exit code.
func (o *Options) prove(env enrol.Env, storeNote string, j enrol.Job) error {
	f := o.F
	ctx := f.Context
	io := f.IO
	j.MinTLS, j.Parallel, j.Timeout = o.MinTLS, o.Parallel, o.Timeout
	j.PublishReach, j.RequireParity, j.SaveAnyway = o.PublishReach, o.RequireParity, o.SaveAnyway
	j.Policies, j.SetPolicies = o.Policies, o.set("policy")

	out, err := enrol.Prove(ctx, env, j)
	if out == nil {
		return cliErr(err)
	}
	acct, res, decision := out.Account, out.Result, out.Decision
	if res.Chat.Err == nil && res.Chat.Report != nil {
		f.WarnPlaintext("chat", *res.Chat.Report)
	}
	if res.Chat.ReachErr != nil {
		fmt.Fprintf(io.ErrOut, "cusax: warning: %v\n", res.Chat.ReachErr)
	} else if len(res.Chat.ReachPublished) > 0 {
		fmt.Fprintf(io.ErrOut, "cusax: published %s as a reachability address (XEP-0152); contacts treat it as a hint until their copy of your vCard lists it\n", acct.SIP.AOR)
	}
	if ctx.Err() != nil {
		return cmdutil.WithExit(cmdutil.ExitInterrupted, cmdutil.ErrInterrupted)
	}
	if err != nil {
		return cliErr(err)
	}
	if len(res.Findings) > 0 {
		cmdutil.DebugPolicyChain(f, "JudgeSecurityParity", decision.Decision)
	}

	var prov *enrol.Report
	if j.Provisioned != nil {
		r := j.Provisioned.Report.Normalized()
		prov = &r
	}
	result := Result{
		Account: acct.Name, OK: res.OK(), Saved: out.Saved, Related: acct.Related,
		Telephony: render.JSONAspect(res.Telephony), Chat: render.JSONAspect(res.Chat),
		Parity: decision.Findings, ParityBy: decision.Policy, ParityChain: decision.Chain, ElapsedMS: res.Elapsed.Milliseconds(),
		Reach: res.Chat.ReachPublished, Provisioning: prov,
	}
	if result.Parity == nil {
		result.Parity = []protocol.ParityFinding{}
	}
	if o.JSON {
		if err := cmdutil.WriteJSON(io.Out, cmdutil.Schema("login"), result); err != nil {
			return err
		}
	} else {
		printProvisioned(io.Out, prov)
		printHuman(o, acct, res)
	}
	for _, fnd := range decision.Findings {
		if parity.Rank(fnd.Severity) < parity.Rank(parity.Warning) && !o.Debug() {
			continue // info findings: in --json, and on stderr with --debug
		}
		fmt.Fprintf(io.ErrOut, "cusax: %s %s: %s\n", io.Yellow(fnd.Severity+":"), fnd.ID, fnd.Message)
		if fnd.Fix != "" {
			fmt.Fprintf(io.ErrOut, "cusax: hint: %s\n", fnd.Fix)
		}
	}
	if out.Saved {
		fmt.Fprintf(io.ErrOut, "cusax: account %q saved to %s\n", acct.Name, env.ConfigPath)
		if storeNote != "" && !enrol.UsesCommands(acct) {
			fmt.Fprintf(io.ErrOut, "cusax: note: %s\n", storeNote)
		}
	}

	if !res.OK() {
		err := res.Err()
		if err == nil {
			err = errors.New(res.Chat.Skipped)
		}
		return cmdutil.WithHint(fmt.Errorf("login %s: %w", acct.Name, err), hintsFor(err, out.Saved)...)
	}
	if out.PolicyDenied {
		return cmdutil.WithExit(cmdutil.ExitDenied, fmt.Errorf("login %s: policy %s refused the account: %s", acct.Name, decision.Policy, decision.Reason))
	}
	if out.ParityFailed {
		return cmdutil.WithExit(cmdutil.ExitParity, fmt.Errorf("login %s: --require-parity: the two aspects are not protected alike (RFC 7081 §7); account not saved", acct.Name))
	}
	return nil
}

func progress(o *Options, msg string) {
	if o.F.IO.IsStderrTTY() && !o.JSON {
		fmt.Fprintf(o.F.IO.ErrOut, "cusax: %s…\n", msg)
	}
}

func printHuman(o *Options, acct config.Account, res session.Result) {
	io := o.F.IO
	rel := "no CUSAX relationship"
	if acct.Related {
		rel = "related aspects of one CUSAX service (RFC 7081 §3.4)"
	}
	fmt.Fprintf(io.Out, "Account %s: %s\n", acct.Name, rel)
	render.Aspect(io.Out, io, res.Telephony)
	render.Aspect(io.Out, io, res.Chat)
	fmt.Fprintf(io.Out, "Total %d ms\n", res.Elapsed.Milliseconds())
}

// hintsFor names the flag that fixes the failure.
func hintsFor(err error, saved bool) []string {
	var h []string
	switch {
	case errors.Is(err, protocol.ErrCertificate):
		h = append(h, "if the server uses a private CA, trust it with --ca-file PATH (certificate checks are never turned off)")
	case errors.Is(err, protocol.ErrInsecure):
		h = append(h, "the server offers no TLS; --allow-plaintext would send the credentials unprotected")
	case errors.Is(err, protocol.ErrAuth):
		h = append(h, "check the user name and password of that aspect")
	case errors.Is(err, protocol.ErrUnreachable), errors.Is(err, protocol.ErrTimeout):
		h = append(h, "check --xmpp-server / --sip-proxy and that the server is up")
	}
	if !saved {
		h = append(h, "nothing was saved (--save-anyway saves an account that does not fully work)")
	}
	return h
}

// account builds the account from flags, an existing account of the same
// name, and prompts.
func (o *Options) account(cfg *config.Config) (config.Account, bool, error) {
	name := o.Name
	if name == "" {
		switch {
		case cfg.Default != "" && o.JID == "" && o.AOR == "":
			name = cfg.Default
		case len(cfg.Accounts) == 0:
			name = "default"
		default:
			return config.Account{}, false, cmdutil.Usagef("--name is required: accounts exist already (%s)", strings.Join(cfg.Names(), ", "))
		}
	}
	var acct config.Account
	existing := false
	if prev, err := cfg.Account(name); err == nil && prev.Name == name {
		acct, existing = *prev, true
	} else {
		acct = config.Account{Name: name, Related: true}
	}
	if o.set("no-relationship") {
		acct.Related = !o.NoRelationship
	}
	if p := o.prompter(); o.JID == "" && o.AOR == "" && !existing && p.CanPrompt() {
		var err error
		if o.JID, err = p.Prompt("XMPP address (Chat, empty for none): "); err != nil {
			return acct, false, err
		}
		if o.AOR, err = p.Prompt("SIP address (Telephony, empty for none): "); err != nil {
			return acct, false, err
		}
	}
	if o.JID != "" {
		if acct.XMPP == nil {
			acct.XMPP = &config.XMPPAspect{}
		}
		acct.XMPP.JID = o.JID
	}
	if o.AOR != "" {
		aor := o.AOR
		if !strings.Contains(aor, ":") {
			aor = "sip:" + aor
		}
		if acct.SIP == nil {
			acct.SIP = &config.SIPAspect{}
		}
		acct.SIP.AOR = aor
	}
	if acct.XMPP == nil && acct.SIP == nil {
		return acct, existing, cmdutil.Usagef("give --jid (Chat), --aor (Telephony) or both")
	}
	if acct.XMPP != nil {
		if o.set("xmpp-server") {
			acct.XMPP.Server = o.XMPPServer
		}
		if o.set("xmpp-direct-tls") {
			acct.XMPP.DirectTLS = o.XMPPDirectTLS
		}
		if o.set("allow-plaintext") {
			acct.XMPP.AllowPlaintext = o.AllowPlaintext
		}
		if o.set("xmpp-backend") {
			acct.XMPP.Backend = o.XMPPBackend
		}
		if o.set("password-command") {
			acct.XMPP.PasswordCommand = o.PasswordCommand
		}
	} else if o.set("xmpp-server") || o.set("xmpp-direct-tls") {
		return acct, existing, cmdutil.Usagef("--xmpp-server and --xmpp-direct-tls need --jid")
	}
	if acct.SIP != nil {
		if o.set("sip-proxy") {
			acct.SIP.Proxy = o.SIPProxy
		}
		if o.set("sip-username") {
			acct.SIP.Username = o.SIPUsername
		}
		if o.set("sip-backend") {
			acct.SIP.Backend = o.SIPBackend
		}
		if o.set("sip-im-backend") {
			acct.SIP.IMBackend = o.SIPIMBackend
		}
		if o.set("password-command") {
			acct.SIP.PasswordCommand = o.PasswordCommand
		}
	} else if o.set("sip-proxy") || o.set("sip-username") {
		return acct, existing, cmdutil.Usagef("--sip-proxy and --sip-username need --aor")
	} else if o.set("sip-im-backend") || (o.set("im-over-sip") && o.IMOverSIP) {
		// RFC 7081 §2: IM over SIP goes over the SIP aspect.
		return acct, existing, cmdutil.Usagef("--im-over-sip and --sip-im-backend need --aor")
	}
	if o.set("im-over-sip") {
		v := o.IMOverSIP
		acct.Features.IMOverSIP = &v
	}
	if acct.XMPP == nil || acct.SIP == nil {
		// RFC 7081 §3.4: a relationship needs both aspects.
		acct.Related = false
	}
	if o.set("ca-file") {
		acct.CAFile = absPath(o.CAFile)
	}
	return acct, existing, nil
}
