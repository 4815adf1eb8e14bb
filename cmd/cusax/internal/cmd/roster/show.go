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
a roster name (exact, else a unique case-insensitive prefix).`,
		Example: `  $ cusax roster show bob
  $ cusax roster show xmpp:bob@example.com --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("roster show takes one CONTACT")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			var target string
			b, err := o.build(nil, func(sess *session.ChatSession) ([]string, error) {
				jid, err := resolve(o, sess, args[0])
				target = jid
				return []string{jid}, err
			})
			if err != nil {
				return err
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
				return cmdutil.WriteJSON(o.F.IO.Out, struct {
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

// resolve maps CONTACT to a roster JID.
func resolve(o *Options, sess *session.ChatSession, query string) (string, error) {
	items, err := sess.Roster(o.F.Context)
	if err != nil {
		return "", fmt.Errorf("roster: %w", err)
	}
	o.F.RememberRoster(sess.Account, items)
	entries := make([]contacts.Entry, len(items))
	for i, it := range items {
		entries[i] = contacts.Entry{JID: it.JID, Name: it.Name}
	}
	e, err := contacts.Resolve(entries, query)
	if err != nil {
		return "", cmdutil.Usagef("%v", err)
	}
	return e.JID, nil
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
