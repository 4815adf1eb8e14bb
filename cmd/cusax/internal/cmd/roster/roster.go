// Package roster implements `cusax roster`: the XMPP roster as the user's
// address book for calls too (RFC 7081 §3, §3.3, §5).
package roster

import (
	"fmt"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/addressbook"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/core/vcardcache"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// Options are the parsed flags shared by the roster commands.
type Options struct {
	F            *cmdutil.Factory
	Account      string
	JSON         bool
	Header       bool // --header: column names first when piped
	Presence     bool
	PresenceWait time.Duration
	Refresh      bool
	Concurrency  int
	TTL          time.Duration
}

// NewCmdRoster builds `roster` and its subcommands.
func NewCmdRoster(f *cmdutil.Factory) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "roster",
		Short: "List contacts with their calling data (vCard TELs, video, cost cues)",
		Long: `List the roster of the account's Chat (XMPP) aspect, with each contact's vCard
(XEP-0292, else XEP-0054) and what it means for calls (RFC 7081 §3.3, §5):

  callable      the vCard has a usable SIP URI or phone number ("Call" option)
  video         a TEL has TYPE=video
  inter_domain  the contact's domain differs from the account's (may cost money)
  pstn          a call would go to a phone number rather than a SIP URI
  reach         XEP-0152 reachability addresses: hints, verified only when
                the contact's vCard lists the same address

With --presence, a contact's presence is what arrived within --presence-wait:
"available" (or the show: away, dnd, xa, chat, with the status), "offline"
when we are subscribed to their presence (subscription to or both) and none
came, and "unknown" when no subscription gives us their presence (none or
from, RFC 6121 §2.1.2.1): 'cusax roster subscribe JID' asks for one.

vCards are cached under $XDG_CACHE_HOME/cusax/vcards for --ttl (default 24h);
--refresh fetches them again. Piped output is tab-separated, one contact per
line, columns: jid name subscription groups callable call_uri video
inter_domain pstn reach [presence].`,
		Example: `  $ cusax roster
  $ cusax roster --json --presence
  $ cusax roster show bob
  $ cusax roster export > contacts.vcf
  $ cusax roster subscribe bob@example.com`,
		Args: cmdutil.NoArgsButSubcommands,
		RunE: func(*cobra.Command, []string) error { return runList(o) },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.Account, "account", "", "account to use (default: the default account)")
	pf.BoolVar(&o.Refresh, "refresh", false, "ignore cached vCards and fetch them again")
	pf.DurationVar(&o.TTL, "ttl", vcardcache.DefaultTTL, "how long cached vCards are used (0: fetch them all, as --refresh)")
	pf.IntVar(&o.Concurrency, "concurrency", 8, "vCard fetches in flight at once")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&o.Presence, "presence", false, "also collect presence for --presence-wait after login")
	cmd.Flags().DurationVar(&o.PresenceWait, "presence-wait", 2*time.Second, "how long to collect presence")
	cmdutil.HeaderFlag(cmd, &o.Header)
	o.F.CompleteAccountFlag(cmd, "account")
	cmd.AddCommand(newCmdShow(o), newCmdExport(o), newCmdSubscribe(o), newCmdApprove(o))
	return cmd
}

type built struct {
	acct     config.Account
	contacts []addressbook.Contact
}

