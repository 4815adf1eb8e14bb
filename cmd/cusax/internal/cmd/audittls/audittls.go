// Package audittls implements `cusax audit-tls`: the TLS and
// server-authentication posture of both aspects of an account, judged by a
// policy profile (BCP 195 by default), with the monitoring-plugin exit codes.
package audittls

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/auditview"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditrun"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/tlsprobe"
	"github.com/cusax/cusax/pkg/discover"
)

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Accounts []string
	All      bool
	Domains  []string
	Targets  string
	Resolver string
	CAFile   string
	Parallel int
	JSON     bool
	Format   string // one of Formats
	Output   string
	Profile  string
	WarnOn   string
	FailOn   string
	State    string
	NoState  bool
	Timeout  time.Duration
	// Endpoint targets (HOST:PORT arguments).
	StartTLS   string
	SIP        bool
	SNI        string
	ExpectName string
}

// Formats are the values of --format.
var Formats = auditview.Formats

// NewCmdAuditTLS builds the command.
func NewCmdAuditTLS(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "audit-tls [ACCOUNT|HOST:PORT...] [--all] [--domain D]... [--targets FILE]",
		Short: "Audit the TLS and server authentication of both aspects of accounts",
		Long: `Probe the Chat (XMPP) and Telephony (SIP) endpoints of accounts and judge
their TLS against a policy profile: the built-in BCP 195 profile (RFC 9325,
RFC 8996, with RFC 7590 for XMPP, RFC 5922 for SIP and the RFC 7081 §7
rule that both aspects be protected alike), or --profile FILE. No
credentials are sent.

The report shows, for each aspect, what RFC 7590 §3.6 asks a user be told:
whether it is encrypted, the TLS version and cipher suite, how the server
was authenticated and its certificate; then every failed check with its
severity, evidence, spec reference and fix. --json prints one
"cusax.audit-tls/v1" document with every check (passes and skips too);
--format ndjson prints one finding per line. --format openmetrics prints
gauges for Prometheus (one per check result, certificate expiry, the run's
time and verdict) for the node-exporter textfile collector; --format html
one self-contained page for the whole batch (no scripts, nothing loaded).
--output FILE writes the report to FILE instead of stdout, atomically (a
temporary file renamed over FILE), so a collector never reads half a file.

The certificate each endpoint served is remembered in a state file
(default $XDG_STATE_HOME/cusax/audit-state.json); a different certificate
at the next audit is the finding cert.changed (RFC 7590 §3.6). --no-state
neither reads nor writes it.

Targets: the named accounts (default: the default account), --all
configured accounts, --domain D (a service domain: both aspects found in
DNS, every published endpoint), --targets FILE, one a line: an account
name, a domain, or a chat domain and a telephony domain ('#' comments),
or endpoints given as HOST:PORT or [IPV6]:PORT arguments.

An endpoint target is audited with the same checks as an account's aspect
(stream, TLS, certificate and identity), without DNS discovery. What it
serves: --starttls xmpp (XMPP client-to-server, STARTTLS; sent even when
not advertised, RFC 7590 §3.1), --starttls none (XMPP direct TLS,
XEP-0368) or --sip (SIP over TLS: one REGISTER without credentials shows
the digest challenge). Without a flag only the well-known ports are
understood: 5222 is --starttls xmpp (as testssl.sh does), 5223 --starttls
none, 5061 --sip; any other port must say. --sni NAME is sent in the
ClientHello (and, for XMPP, as the stream's 'to' unless --expect-name);
--expect-name NAME is the domain the certificate must name (RFC 6125;
RFC 6120 §13.7.2.1 for XMPP, RFC 5922 §7.1 for SIP), by default the SNI,
else the host name. An IP address without --sni or --expect-name is
refused: it names no service to authenticate. Certificates are checked
against the system roots plus --ca-file.
An endpoint shared by several targets is probed once; --parallel bounds
the endpoints probed at once. Progress goes to stderr on a terminal only.

DNS discovery for --domain: _xmpp-client._tcp and _xmpps-client._tcp SRV
(RFC 6120 §3.2, XEP-0368), else the domain on 5222; NAPTR then SRV for
SIP over TLS, TCP and UDP (RFC 3263 §4.1), else the domain on 5061/5060.
Plaintext SIP is reported only where it answers. Certificates of domain
targets are checked against the system roots plus --ca-file. Policy
plugins re-weigh findings of configured accounts only.

Endpoints of an account: its XMPP server, else DNS SRV _xmpp-client._tcp, else
the domain on port 5222; its SIP proxy, else DNS SRV _sips._tcp, else the
domain on 5061. A proxy with transport=udp or tcp is reported as SIP
without TLS. On every SIP endpoint one REGISTER without credentials and
without a Contact (it cannot change a registration) shows whether the
server answers SIP and which digest algorithms and qop its challenge
offers (RFC 8760).

Exit codes follow the monitoring-plugin convention, not cusax's global
table (see 'cusax help exit-codes'):
  0  OK        no failed check at or above --warn-on (default medium)
  1  WARNING   a failed check at or above --warn-on, below --fail-on
  2  CRITICAL  a failed check at or above --fail-on (default high)
  3  UNKNOWN   a check could not run (the audit is incomplete), or the audit
               could not start: bad flags, an unreadable profile or state
               file, no such account
  130 interrupted`,
		Example: `  $ cusax audit-tls
  $ cusax audit-tls work --json
  $ cusax audit-tls --all --format ndjson --fail-on critical
  $ cusax audit-tls --all --format openmetrics --output /var/lib/prometheus/node-exporter/cusax_audit_tls.prom
  $ cusax audit-tls --targets providers.txt --format html --output report.html
  $ cusax audit-tls --domain example.com --domain example.org
  $ cusax audit-tls xmpp.example.com:5222
  $ cusax audit-tls 127.0.0.1:15222 --starttls xmpp --sni example.com
  $ cusax audit-tls [2001:db8::5]:5061 --sip --sni sip.example.com --expect-name example.com
  $ cusax audit-tls --targets providers.txt --parallel 8 --json
  $ cusax audit-tls --profile ./strict.toml --warn-on low`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Accounts = args
			if err := checkFormat(cmd, o); err != nil {
				return unknown(err)
			}
			if runF != nil {
				return runF(o)
			}
			return run(o)
		},
	}
	// Bad flags are UNKNOWN (3), never read as CRITICAL by a monitor.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return unknown(cmdutil.Usagef("%v", err)) })
	fl := cmd.Flags()
	fl.BoolVar(&o.All, "all", false, "audit every configured account")
	fl.BoolVar(&o.JSON, "json", false, "print the JSON report (same as --format json)")
	cmdutil.EnumFlag(cmd, &o.Format, "format", "output format: text, json, ndjson, openmetrics or html (default text)", Formats)
	fl.StringVar(&o.Output, "output", "", "write the report to `FILE` (atomically: a temporary file renamed over it) instead of stdout")
	fl.StringVar(&o.Profile, "profile", "", "policy profile file (TOML; default the built-in bcp195)")
	fl.StringVar(&o.WarnOn, "warn-on", audit.Medium.String(), "lowest severity of a failure that exits 1 (WARNING)")
	fl.StringVar(&o.FailOn, "fail-on", audit.High.String(), "lowest severity of a failure that exits 2 (CRITICAL)")
	fl.StringVar(&o.State, "state", "", "certificate state file (default $XDG_STATE_HOME/cusax/audit-state.json)")
	fl.BoolVar(&o.NoState, "no-state", false, "neither read nor write the certificate state")
	fl.DurationVar(&o.Timeout, "timeout", 5*time.Second, "timeout for each connection")
	fl.StringArrayVar(&o.Domains, "domain", nil, "audit a service domain found through DNS (repeatable)")
	fl.StringVar(&o.Targets, "targets", "", "file of targets, one a line: account, domain, or chat and telephony domains")
	fl.StringVar(&o.Resolver, "resolver", "", "DNS server HOST:PORT for --domain/--targets (default: /etc/resolv.conf)")
	fl.StringVar(&o.CAFile, "ca-file", "", "extra trusted CA certificates (PEM) for domain and endpoint targets")
	fl.StringVar(&o.StartTLS, "starttls", "", "what HOST:PORT targets serve: xmpp (STARTTLS) or none (XMPP direct TLS); default by port")
	fl.BoolVar(&o.SIP, "sip", false, "HOST:PORT targets are SIP over TLS")
	fl.StringVar(&o.SNI, "sni", "", "server name sent to HOST:PORT targets (default: --expect-name, else the host name)")
	fl.StringVar(&o.ExpectName, "expect-name", "", "domain the certificates of HOST:PORT targets must name (default: --sni, else the host name)")
	fl.IntVar(&o.Parallel, "parallel", 4, "endpoints probed at once")
	cmd.ValidArgsFunction = f.CompleteAccountArgs
	cmdutil.CompleteEnum(cmd, "starttls", []string{"xmpp", "none"})
	var severities []string
	for _, s := range audit.Severities() {
		severities = append(severities, s.String())
	}
	cmdutil.CompleteEnum(cmd, "warn-on", severities)
	cmdutil.CompleteEnum(cmd, "fail-on", severities)
	for _, name := range []string{"profile", "targets", "state", "ca-file", "output"} {
		_ = cmd.MarkFlagFilename(name)
	}
	return cmd
}

