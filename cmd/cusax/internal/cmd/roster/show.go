package roster

import (
	"fmt"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/addressbook"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/vcardxml"
	"github.com/emersion/go-vcard"
	"github.com/spf13/cobra"
)

func newCmdShow(o *Options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show CONTACT",
		Short: "Show a contact's full vCard",
		Long: `Show a contact's full vCard as vCard 4 text (RFC 6350), or with --json the
contact's calling data and the vCard text. CONTACT is a JID, an xmpp: URI or
a roster name (exact, else a unique case-insensitive prefix); failing
those, a search: a case-insensitive part of a name or JID (a domain finds
its contacts), else a phone number in a vCard (digits, any separators, at
least three; a part of the number will do). Several matches are a usage
error that lists them.`,
		Example: `  $ cusax roster show bob
  $ cusax roster show xmpp:bob@example.com --json
  $ cusax roster show uilder
  $ cusax roster show example.org
  $ cusax roster show "+1 555 0100"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("roster show takes one CONTACT")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			var target, number string
			b, err := o.build(nil, func(sess *session.ChatSession) ([]string, error) {
				found, err := resolve(o, sess, args[0])
				if err != nil {
					return nil, err
				}
				if found.number != "" {
					number = found.number
					return found.all, nil // every vCard (cached) to look in
				}
				target = found.jid
				return []string{found.jid}, nil
			})
			if err != nil {
				return err
			}
			if number != "" {
				var hits []addressbook.Contact
				var entries []contacts.Entry
				for _, c := range b.contacts {
					if hasNumber(c, number) {
						hits = append(hits, c)
						entries = append(entries, contacts.Entry{JID: c.JID, Name: c.Name})
					}
				}
				switch {
				case len(hits) == 0:
					return cmdutil.Usagef("contact %q: no contact's name, JID or number matches: %w", args[0], contacts.ErrNoMatch)
				case len(hits) > 1:
					return matchesSeveral(args[0], entries)
				}
				b.contacts = hits
			}
			if len(b.contacts) == 0 {
				return fmt.Errorf("%s: not in the roster, and no vCard could be shown", target)
			}
			c := b.contacts[0]
			text := ""
			if c.Card != nil {
				if text, err = vcardxml.Text(c.Card); err != nil {
					return err
				}
			}
			if asJSON {
				return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("roster-show"), struct {
					addressbook.Contact
					VCard string `json:"vcard"`
				}{c, text})
			}
			if text == "" {
				fmt.Fprintf(o.F.IO.ErrOut, "cusax: %s has no vCard\n", c.JID)
				return nil
			}
			_, err = fmt.Fprint(o.F.IO.Out, text)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.ValidArgsFunction = o.F.CompleteContact
	return cmd
}

// resolved is what CONTACT names: one JID, or a phone number to look for
// in the vCards of all the roster's JIDs.
type resolved struct {
	jid    string
	number string
	all    []string
}

// resolve maps CONTACT to a roster JID: contacts.Resolve, else a search
// by part of a name or JID, else by phone number.
func resolve(o *Options, sess *session.ChatSession, query string) (resolved, error) {
	items, err := sess.Roster(o.F.Context)
	if err != nil {
		return resolved{}, fmt.Errorf("roster: %w", err)
	}
	o.F.RememberRoster(sess.Account, items)
	entries := make([]contacts.Entry, len(items))
	all := make([]string, len(items))
	for i, it := range items {
		entries[i] = contacts.Entry{JID: it.JID, Name: it.Name}
		all[i] = it.JID
	}
	e, err := contacts.Resolve(entries, query)
	if err == nil {
		if !inRoster(entries, e.JID) {
			// Something with '@' that is no contact's JID: part of one
			// ("carol@oth") if that finds a single contact, else a
			// stranger whose vCard may still be shown.
			if found := searchEntries(entries, query); len(found) == 1 {
				return resolved{jid: found[0].JID}, nil
			}
		}
		return resolved{jid: e.JID}, nil
	}
	if !isNoMatch(err) {
		return resolved{}, cmdutil.Usagef("%v", err)
	}
	switch found := searchEntries(entries, query); {
	case len(found) == 1:
		return resolved{jid: found[0].JID}, nil
	case len(found) > 1:
		return resolved{}, matchesSeveral(query, found)
	}
	if digits := numberQuery(query); digits != "" && len(all) > 0 {
		return resolved{number: digits, all: all}, nil
	}
	return resolved{}, cmdutil.Usagef("%v", err)
}

func newCmdExport(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Print every contact as vCard 4 text, for address books",
		Long: `Print every roster contact as a vCard 4 (RFC 6350) on stdout, for import into
an address book. Contacts without a vCard get a minimal one (FN and an IMPP
xmpp: address).`,
		Example: `  $ cusax roster export > contacts.vcf`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := o.build(nil, nil)
			if err != nil {
				return err
			}
			var sb strings.Builder
			for _, c := range b.contacts {
				card := c.Card
				if card == nil {
					card = vcard.Card{}
				}
				if card.Value(vcard.FieldFormattedName) == "" {
					name := c.Name
					if name == "" {
						name = c.JID
					}
					card.SetValue(vcard.FieldFormattedName, name)
				}
				if !hasIMPP(card, c.JID) {
					card.Add(vcard.FieldIMPP, &vcard.Field{Value: "xmpp:" + c.JID})
				}
				text, err := vcardxml.Text(card)
				if err != nil {
					return fmt.Errorf("export %s: %w", c.JID, err)
				}
				sb.WriteString(text)
			}
			_, err = fmt.Fprint(o.F.IO.Out, sb.String())
			return err
		},
	}
}

func hasIMPP(card vcard.Card, jid string) bool {
	for _, f := range card[vcard.FieldIMPP] {
		if strings.EqualFold(strings.TrimPrefix(f.Value, "xmpp:"), jid) {
			return true
		}
	}
	return false
}

func inRoster(entries []contacts.Entry, jid string) bool {
	bare, _, _ := strings.Cut(jid, "/")
	for _, e := range entries {
		if strings.EqualFold(e.JID, bare) {
			return true
		}
	}
	return false
}
