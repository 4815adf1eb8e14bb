// Package callplan decides what `cusax call` dials: which of a contact's
// numbers (RFC 7081 §3.3), through which account (§3.4, strategies 6–7),
// whether a call that may cost money goes ahead (§5), and which headers
// the INVITE carries (RFC 6993 Call-Info, RFC 3325 Privacy).
//
// A Planner does the whole plan behind small interfaces, so it is tested
// without a terminal or a server: a session.Source for the policy chain,
// a Directory (the roster, vCards, disco#info) for contacts and rooms,
// and a Prompter for the questions a policy leaves to the user. It prints
// nothing and places no call; `cusax call` renders the plan and dials.
package callplan

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/protocol"
)

// AmbiguousError lists the numbers to choose from when a contact has
// several and none is clearly meant.
type AmbiguousError struct {
	Contact string
	Choices []contacts.Tel
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s has %d numbers and none is a SIP address: pick one with --number N (%s)", e.Contact, len(e.Choices), ListTels(e.Choices))
}

// ListTels numbers the choices for an error or a prompt: "1) tel:+1… (cell), 2) …".
func ListTels(tels []contacts.Tel) string {
	parts := make([]string, len(tels))
	for i, t := range tels {
		parts[i] = fmt.Sprintf("%d) %s", i+1, t.URI)
		if len(t.Types) > 0 {
			parts[i] += " (" + strings.Join(t.Types, ",") + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// PickTel chooses the TEL a call to a contact uses. RFC 7081 §3.3: the
// vCard's TELs are the call options. A SIP address is preferred (a call
// within the CUSAX service, §3.1, §5), PREF first; number selects
// another, by position among the callable TELs (1-based) or by value.
// With video, only TELs with TYPE=video qualify (§3.3: the cue for a
// video call). Several phone numbers and no SIP address is ambiguous.
func PickTel(contact string, card vcard.Card, number string, video bool) (contacts.Tel, error) {
	var callable []contacts.Tel
	for _, t := range contacts.Tels(card) {
		if t.Callable() {
			callable = append(callable, t)
		}
	}
	if len(callable) == 0 {
		return contacts.Tel{}, fmt.Errorf("%s has no SIP address or phone number in their vCard (RFC 7081 §3.3): %w", contact, protocol.ErrNotFound)
	}
	if number != "" {
		t, err := byNumber(contact, callable, number)
		if err != nil {
			return t, err
		}
		if video && !t.HasType(vcard.TypeVideo) {
			return t, fmt.Errorf("%s is not marked TYPE=video in %s's vCard, so cusax will not offer video to it (RFC 7081 §3.3): %w", t.URI, contact, protocol.ErrInvalid)
		}
		return t, nil
	}
	candidates := callable
	if video {
		candidates = nil
		for _, t := range callable {
			if t.HasType(vcard.TypeVideo) {
				candidates = append(candidates, t)
			}
		}
		if len(candidates) == 0 {
			return contacts.Tel{}, fmt.Errorf("none of %s's numbers is marked TYPE=video in their vCard, so cusax will not offer video (RFC 7081 §3.3); call without --video: %w", contact, protocol.ErrInvalid)
		}
	}
	sips, phones := 0, 0
	for _, t := range candidates {
		if t.Kind == contacts.KindSIP {
			sips++
		} else {
			phones++
		}
	}
	if sips == 0 && phones > 1 {
		return contacts.Tel{}, &AmbiguousError{Contact: contact, Choices: candidates}
	}
	t, _ := contacts.Preferred(candidates)
	return t, nil
}

func byNumber(contact string, callable []contacts.Tel, number string) (contacts.Tel, error) {
	if n, err := strconv.Atoi(number); err == nil && n >= 1 && n <= len(callable) && len(number) <= 3 {
		return callable[n-1], nil
	}
	want, _ := contacts.Normalize(number)
	for _, t := range callable {
		if t.URI == want || t.URI == number {
			return t, nil
		}
	}
	return contacts.Tel{}, fmt.Errorf("--number %q is not one of %s's numbers: %s: %w", number, contact, ListTels(callable), protocol.ErrInvalid)
}

// Candidates lists the configured accounts for ChooseAccount.
func Candidates(cfg *config.Config) []protocol.AccountCandidate {
	out := make([]protocol.AccountCandidate, 0, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		c := protocol.AccountCandidate{Name: a.Name, Related: a.Related && a.XMPP != nil && a.SIP != nil, IsDefault: a.Name == cfg.Default}
		if a.SIP != nil {
			c.Telephony, c.AOR = true, a.SIP.AOR
		}
		if a.XMPP != nil {
			c.JID = a.XMPP.JID
		}
		out = append(out, c)
	}
	if cfg.Default == "" && len(out) == 1 {
		out[0].IsDefault = true
	}
	return out
}

// ChooseAccount runs the policy chain (RFC 7081 §3.4) in its documented
// order: the last policy that does not abstain decides, and the decision
// carries the trail. An allow must choose one of the telephony-capable
// candidates. With no opinion at all, the user is asked.
func ChooseAccount(ctx context.Context, chain policychain.Chain, req protocol.ChooseAccountRequest) (protocol.Decision, error) {
	return decide(ctx, chain, policychain.Op[protocol.Decision]{
		Name: "ChooseAccount",
		Ask: func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (protocol.Decision, error) {
			r := req
			r.Prior = prior
			return p.ChooseAccount(ctx, r)
		},
		Check: func(d protocol.Decision) error {
			if d.Verdict != protocol.Allow {
				return nil
			}
			for _, c := range req.Candidates {
				if c.Name == d.Choice && c.Telephony {
					return nil
				}
			}
			return fmt.Errorf("allow chooses %q, which is not a telephony-capable candidate", d.Choice)
		},
	})
}

// ApproveCost runs the cost gate (RFC 7081 §5) through the chain: a
// policy after the default (a toll guard) can refuse what it allowed.
func ApproveCost(ctx context.Context, chain policychain.Chain, req protocol.CostRequest) (protocol.Decision, error) {
	return decide(ctx, chain, policychain.Op[protocol.Decision]{
		Name: "ApproveCost",
		Ask: func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (protocol.Decision, error) {
			r := req
			r.Prior = prior
			return p.ApproveCost(ctx, r)
		},
	})
}

func decide(ctx context.Context, chain policychain.Chain, op policychain.Op[protocol.Decision]) (protocol.Decision, error) {
	op.Decision = func(d *protocol.Decision) *protocol.Decision { return d }
	res, err := policychain.Run(ctx, chain, op)
	if err != nil {
		return protocol.Decision{}, err
	}
	d := res.Final
	if d.Verdict == protocol.Abstain {
		d.Verdict, d.Reason = protocol.Ask, "no policy decided"
	}
	return d, nil
}

// HeaderOptions are the user's choices that shape a call's headers.
type HeaderOptions struct {
	NoIMPP    bool // --no-impp: do not name the XMPP address
	Anonymous bool // --anonymous (RFC 3323)
}

// Headers returns the extra INVITE headers for a call through a. RFC 6993
// §3 (and RFC 7081 service strategy 6): Call-Info with purpose=impp names
// the caller's XMPP address so the callee can find them for chat and
// presence. It is left out when the user opts out (--no-impp, or the
// account's advertise_impp = false: RFC 6993 §6, the address is personal
// data), for anonymous calls (RFC 3323: nothing that identifies the
// caller), and when the account has no XMPP aspect. why says which.
func Headers(a config.Account, o HeaderOptions) (hdrs []protocol.Header, why string) {
	switch {
	case o.Anonymous:
		return nil, "anonymous call: no Call-Info (RFC 3323)"
	case o.NoIMPP:
		return nil, "--no-impp"
	case a.Features.AdvertiseIMPP != nil && !*a.Features.AdvertiseIMPP:
		return nil, "advertise_impp = false for account " + a.Name
	case a.XMPP == nil:
		return nil, "account " + a.Name + " has no XMPP address"
	}
	jid := a.XMPP.JID
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		jid = jid[:i] // the bare JID: a resource is not an address (RFC 6993 §3)
	}
	return []protocol.Header{{Name: "Call-Info", Value: "<xmpp:" + jid + ">;purpose=impp"}}, ""
}