// checkFormat validates --format (case-insensitively) and what goes with
// it: --jq filters JSON, so it only goes with --json, --format json or
// ndjson, and it filters stdout, so not with --output.
func checkFormat(cmd *cobra.Command, o *Options) error {
	if err := cmdutil.CheckEnum(cmd, "format", strings.ToLower(o.Format), Formats); err != nil {
		return err
	}
	if jq := cmd.Flags().Lookup("jq"); jq != nil && jq.Changed {
		switch format := strings.ToLower(o.Format); {
		case format != "" && format != "json" && format != "ndjson":
			return cmdutil.Usagef("--jq filters JSON: use it with --json, --format json or --format ndjson, not --format %s", format)
		case o.Output != "":
			return cmdutil.Usagef("--jq filters stdout: it does not go with --output")
		}
	}
	return nil
}

// unknown makes err exit 3 (UNKNOWN): anything that stops the audit itself.
func unknown(err error) error {
	var exit *cmdutil.ExitError
	if err == nil || errors.As(err, &exit) {
		return err
	}
	return cmdutil.WithExit(audit.ExitUnknown, cmdutil.WithHint(err, "run 'cusax audit-tls --help' for usage"))
}

// setup is what the flags resolve to.
type setup struct {
	format         string
	profile        audit.Profile
	warnOn, failOn audit.Severity
	statePath      string
	accounts       []config.Account
	targets        []auditrun.Target
	roots          *x509.CertPool
}