// build logs in and builds the address book.
func (o *Options) build(only []string, resolve func(*session.ChatSession) ([]string, error)) (*built, error) {
	f := o.F
	switch {
	case o.Concurrency < 1:
		return nil, cmdutil.Usagef("--concurrency must be at least 1")
	case o.TTL < 0:
		return nil, cmdutil.Usagef("--ttl must not be negative")
	case o.Presence && o.PresenceWait <= 0:
		// Nothing would be collected: every contact would read offline.
		return nil, cmdutil.Usagef("--presence-wait must be positive")
	}
	refresh := o.Refresh
	if o.TTL == 0 {
		// No cached vCard is young enough (vcardcache.Open would read 0 as
		// its default TTL).
		refresh = true
	}
	acct, err := f.Account(o.Account)
	if err != nil {
		return nil, err
	}
	sess, err := f.OpenChat(acct, 0)
	if err != nil {
		return nil, err
	}
	defer sess.Shutdown()
	if resolve != nil {
		if only, err = resolve(sess); err != nil {
			return nil, err
		}
	}
	root, err := vcardcache.Dir()
	if err != nil {
		return nil, err
	}
	wait := time.Duration(0)
	if o.Presence {
		wait = o.PresenceWait
	}
	list, err := addressbook.Build(f.Context, sess.IMPPSession, sess.Info, addressbook.Options{
		AccountDomain: domainOf(acct.XMPP.JID), Cache: vcardcache.Open(root, acct.Name, o.TTL),
		Refresh: refresh, Concurrency: o.Concurrency, PresenceWait: wait, Only: only,
	})
	if err != nil {
		return nil, err
	}
	if only == nil {
		// The whole roster: what completion offers next time.
		items := make([]protocol.RosterItem, len(list))
		for i, c := range list {
			items[i] = protocol.RosterItem{JID: c.JID, Name: c.Name}
		}
		f.RememberRoster(acct, items)
	}
	for _, c := range list {
		if c.VCardError != "" {
			fmt.Fprintf(f.IO.ErrOut, "cusax: warning: vCard of %s: %s\n", c.JID, c.VCardError)
		}
	}
	return &built{acct: acct, contacts: list}, nil
}

func runList(o *Options) error {
	b, err := o.build(nil, nil)
	if err != nil {
		return err
	}
	io := o.F.IO
	if o.JSON {
		return cmdutil.WriteJSON(io.Out, cmdutil.Schema("roster"), struct {
			Account  string                `json:"account"`
			Contacts []addressbook.Contact `json:"contacts"`
		}{b.acct.Name, b.contacts})
	}
	if io.IsStdoutTTY() {
		header := []string{"NAME", "JID", "SUBSCRIPTION", "GROUPS", "CALL", "VIDEO", "COST", "REACH"}
		if o.Presence {
			header = append(header, "PRESENCE")
		}
		t := cmdutil.NewTable(io.Out, true, header...)
		for _, c := range b.contacts {
			row := []string{c.Name, c.JID, c.Subscription, strings.Join(c.Groups, ","), orDash(callURI(c)), yes(c.Video), cost(c), reachText(c.Reach)}
			if o.Presence {
				row = append(row, presenceText(c.Presence))
			}
			t.Row(row...)
		}
		return t.Flush()
	}
	t := cmdutil.NewTable(io.Out, false)
	if o.Header {
		names := []string{"jid", "name", "subscription", "groups", "callable", "call_uri", "video", "inter_domain", "pstn", "reach"}
		if o.Presence {
			names = append(names, "presence")
		}
		t.TSVHeader(names...)
	}
	for _, c := range b.contacts {
		row := []string{c.JID, c.Name, c.Subscription, strings.Join(c.Groups, ","), fmt.Sprint(c.Callable), callURI(c),
			fmt.Sprint(c.Video), fmt.Sprint(c.InterDomain), fmt.Sprint(c.PSTN), reachText(c.Reach)}
		if o.Presence {
			row = append(row, presenceText(c.Presence))
		}
		t.Row(row...)
	}
	return t.Flush()
}

func callURI(c addressbook.Contact) string {
	if t, ok := contacts.Preferred(c.Tels); ok {
		return t.URI
	}
	return ""
}

func cost(c addressbook.Contact) string {
	var cues []string
	if c.PSTN {
		cues = append(cues, "pstn")
	}
	if c.InterDomain {
		cues = append(cues, "inter-domain")
	}
	if len(cues) == 0 {
		return "-"
	}
	return strings.Join(cues, ",")
}

func reachText(rs []contacts.Reach) string {
	var parts []string
	for _, r := range rs {
		s := r.URI
		if !r.Verified {
			s += " (unverified)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func presenceText(p *addressbook.PresenceSummary) string {
	if p == nil {
		return "unknown"
	}
	if !p.Available {
		// "unknown" when no subscription gives us their presence (RFC 6121
		// §2.1.2.1); see addressbook.PresenceSummary.State.
		if p.State == "" {
			return "offline"
		}
		return p.State
	}
	s := "available"
	if p.Show != "" {
		s = p.Show
	}
	if p.Status != "" {
		s += ": " + p.Status
	}
	return s
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// domainOf is the account's domain for the §5 cues, in pkg/address's one
// form (contacts.Derive compares with address.SameDomain); "" when the
// JID has none, which turns the cue off.
func domainOf(jid string) string {
	d, _ := address.DomainOf(jid)
	return d
}
