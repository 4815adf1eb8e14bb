package account

import (
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/spf13/cobra"
)

func newCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f, Sub: "list"}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the accounts: the default, addresses and backends",
		Long: `List the configured accounts: which one is the default (used when
--account is not given), the Chat address (XMPP JID), the Telephony address
(SIP AOR) and the backend serving each. On a terminal the default is marked
with *; piped, the columns are NAME, DEFAULT (yes/no), JID, AOR, BACKENDS,
tab-separated, without a header ("-" for an absent aspect).`,
		Example: `  $ cusax account list
  $ cusax account list --json`,
		Args: noArgs,
		RunE: func(_ *cobra.Command, args []string) error { o.Args = args; return dispatch(o, runF) },
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

// ListJSON is one account in `account list --json` (and the start of
// `account show --json`).
type ListJSON struct {
	Name    string `json:"name"`
	Default bool   `json:"default"`
	Related bool   `json:"related"`
	// JID and AOR are the Chat (XMPP) and Telephony (SIP) addresses; a
	// missing aspect leaves its key out.
	JID string `json:"jid,omitempty"`
	AOR string `json:"aor,omitempty"`
	// Backends is the plugin serving each aspect, with the keys of
	// status --json's "backends".
	Backends BackendsJSON `json:"backends"`
}

// BackendsJSON names the plugin serving each aspect; "" (left out) for
// none. The keys and their meaning are status --json's "backends"
// (docs/json.md: the same key means the same thing everywhere); the
// RFC 7081 §2 switches behind them are status's "features".
type BackendsJSON struct {
	Chat            string `json:"chat,omitempty"`
	ChatOverSIP     bool   `json:"chat_over_sip"`
	ChatUnavailable string `json:"chat_unavailable,omitempty"`
	Roster          string `json:"roster,omitempty"`
	Telephony       string `json:"telephony,omitempty"`
}

func backendsOf(sv session.Serving) BackendsJSON {
	return BackendsJSON{Chat: sv.Chat, ChatOverSIP: sv.ChatOverSIP, ChatUnavailable: sv.ChatUnavailable, Roster: sv.Roster, Telephony: sv.Telephony}
}

func listEntry(cfg *config.Config, a config.Account) ListJSON {
	e := ListJSON{Name: a.Name, Default: a.Name == cfg.EffectiveDefault(), Related: a.Related, Backends: backendsOf(session.Serve(a))}
	if a.XMPP != nil {
		e.JID = a.XMPP.JID
	}
	if a.SIP != nil {
		e.AOR = a.SIP.AOR
	}
	return e
}

// ListDoc is the `account list --json` document: a list is a key of the
// document, never a bare array (docs/json.md).
type ListDoc struct {
	Accounts []ListJSON `json:"accounts"`
}

func listRun(o *Options) error {
	f := o.F
	cfg, _, err := f.Config()
	if err != nil {
		return err
	}
	out := make([]ListJSON, 0, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		out = append(out, listEntry(cfg, a))
	}
	if o.JSON {
		return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("account-list"), ListDoc{Accounts: out})
	}
	if len(out) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "cusax: no accounts configured; add one with 'cusax login'")
		return nil
	}
	tty := f.IO.IsStdoutTTY()
	t := cmdutil.NewTable(f.IO.Out, tty, "", "NAME", "CHAT (XMPP)", "TELEPHONY (SIP)", "BACKENDS")
	for _, e := range out {
		if tty {
			mark := " "
			if e.Default {
				mark = "*"
			}
			t.Row(mark, e.Name, dash(e.JID), dash(e.AOR), backendsCell(e.Backends))
		} else {
			t.Row(e.Name, yesNo(e.Default), dash(e.JID), dash(e.AOR), backendsCell(e.Backends))
		}
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if tty && cfg.EffectiveDefault() == "" && len(out) > 1 {
		fmt.Fprintln(f.IO.ErrOut, "cusax: note: no default account: commands need --account; choose one with 'cusax account default NAME'")
	}
	return nil
}

// backendsCell is "chat=xmpp telephony=sip", as in `cusax status`.
func backendsCell(sv BackendsJSON) string {
	return "chat=" + dash(sv.Chat) + " telephony=" + dash(sv.Telephony)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
