// Package auditcontacts implements `cusax audit-contacts`: what a CUSAX
// service promises its users in the address book (RFC 7081 §3.1, §3.5,
// service strategies 3 and 4 of §6), in audit-tls's report model and
// monitoring exit codes.
package auditcontacts

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/auditview"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/contactaudit"
	"github.com/cusax/cusax/pkg/core/session"
)

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Accounts []string
	All      bool
	Targets  string
	JSON     bool
	Format   string // text, json, ndjson
	WarnOn   string
	FailOn   string
	Parallel int
	Rate     float64
	Timeout  time.Duration
	Header   bool
}

// maxTargets bounds a --targets file.
const maxTargets = 10000

// NewCmdAuditContacts builds the command.
func NewCmdAuditContacts(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "audit-contacts [ACCOUNT...] [--all] [--targets FILE]",
		Short: "Audit what the service promises in the address book: vCards, SIP URIs, video, reachability",
		Long: `Log into each account, read its roster and the contacts' vCards, and check
what RFC 7081 asks of a CUSAX service (§3.1, §3.5 and service
strategies 3 and 4 of §6):

  contacts.own-aor    the account's own vCard lists its own SIP AOR (§3.5:
                      callees confirm a caller's JID through it)
  contacts.vcard      each roster contact has a vCard
  contacts.sip-uri    the contact's vCard lists a SIP URI (strategy 3)
  contacts.sip-known  the SIP service knows that URI: one SIP OPTIONS
                      (RFC 3261 §11) through the account's proxy; 404 or
                      604 = unknown user (a finding), 480 = known but not
                      registered now, any other final response = reachable
  contacts.video      TYPE=video only where the OPTIONS answer's SDP offers
                      video (strategy 4; skipped when the answer has no SDP)
  contacts.reach      XEP-0152 reachability addresses are listed in the
                      contact's vCard (§3.3: they are hints only)

It never places a call: the only SIP requests are OPTIONS, at most --rate
per second over the whole run (each may be sent twice: once more with the
digest answer to the proxy's 407). An answer for a URI is reused by every account behind the same
proxy. --parallel bounds the accounts audited at once; progress goes to
stderr on a terminal only.

The report lists, per account, the failed and errored checks with
evidence, reference and fix, then a summary table (one row per account;
piped: account, contacts, passed, failed, errored, skipped, worst,
tab-separated). --json prints one "cusax.audit-contacts/v1" document with
every check (the audit-tls report shape; a per-contact finding names the
contact's JID as its endpoint); --format ndjson one finding per line.

Targets: the named accounts (default: the default account), --all
configured accounts, or --targets FILE with one account name a line
('#' comments).

Exit codes follow the monitoring-plugin convention, as for audit-tls (see
'cusax help exit-codes'):
  0  OK        no failed check at or above --warn-on (default medium)
  1  WARNING   a failed check at or above --warn-on, below --fail-on
  2  CRITICAL  a failed check at or above --fail-on (default high)
  3  UNKNOWN   a check could not run (login failed, no SIP aspect, a
               backend without OPTIONS), or the audit could not start: bad
               flags, an unreadable targets file, no such account
  130 interrupted`,
		Example: `  $ cusax audit-contacts
  $ cusax audit-contacts work --json
  $ cusax audit-contacts --all --rate 20 --parallel 8
  $ cusax audit-contacts --all --format ndjson --fail-on critical
  $ cusax audit-contacts --jq '.findings[] | select(.status=="fail") | .endpoint'`,
		RunE: func(_ *cobra.Command, args []string) error {
			o.Accounts = args
			if runF != nil {
				return runF(o)
			}
			return run(o)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return unknown(cmdutil.Usagef("%v", err)) })
	fl := cmd.Flags()
	fl.BoolVar(&o.All, "all", false, "audit every configured account")
	fl.StringVar(&o.Targets, "targets", "", "file of account names, one a line")
	fl.BoolVar(&o.JSON, "json", false, "print the JSON report (same as --format json)")
	fl.StringVar(&o.Format, "format", "", "output format: text, json, ndjson, openmetrics or html (default text)")
	fl.StringVar(&o.WarnOn, "warn-on", audit.Medium.String(), "lowest severity of a failure that exits 1 (WARNING)")
	fl.StringVar(&o.FailOn, "fail-on", audit.High.String(), "lowest severity of a failure that exits 2 (CRITICAL)")
	fl.IntVar(&o.Parallel, "parallel", 4, "accounts audited at once")
	fl.Float64Var(&o.Rate, "rate", 10, "SIP OPTIONS per second, at most, over the whole run")
	fl.DurationVar(&o.Timeout, "timeout", 10*time.Second, "timeout for each login")
	cmdutil.HeaderFlag(cmd, &o.Header)
	cmd.ValidArgsFunction = f.CompleteAccountArgs
	cmdutil.CompleteEnum(cmd, "format", auditview.Formats)
	var severities []string
	for _, s := range audit.Severities() {
		severities = append(severities, s.String())
	}
	cmdutil.CompleteEnum(cmd, "warn-on", severities)
	cmdutil.CompleteEnum(cmd, "fail-on", severities)
	_ = cmd.MarkFlagFilename("targets")
	return cmd
}

// unknown makes err exit 3 (UNKNOWN): anything that stops the audit itself.
func unknown(err error) error {
	var exit *cmdutil.ExitError
	if err == nil || errors.As(err, &exit) {
		return err
	}
	return cmdutil.WithExit(audit.ExitUnknown, cmdutil.WithHint(err, "run 'cusax audit-contacts --help' for usage"))
}

type setup struct {
	format         string
	warnOn, failOn audit.Severity
	accounts       []config.Account
}

