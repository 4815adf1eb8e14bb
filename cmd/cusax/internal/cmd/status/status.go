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
	// Header: --header, the column names first when piped.
	Header bool
}

// NewCmdStatus builds the command.
func NewCmdStatus(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "status [ACCOUNT...]",
		Short: "Show the configured accounts; --check proves them live",
		Long: `Show the configured accounts: each one's Chat (XMPP) and Telephony (SIP)
aspects and whether they are related (RFC 7081 §3.4), and which backend
serves each (BACKENDS; --json: "backends" and the effective RFC 7081 §2
switches in "features"): chat goes over SIP MESSAGE (sipmessage) with
im_over_sip = true or for an account without XMPP. calls_over_xmpp = true,
which no backend can honour, makes status exit 17 after listing. With
--check, log into each aspect as 'cusax login' does (SIP first) and show its
live state.

Piped, the columns are the same with and without --check, one line per
account (the live ones empty without it): account, default, related, chat,
telephony, backends, then for chat and for telephony each: state,
transport, tls, server_auth, auth, detail. --header names them first.`,
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
	cmdutil.HeaderFlag(cmd, &opts.Header)
	cmd.ValidArgsFunction = f.CompleteAccountArgs
	return cmd
}

// AccountJSON is one account in --json output.
type AccountJSON struct {
	Name    string `json:"name"`
	Default bool   `json:"default"`
	Related bool   `json:"related"`
	// XMPP and SIP are the settings; JSON puts them under chat and
	// telephony with the --check outcome (MarshalJSON).
	XMPP *config.XMPPAspect `json:"-"`
	SIP  *config.SIPAspect  `json:"-"`
	// Provisioning says which provider document the account came from
	// (cusax login --provision/--discover); absent for one set up by hand.
	// JSON writes it in cusax's vocabulary (provisioningJSON).
	Provisioning *config.Provisioning `json:"provisioning,omitempty"`
	// RefreshDue: the provider's refresh_after has passed since the
	// document was last fetched (cusax login --refresh).
	RefreshDue bool                     `json:"refresh_due,omitempty"`
	Checked    bool                     `json:"checked"`
	OK         *bool                    `json:"ok,omitempty"`
	Telephony  *render.AspectJSON       `json:"-"`
	Chat       *render.AspectJSON       `json:"-"`
	Parity     []protocol.ParityFinding `json:"parity,omitempty"`
	Error      string                   `json:"error,omitempty"`
	// ElapsedMS is set by --check (a pointer: a check lent by the agent
	// can take under 1 ms, and 0 is a time, not "not checked").
	ElapsedMS *int64 `json:"elapsed_ms,omitempty"`
	// Features are the RFC 7081 §2 switches as they take effect, and
	// Backends the plugin that serves each aspect (session.Serve).
	Features FeaturesJSON `json:"features"`
	Backends BackendsJSON `json:"backends"`
}

// FeaturesJSON is an account's effective RFC 7081 §2 switches.
type FeaturesJSON struct {
	// IMOverSIP: IM may go over SIP (set, or the default: on unless the
	// aspects are related).
	IMOverSIP bool `json:"im_over_sip"`
	// CallsOverXMPP: true only when set, and then an error: no backend
	// places calls over XMPP.
	CallsOverXMPP bool `json:"calls_over_xmpp"`
	// AdvertiseIMPP: SIP requests carry the XMPP address (RFC 6993).
	AdvertiseIMPP bool `json:"advertise_impp"`
}

// BackendsJSON names the plugin serving each aspect; "" for none.
type BackendsJSON struct {
	// Chat carries messages (`chat`): "xmpp", or "sipmessage" when IM
	// goes over SIP.
	Chat string `json:"chat,omitempty"`
	// ChatOverSIP: Chat logs in with the SIP aspect.
	ChatOverSIP bool `json:"chat_over_sip"`
	// ChatUnavailable says why the account cannot chat.
	ChatUnavailable string `json:"chat_unavailable,omitempty"`
	// Roster serves the roster, vCards, presence and rooms (XMPP only).
	Roster string `json:"roster,omitempty"`
	// Telephony places and takes calls: "sip", "baresip", ….
	Telephony string `json:"telephony,omitempty"`
}

func servingOf(a config.Account) (FeaturesJSON, BackendsJSON) {
	sv := session.Serve(a)
	return FeaturesJSON{IMOverSIP: sv.IMOverSIP, CallsOverXMPP: sv.CallsOverXMPP, AdvertiseIMPP: a.Features.AdvertiseIMPPEnabled()},
		BackendsJSON{Chat: sv.Chat, ChatOverSIP: sv.ChatOverSIP, ChatUnavailable: sv.ChatUnavailable, Roster: sv.Roster, Telephony: sv.Telephony}
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
		row := AccountJSON{Name: a.Name, Default: a.Name == cfg.EffectiveDefault(), Related: a.Related, XMPP: a.XMPP, SIP: a.SIP, Provisioning: a.Provisioning,
			RefreshDue: refreshDue(a.Provisioning, time.Now())}
		row.Features, row.Backends = servingOf(a)
		// RFC 7081 §2: a switch no backend can honour is an error, not
		// something status leaves for `call` to find.
		if err := session.CallsOverXMPPError(a); err != nil && firstErr == nil {
			firstErr = err
		}
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
		if err := cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("status"), struct {
			Accounts []AccountJSON `json:"accounts"`
		}{out}); err != nil {
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
	var imErr error
	if session.Serve(a).ChatOverSIP && a.XMPP == nil {
		// The account chats over SIP (RFC 7081 §2): its Chat row is that
		// backend's login, not "not configured".
		chat, imErr = checkIMOverSIP(o, a)
		ok = ok && imErr == nil
	}
	ms := res.Elapsed.Milliseconds()
	row.OK, row.Telephony, row.Chat, row.Parity, row.ElapsedMS = &ok, &tel, &chat, res.Findings, &ms
	if !ok {
		if imErr != nil && res.OK() {
			return fmt.Errorf("account %s: %w", a.Name, imErr)
		}
		return fmt.Errorf("account %s: %w", a.Name, res.Err())
	}
	return nil
}

