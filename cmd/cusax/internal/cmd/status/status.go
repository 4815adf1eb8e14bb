// Package status implements `cusax status`: the configured accounts, and
// with --check the live state of each aspect.
package status

import (
	"fmt"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/render"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// Options are the parsed flags.
type Options struct {
	F        *cmdutil.Factory
	Accounts []string
	Check    bool
	JSON     bool
}

// NewCmdStatus builds the command.
func NewCmdStatus(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "status [ACCOUNT...]",
		Short: "Show the configured accounts; --check proves them live",
		Long: `Show the configured accounts: each one's Chat (XMPP) and Telephony (SIP)
aspects and whether they are related (RFC 7081 §3.4). With --check, log into
each aspect as 'cusax login' does (SIP first) and show its live state.`,
		Example: `  $ cusax status
  $ cusax status --check --json work`,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Accounts = args
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Check, "check", false, "log into each aspect and report its live state")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// AccountJSON is one account in --json output.
type AccountJSON struct {
	Name    string             `json:"name"`
	Default bool               `json:"default"`
	Related bool               `json:"related"`
	XMPP    *config.XMPPAspect `json:"xmpp,omitempty"`
	SIP     *config.SIPAspect  `json:"sip,omitempty"`
	// Provisioning says which provider document the account came from
	// (cusax login --provision/--discover); absent for one set up by hand.
	Provisioning *config.Provisioning `json:"provisioning,omitempty"`
	// RefreshDue: the provider's refresh_after has passed since the
	// document was last fetched (cusax login --refresh).
	RefreshDue bool                     `json:"refresh_due,omitempty"`
	Checked    bool                     `json:"checked"`
	OK         *bool                    `json:"ok,omitempty"`
	Telephony  *render.AspectJSON       `json:"telephony,omitempty"`
	Chat       *render.AspectJSON       `json:"chat,omitempty"`
	Parity     []protocol.ParityFinding `json:"parity,omitempty"`
	Error      string                   `json:"error,omitempty"`
	ElapsedMS  int64                    `json:"elapsed_ms,omitempty"`
}

func run(o *Options) error {
	f := o.F
	cfg, _, err := f.Config()
	if err != nil {
		return err
	}
	accts := cfg.Accounts
	if len(o.Accounts) > 0 {
		accts = nil
		for _, n := range o.Accounts {
			a, err := cfg.Account(n)
			if err != nil {
				return cmdutil.Usagef("%v", err)
			}
			accts = append(accts, *a)
		}
	}
	out := make([]AccountJSON, 0, len(accts))
	var firstErr error
	for _, a := range accts {
		row := AccountJSON{Name: a.Name, Default: a.Name == cfg.Default, Related: a.Related, XMPP: a.XMPP, SIP: a.SIP, Provisioning: a.Provisioning,
			RefreshDue: refreshDue(a.Provisioning, time.Now())}
		if o.Check {
			if err := check(o, a, &row); err != nil {
				row.Error = err.Error()
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		out = append(out, row)
	}
	if o.JSON {
		if err := cmdutil.WriteJSON(f.IO.Out, out); err != nil {
			return err
		}
	} else {
		printHuman(o, out)
	}
	if len(accts) == 0 && !o.JSON {
		fmt.Fprintln(f.IO.ErrOut, "cusax: no accounts configured; add one with 'cusax login'")
	}
	for _, r := range out {
		if r.RefreshDue {
			fmt.Fprintf(f.IO.ErrOut, "cusax: note: account %s: the provider's document was fetched %s ago and it asks for a refresh every %s: cusax login --refresh --name %s\n",
				r.Name, time.Since(r.Provisioning.Fetched).Round(time.Minute), r.Provisioning.RefreshAfter, r.Name)
		}
	}
	return firstErr
}

// refreshDue reports whether a provisioned account's document is older
// than the provider's refresh_after hint (docs/provisioning.md).
func refreshDue(p *config.Provisioning, now time.Time) bool {
	if p == nil || p.RefreshAfter == "" || p.Fetched.IsZero() {
		return false
	}
	d, err := time.ParseDuration(p.RefreshAfter)
	return err == nil && now.Sub(p.Fetched) > d
}

func check(o *Options, a config.Account, row *AccountJSON) error {
	f := o.F
	ctx := f.Context
	row.Checked = true
	fail := func(err error) error {
		ok := false
		row.OK = &ok
		return fmt.Errorf("account %s: %w", a.Name, err)
	}
	store, _, err := f.Secrets()
	if err != nil {
		return fail(err)
	}
	src, err := f.Backends()
	if err != nil {
		return fail(err)
	}
	// Aspects the agent keeps connected are proven by its live sessions
	// (their reports), with no password looked up.
	xpw, spw, err := session.PasswordsFor(ctx, src, store, a)
	if err != nil {
		return fail(err)
	}
	ca, err := session.ReadCA(a)
	if err != nil {
		return fail(err)
	}
	plugins, err := session.Open(ctx, src, a)
	if err != nil {
		return fail(err)
	}
	defer plugins.Close()
	res := session.Prove(ctx, plugins.Backends, session.Request{Account: a, XMPPPassword: xpw, SIPPassword: spw, CAPEM: ca, TelephonyInfo: plugins.TelephonyInfo()})
	tel, chat := render.JSONAspect(res.Telephony), render.JSONAspect(res.Chat)
	ok := res.OK()
	row.OK, row.Telephony, row.Chat, row.Parity, row.ElapsedMS = &ok, &tel, &chat, res.Findings, res.Elapsed.Milliseconds()
	if !ok {
		return fmt.Errorf("account %s: %w", a.Name, res.Err())
	}
	return nil
}

func printHuman(o *Options, rows []AccountJSON) {
	io := o.F.IO
	if !o.Check {
		t := cmdutil.NewTable(io.Out, io.IsStdoutTTY(), "ACCOUNT", "DEFAULT", "RELATED", "CHAT (XMPP)", "TELEPHONY (SIP)")
		for _, r := range rows {
			chat, tel := "-", "-"
			if r.XMPP != nil {
				chat = r.XMPP.JID
				if r.XMPP.Server != "" {
					chat += " via " + r.XMPP.Server
				}
			}
			if r.SIP != nil {
				tel = r.SIP.AOR
				if r.SIP.Proxy != "" {
					tel += " via " + r.SIP.Proxy
				}
			}
			t.Row(r.Name, yesNo(r.Default), yesNo(r.Related), chat, tel)
		}
		_ = t.Flush()
		return
	}
	t := cmdutil.NewTable(io.Out, io.IsStdoutTTY(), "ACCOUNT", "ASPECT", "STATE", "TRANSPORT", "TLS", "SERVER AUTH", "AUTH", "DETAIL")
	for _, r := range rows {
		if r.Telephony == nil {
			t.Row(r.Name, "-", "failed", "", "", "", "", r.Error)
			continue
		}
		for _, a := range []*render.AspectJSON{r.Telephony, r.Chat} {
			transport, tlsv, auth, mech, detail := "", "none", "", "", a.Error+a.Skipped
			if rep := a.Report; rep != nil {
				transport, mech, detail = rep.Transport, rep.AuthMechanism, rep.Address
				if rep.TLS != nil {
					tlsv, auth = rep.TLS.Version+" "+rep.TLS.CipherSuite, rep.TLS.ServerAuth
				}
			}
			t.Row(r.Name, a.Label, a.State, transport, tlsv, auth, mech, detail)
		}
	}
	_ = t.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
