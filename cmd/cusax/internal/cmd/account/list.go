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
	JID     string `json:"jid,omitempty"`
	AOR     string `json:"aor,omitempty"`
	// Backends is the plugin serving each aspect (as in status --json).
	Backends session.Serving `json:"backends"`
}

func listEntry(cfg *config.Config, a config.Account) ListJSON {
	e := ListJSON{Name: a.Name, Default: a.Name == cfg.EffectiveDefault(), Related: a.Related, Backends: session.Serve(a)}
	if a.XMPP != nil {
		e.JID = a.XMPP.JID
	}
	if a.SIP != nil {
		e.AOR = a.SIP.AOR
	}
	return e
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
		return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("account-list"), map[string]any{"accounts": out})
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
func backendsCell(sv session.Serving) string {
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