// checkIMOverSIP logs in with the account's chat-over-SIP backend and
// out again, as the Chat row of status --check.
func checkIMOverSIP(o *Options, a config.Account) (render.AspectJSON, error) {
	f := o.F
	r := session.AspectResult{Aspect: protocol.AspectChat, Configured: true, Started: time.Now()}
	sess, err := f.OpenIM(a, 0)
	r.Finished = time.Now()
	if err != nil {
		r.Err = err
		return render.JSONAspect(r), err
	}
	rep := sess.Report()
	r.Report = &rep
	sess.Shutdown()
	return render.JSONAspect(r), nil
}

// tsvColumns are piped status's columns, with --check or without.
var tsvColumns = []string{"account", "default", "related", "chat", "telephony", "backends",
	"chat_state", "chat_transport", "chat_tls", "chat_server_auth", "chat_auth", "chat_detail",
	"telephony_state", "telephony_transport", "telephony_tls", "telephony_server_auth", "telephony_auth", "telephony_detail"}

// printTSV writes the stable piped form: one line per account, the same
// columns whether or not --check ran (issue 19: --check used to switch to
// other columns and two lines per account).
func printTSV(o *Options, rows []AccountJSON) {
	t := cmdutil.NewTable(o.F.IO.Out, false)
	if o.Header {
		t.TSVHeader(tsvColumns...)
	}
	for _, r := range rows {
		chat, tel := addresses(r)
		cells := []string{r.Name, yesNo(r.Default), yesNo(r.Related), chat, tel, backendsCell(r)}
		for _, a := range []*render.AspectJSON{r.Chat, r.Telephony} {
			switch {
			case !r.Checked:
				cells = append(cells, "", "", "", "", "", "")
			case a == nil:
				// The check failed before the aspects were tried.
				cells = append(cells, "failed", "", "", "", "", r.Error)
			default:
				cells = append(cells, liveCells(a)...)
			}
		}
		t.Row(cells...)
	}
	_ = t.Flush()
}

// addresses are the chat and telephony cells: the address, and the server
// it is reached through when one is set; "-" for an aspect not set up.
func addresses(r AccountJSON) (chat, tel string) {
	chat, tel = "-", "-"
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
	return chat, tel
}

// liveCells are an aspect's state, transport, TLS, server
// authentication, authentication mechanism and detail.
func liveCells(a *render.AspectJSON) []string {
	transport, tlsv, auth, mech, detail := "", "none", "", "", a.Error+a.Skipped
	if rep := a.Report; rep != nil {
		transport, mech, detail = rep.Transport, rep.AuthMechanism, rep.Address
		if rep.TLS != nil {
			tlsv, auth = rep.TLS.Version+" "+rep.TLS.CipherSuite, rep.TLS.ServerAuth
		}
	}
	return []string{a.State, transport, tlsv, auth, mech, detail}
}

func printHuman(o *Options, rows []AccountJSON) {
	io := o.F.IO
	if !io.IsStdoutTTY() {
		printTSV(o, rows)
		return
	}
	// On a terminal, a table for people: the accounts, or with --check
	// one line per aspect and its live state.
	if !o.Check {
		t := cmdutil.NewTable(io.Out, true, "ACCOUNT", "DEFAULT", "RELATED", "CHAT (XMPP)", "TELEPHONY (SIP)", "BACKENDS")
		for _, r := range rows {
			chat, tel := addresses(r)
			t.Row(r.Name, yesNo(r.Default), yesNo(r.Related), chat, tel, backendsCell(r))
		}
		_ = t.Flush()
		return
	}
	t := cmdutil.NewTable(io.Out, true, "ACCOUNT", "ASPECT", "STATE", "TRANSPORT", "TLS", "SERVER AUTH", "AUTH", "DETAIL")
	for _, r := range rows {
		if r.Telephony == nil {
			t.Row(r.Name, "-", "failed", "", "", "", "", r.Error)
			continue
		}
		for _, a := range []*render.AspectJSON{r.Telephony, r.Chat} {
			t.Row(append([]string{r.Name, a.Label}, liveCells(a)...)...)
		}
	}
	_ = t.Flush()
}

// backendsCell is "chat=xmpp telephony=sip", naming what serves each
// aspect ("chat=sipmessage" when IM goes over SIP, "chat=-" for none).
func backendsCell(r AccountJSON) string {
	chat, tel := r.Backends.Chat, r.Backends.Telephony
	if chat == "" {
		chat = "-"
	}
	if tel == "" {
		tel = "-"
	}
	return "chat=" + chat + " telephony=" + tel
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