func resolve(o *Options) (setup, error) {
	var s setup
	var err error
	if s.format, s.warnOn, s.failOn, err = auditview.Resolve(o.JSON, o.Format, o.WarnOn, o.FailOn); err != nil {
		return s, err
	}
	if o.Profile != "" {
		s.profile, err = audit.LoadProfile(o.Profile)
	} else {
		s.profile, err = audit.BuiltinProfile(audit.DefaultProfile)
	}
	if err != nil {
		return s, err
	}
	if o.Timeout <= 0 {
		return s, cmdutil.Usagef("--timeout must be positive")
	}
	switch {
	case o.NoState && o.State != "":
		return s, cmdutil.Usagef("--state and --no-state exclude each other")
	case o.NoState:
	case o.State != "":
		s.statePath = o.State
	default:
		if s.statePath, err = audit.DefaultStatePath(); err != nil {
			return s, err
		}
	}
	if o.All && slices.ContainsFunc(o.Accounts, func(a string) bool { return !isEndpointArg(a) }) {
		return s, cmdutil.Usagef("--all and account names exclude each other")
	}
	if o.Parallel <= 0 {
		return s, cmdutil.Usagef("--parallel must be positive")
	}
	if o.Resolver != "" {
		if _, _, err := net.SplitHostPort(o.Resolver); err != nil {
			return s, cmdutil.Usagef("--resolver %q: want HOST:PORT", o.Resolver)
		}
	}
	cfg, _, err := o.F.Config()
	if err != nil {
		return s, err
	}
	ef := endpointFlags{starttls: strings.ToLower(o.StartTLS), sip: o.SIP, sni: o.SNI, expectName: o.ExpectName}
	var names []string
	for _, a := range o.Accounts {
		if !isEndpointArg(a) {
			names = append(names, a)
			continue
		}
		t, err := parseEndpoint(a, ef)
		if err != nil {
			return s, err
		}
		s.targets = append(s.targets, t)
	}
	if ef.set() && len(s.targets) == 0 {
		return s, cmdutil.WithHint(cmdutil.Usagef("--starttls, --sip, --sni and --expect-name describe HOST:PORT targets, and none was given"),
			"name the endpoint: cusax audit-tls HOST:PORT --starttls xmpp --sni DOMAIN")
	}
	for _, d := range o.Domains {
		if isEndpointArg(d) {
			return s, cmdutil.WithHint(cmdutil.Usagef("--domain %q is not a domain name but an endpoint", d),
				"audit the endpoint itself: cusax audit-tls "+d+" --starttls xmpp --sni DOMAIN  (or --starttls none, or --sip)")
		}
		if !isDomain(d) {
			return s, cmdutil.Usagef("--domain %q is not a domain name", d)
		}
		s.targets = append(s.targets, auditrun.DomainTarget(strings.ToLower(strings.TrimSuffix(d, "."))))
	}
	if o.Targets != "" {
		file, err := os.Open(o.Targets)
		if err != nil {
			return s, err
		}
		ts, err := parseTargets(o.Targets, file, cfg)
		file.Close()
		if err != nil {
			return s, err
		}
		s.targets = append(s.targets, ts...)
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return s, err
		}
		if s.roots, err = x509.SystemCertPool(); err != nil || s.roots == nil {
			s.roots = x509.NewCertPool()
		}
		if !s.roots.AppendCertsFromPEM(pem) {
			return s, cmdutil.Usagef("--ca-file %s: no PEM certificate found", o.CAFile)
		}
	}
	switch {
	case len(s.targets) > 0 && !o.All && len(names) == 0:
		// Domains, endpoints or a targets file only.
	case o.All:
		s.accounts = cfg.Accounts
		if len(s.accounts) == 0 {
			return s, cmdutil.WithHint(config.ErrNoAccounts, "add one with 'cusax login'")
		}
	case len(names) == 0:
		a, err := cfg.Account("")
		if err != nil {
			return s, cmdutil.WithHint(err, "name an account, or use --all")
		}
		s.accounts = []config.Account{*a}
	default:
		for _, n := range names {
			a, err := cfg.Account(n)
			if err != nil {
				if isDomain(n) {
					return s, cmdutil.WithHint(err, "to audit the service domain "+n+" through DNS: cusax audit-tls --domain "+n)
				}
				return s, err
			}
			s.accounts = append(s.accounts, *a)
		}
	}
	var accountTargets []auditrun.Target
	for i := range s.accounts {
		accountTargets = append(accountTargets, auditrun.Target{Name: s.accounts[i].Name, Account: &s.accounts[i]})
	}
	s.targets = append(accountTargets, s.targets...)
	for _, t := range s.targets {
		if t.Account != nil && !slices.ContainsFunc(s.accounts, func(a config.Account) bool { return a.Name == t.Name }) {
			s.accounts = append(s.accounts, *t.Account) // from the targets file
		}
	}
	return s, nil
}