func resolve(o *Options) (setup, error) {
	var s setup
	var err error
	if s.format, s.warnOn, s.failOn, err = auditview.Resolve(o.JSON, o.Format, o.WarnOn, o.FailOn); err != nil {
		return s, err
	}
	switch {
	case o.Parallel <= 0:
		return s, cmdutil.Usagef("--parallel must be positive")
	case o.Rate <= 0:
		// Unlimited OPTIONS is not offered: the audit must never flood a
		// proxy.
		return s, cmdutil.Usagef("--rate must be positive (OPTIONS per second)")
	case o.Timeout <= 0:
		return s, cmdutil.Usagef("--timeout must be positive")
	}
	n := 0
	for _, b := range []bool{o.All, len(o.Accounts) > 0, o.Targets != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		return s, cmdutil.Usagef("account names, --all and --targets exclude each other")
	}
	cfg, _, err := o.F.Config()
	if err != nil {
		return s, err
	}
	names := o.Accounts
	switch {
	case o.All:
		s.accounts = cfg.Accounts
		if len(s.accounts) == 0 {
			return s, cmdutil.WithHint(config.ErrNoAccounts, "add one with 'cusax login'")
		}
		return s, nil
	case o.Targets != "":
		if names, err = readTargets(o.Targets); err != nil {
			return s, err
		}
	case len(names) == 0:
		a, err := cfg.Account("")
		if err != nil {
			return s, cmdutil.WithHint(err, "name an account, or use --all")
		}
		s.accounts = []config.Account{*a}
		return s, nil
	}
	for _, name := range names {
		a, err := cfg.Account(name)
		if err != nil {
			return s, err
		}
		s.accounts = append(s.accounts, *a)
	}
	return s, nil
}

// readTargets reads one account name a line; '#' starts a comment.
func readTargets(path string) ([]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var out []string
	sc := bufio.NewScanner(file)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		switch len(fields) {
		case 0:
			continue
		case 1:
			out = append(out, fields[0])
		default:
			return nil, cmdutil.Usagef("%s:%d: want one account name, got %d fields", path, line, len(fields))
		}
		if len(out) > maxTargets {
			return nil, cmdutil.Usagef("%s:%d: more than %d targets", path, line, maxTargets)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, cmdutil.Usagef("%s:%d: %v", path, line+1, err)
	}
	if len(out) == 0 {
		return nil, cmdutil.Usagef("%s: no targets", path)
	}
	return out, nil
}

func run(o *Options) error {
	f := o.F
	s, err := resolve(o)
	if err != nil {
		return unknown(err)
	}
	f.IO.SerializeErrOut() // accounts log in at once; each may warn on stderr
	src, err := f.Backends()
	if err != nil {
		return unknown(err)
	}
	store, _, err := f.Secrets()
	if err != nil {
		return unknown(err)
	}
	runner := &contactaudit.Runner{
		Parallel: o.Parallel,
		Rate:     o.Rate,
		OpenChat: func(_ context.Context, a config.Account) (contactaudit.Chat, error) {
			sess, err := f.OpenChat(a, o.Timeout)
			if err != nil {
				return contactaudit.Chat{}, err
			}
			return contactaudit.Chat{Session: sess.IMPPSession, Info: sess.Info, Close: sess.Shutdown}, nil
		},
		OpenTelephony: func(ctx context.Context, a config.Account) (contactaudit.Telephony, error) {
			sess, err := session.OpenTelephony(ctx, src, store, a, o.Timeout)
			if err != nil {
				return contactaudit.Telephony{}, err
			}
			return contactaudit.Telephony{Session: sess.TelephonySession, Info: sess.Info, Close: sess.Shutdown}, nil
		},
	}
	if f.IO.IsStderrTTY() {
		runner.Progress = func(done, total int) {
			fmt.Fprintf(f.IO.ErrOut, "\raudit-contacts: %d/%d accounts audited", done, total)
		}
	}
	started := time.Now()
	facts, err := runner.Run(f.Context, s.accounts)
	if runner.Progress != nil {
		fmt.Fprint(f.IO.ErrOut, "\r\033[K")
	}
	if err != nil {
		return err // only ctx's: interrupted, 130
	}
	var findings []audit.Finding
	for _, fa := range facts {
		findings = append(findings, contactaudit.Evaluate(fa)...)
	}
	report := audit.NewReport(audit.Tool{Name: "cusax", Version: f.Version}, started, time.Now(),
		contactaudit.Profile(), s.warnOn, s.failOn, findings)
	report.Schema = contactaudit.Schema
	f.Logger().Debug("audit-contacts done", "accounts", len(facts), "options_sent", runner.Sent(), "ms", time.Since(started).Milliseconds())
	switch s.format {
	case "json":
		err = report.WriteJSON(f.IO.Out)
	case "ndjson":
		err = audit.WriteNDJSONAs(f.IO.Out, contactaudit.Schema, report.Findings)
	case "openmetrics", "html":
		// The same renderers as audit-tls (pkg/core/auditreport): one
		// textfile for node-exporter, one page for a batch.
		in := auditreport.Input{Command: "audit-contacts", Report: report}
		for _, a := range s.accounts {
			in.Targets = append(in.Targets, a.Name)
		}
		if s.format == "html" {
			err = auditreport.WriteHTML(f.IO.Out, in)
		} else {
			err = auditreport.WriteOpenMetrics(f.IO.Out, in)
		}
	default:
		err = writeText(f.IO, facts, report, o.Header)
	}
	if err != nil {
		return unknown(err)
	}
	code := report.Summary.ExitCode
	if code == audit.ExitOK {
		return nil
	}
	return cmdutil.WithExit(code, errors.New(auditview.Verdict("audit-contacts", report)))
}
