package roster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// subscriptionResult is what `roster subscribe|approve --json` prints.
type subscriptionResult struct {
	Account string `json:"account"`
	JID     string `json:"jid"`
	// Sent is the presence type sent: "subscribe" or "subscribed".
	Sent string `json:"presence_type"`
}

func newCmdSubscribe(o *Options) *cobra.Command {
	return newCmdSubscription(o, "subscribe", "subscribe",
		"Ask a contact for a subscription to their presence",
		`Ask JID for a subscription to their presence (RFC 6121 §3.1.1). The
server adds JID to the roster with the request pending; once the contact
approves, the subscription becomes "to" (or "both") and their presence
reaches this account: 'cusax roster --presence' then shows them online or
offline instead of unknown. JID is a bare JID or an xmpp: URI.`,
		`  $ cusax roster subscribe bob@example.com
  $ cusax roster subscribe xmpp:bob@example.com --json`,
		func(ps protocol.PresenceSubscriber) func(o *Options, jid string) error {
			return func(o *Options, jid string) error { return ps.Subscribe(o.F.Context, jid) }
		})
}

func newCmdApprove(o *Options) *cobra.Command {
	return newCmdSubscription(o, "approve", "subscribed",
		"Let a contact see this account's presence",
		`Approve JID's subscription to this account's presence (RFC 6121 §3.1.4):
it answers a pending request, or pre-approves one to come (RFC 6121 §3.4,
where the server supports it). The contact's subscription becomes "to"
and this account's "from" (or "both"). JID is a bare JID or an xmpp: URI.`,
		`  $ cusax roster approve bob@example.com`,
		func(ps protocol.PresenceSubscriber) func(o *Options, jid string) error {
			return func(o *Options, jid string) error { return ps.ApproveSubscription(o.F.Context, jid) }
		})
}

func newCmdSubscription(o *Options, verb, sent, short, long, example string,
	op func(protocol.PresenceSubscriber) func(o *Options, jid string) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     verb + " JID",
		Short:   short,
		Long:    long,
		Example: example,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("roster %s takes one JID", verb)
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			jid, err := contactJID(args[0])
			if err != nil {
				return cmdutil.Usagef("roster %s: %v", verb, err)
			}
			acct, err := o.F.Account(o.Account)
			if err != nil {
				return err
			}
			sess, err := o.F.OpenChat(acct, 0)
			if err != nil {
				return err
			}
			defer sess.Shutdown()
			ps, ok := sess.IMPPSession.(protocol.PresenceSubscriber)
			if !ok || !sess.Info.Has(protocol.CapSubscribe) {
				return fmt.Errorf("roster %s: the chat backend %q of account %s cannot manage presence subscriptions: %w",
					verb, sess.Info.Name, acct.Name, protocol.ErrUnsupported)
			}
			if err := op(ps)(o, jid); err != nil {
				if errors.Is(err, protocol.ErrInvalid) {
					return cmdutil.Usagef("roster %s %s: %v", verb, jid, err)
				}
				return fmt.Errorf("roster %s %s: %w", verb, jid, err)
			}
			res := subscriptionResult{Account: acct.Name, JID: jid, Sent: sent}
			if asJSON {
				return cmdutil.WriteJSON(o.F.IO.Out, cmdutil.Schema("roster-subscription"), res)
			}
			_, err = fmt.Fprintf(o.F.IO.Out, "%s\t%s\n", sent, jid)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// contactJID checks that s is a contact's JID (localpart@domain, or an
// xmpp: URI of one) and returns it bare: subscriptions are between bare
// JIDs (RFC 6121 §3.1.1). A domain-only JID is refused: it names a
// server, not a contact.
func contactJID(s string) (string, error) {
	j := strings.TrimSpace(s)
	if low := strings.ToLower(j); strings.HasPrefix(low, "xmpp:") {
		j = strings.TrimPrefix(j[len("xmpp:"):], "//")
		j, _, _ = strings.Cut(j, "?")
	}
	j, _, _ = strings.Cut(j, "/")
	local, _, hasAt := strings.Cut(j, "@")
	if !hasAt || local == "" || strings.Count(j, "@") != 1 || strings.ContainsAny(j, " \t\r\n\"&'<>:") {
		return "", fmt.Errorf("%q is not a contact's JID (want user@domain)", s)
	}
	if _, err := address.DomainOf(j); err != nil {
		return "", fmt.Errorf("%q is not a contact's JID: %v", s, err)
	}
	return j, nil
}