func run(o *Options) error {
	f := o.F
	s, err := resolve(o)
	if err != nil {
		return unknown(err)
	}
	var state *audit.State
	if s.statePath != "" {
		if state, err = audit.LoadState(s.statePath); err != nil {
			return unknown(cmdutil.WithHint(err, "remove it, or run with --no-state"))
		}
	}
	// The plugin host: each account's telephony backend is asked what it
	// declares (cusax.media-encryption), and policies re-weigh findings.
	src, err := f.Backends()
	if err != nil {
		return unknown(err)
	}
	started := time.Now()
	runner := &auditrun.Runner{
		Backends: src,
		Options:  auditrun.Options{Probe: tlsprobe.Options{DialTimeout: o.Timeout}},
		Parallel: o.Parallel,
		DNS:      &discover.Resolver{Server: o.Resolver, Timeout: min(o.Timeout, 2*time.Second)},
		Roots:    s.roots,
	}
	if f.IO.IsStderrTTY() {
		runner.Progress = func(done, total int) {
			fmt.Fprintf(f.IO.ErrOut, "\raudit-tls: %d/%d endpoints probed", done, total)
		}
	}
	all, err := runner.Run(f.Context, s.targets)
	if runner.Progress != nil {
		fmt.Fprint(f.IO.ErrOut, "\r\033[K")
	}
	if err != nil {
		if f.Context.Err() != nil {
			return err // interrupted: 130
		}
		return unknown(err)
	}
	var findings []audit.Finding
	for _, facts := range all {
		found := audit.Evaluate(facts, s.profile)
		if state != nil {
			found = append(found, state.Compare(facts, s.profile)...)
			state.Update(facts)
		}
		findings = append(findings, found...)
	}
	report := audit.NewReport(audit.Tool{Name: "cusax", Version: f.Version}, started, time.Now(), s.profile, s.warnOn, s.failOn, findings)
	// Policy plugins may re-weigh the profile's severities (never a
	// status or the evidence); the exit code follows the result.
	report, err = session.ReweighAudit(f.Context, src, s.accounts, report)
	if err != nil {
		if f.Context.Err() != nil {
			return err
		}
		return unknown(err)
	}
	if err := writeReport(f.IO, o.Output, s, all, report); err != nil {
		return unknown(err)
	}
	if state != nil {
		if err := state.Save(s.statePath); err != nil {
			return unknown(err)
		}
	}
	code := report.Summary.ExitCode
	if code == audit.ExitOK {
		return nil
	}
	return cmdutil.WithExit(code, errors.New(auditview.Verdict("audit-tls", report)))
}
