package callplan

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/dialtarget"
	"github.com/cusax/cusax/pkg/protocol"
)

// Directory is what resolving a contact needs of a logged-in Chat (XMPP)
// aspect: the roster, vCards (RFC 7081 §3.3) and disco#info of rooms
// (§4). A session.ChatSession is one.
type Directory interface {
	Roster(ctx context.Context) ([]protocol.RosterItem, error)
	VCard(ctx context.Context, jid string) (protocol.VCard, error)
	DiscoInfo(ctx context.Context, jid, node string) (protocol.DiscoInfo, error)
}

// Planner plans calls: it resolves the target, has the account's policy
// chain choose the account (RFC 7081 §3.4) and pass the cost gate (§5),
// and asks the user through Prompter where a policy says to ask.
type Planner struct {
	// Config is the loaded config (accounts, [calls]).
	Config *config.Config
	// Source starts the home account's policy plugins.
	Source session.Source
	// Contacts logs into the home account's Chat aspect to resolve a
	// contact or room; close ends that session. Only called for a target
	// that is a contact or a room.
	Contacts func(ctx context.Context, home config.Account) (d Directory, close func(), err error)
	// Prompter asks the user; nil never asks.
	Prompter Prompter
	// Trace, when set, is given each decision of the chain (for --debug).
	Trace func(op string, d protocol.Decision)
}

// Request is what the user asked for: the target and the flags of `cusax
// call` that shape the plan.
type Request struct {
	Target string
	// Account is the account whose roster and policy chain are
	// consulted ("" = the default account).
	Account string
	// Via is the account to place the call through ("" = the policies
	// choose).
	Via string
	// Number picks among a contact's numbers: a position or the number.
	Number    string
	Yes       bool // the user allows a call that may cost money
	DryRun    bool // nothing is dialled: the cost gate is not asked on a terminal
	NoIMPP    bool
	Anonymous bool
	Video     bool
}

// Plan is what will be (or, with --dry-run, would be) dialled. Release
// stops the policy plugins it used.
type Plan struct {
	Target      string            `json:"target"`
	Kind        string            `json:"kind"`
	Contact     string            `json:"contact,omitempty"`
	Via         string            `json:"via"`
	URI         string            `json:"uri"`
	From        string            `json:"from"`
	Headers     []protocol.Header `json:"headers"`
	NoCallInfo  string            `json:"no_call_info,omitempty"`
	Anonymous   bool              `json:"anonymous"`
	Video       bool              `json:"video"`
	PSTN        bool              `json:"pstn"`
	InterDomain bool              `json:"inter_domain"`
	AccountWhy  protocol.Decision `json:"account_decision"`
	Cost        protocol.Decision `json:"cost_decision"`

	// Account is the account the call goes through.
	Account config.Account `json:"-"`

	policies *session.Plugins
}

// Release stops the policy plugins the plan consulted. Stopping a plugin
// waits for its process to exit, so a caller may do it beside the call.
// Safe to repeat and on nil.
func (p *Plan) Release() {
	if p == nil || p.policies == nil {
		return
	}
	p.policies.Close()
	p.policies = nil
}

// Plan resolves the target, picks the account and passes the cost gate.
// Errors: an *Error with Input for what the user asked for, one wrapping
// protocol.ErrDenied when a policy or the user refuses (with a hint),
// pluginhost errors when a policy fails (nothing is dialled), and the
// Directory's errors.
func (pl *Planner) Plan(ctx context.Context, req Request) (*Plan, error) {
	cfg := pl.Config
	t, err := dialtarget.Parse(req.Target)
	if err != nil {
		return nil, inputf("%v", err)
	}
	if len(cfg.Accounts) == 0 {
		return nil, &Error{Err: errors.New("no account is configured"), Input: true, Hint: "set one up with 'cusax login'"}
	}
	p := &Plan{Target: req.Target, Kind: string(t.Kind), Anonymous: req.Anonymous, Video: req.Video}

	// The account whose roster and policy chain are consulted.
	h, err := cfg.Account(req.Account)
	if err != nil {
		return nil, &Error{Err: err, Input: true, Hint: "set one up with 'cusax login', or pick one with --account"}
	}
	if err := h.Validate(); err != nil {
		return nil, inputf("%w", err)
	}
	home := *h
	var c *contact
	if t.Kind == dialtarget.KindContact || t.Kind == dialtarget.KindRoom {
		if c, err = pl.resolveContact(ctx, home, t, req); err != nil {
			return nil, err
		}
		p.Kind, p.Contact = c.kind, c.jid
	} else if req.Video {
		return nil, inputf("--video needs a roster contact whose vCard marks the number TYPE=video (RFC 7081 §3.3); %s is a bare address", req.Target)
	} else if req.Number != "" {
		return nil, inputf("--number picks among a contact's numbers; %s is not a contact", req.Target)
	}

	policies, err := session.Open(ctx, pl.Source, home, session.PoliciesOnly())
	if err != nil {
		return nil, err
	}
	p.policies = policies
	if err := pl.decide(ctx, p, t, c, home, req); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

func (pl *Planner) decide(ctx context.Context, p *Plan, t dialtarget.Target, c *contact, home config.Account, req Request) error {
	cfg := pl.Config
	chain, err := p.policies.Policies(ctx)
	if err != nil {
		return err
	}
	interactive := canPrompt(pl.Prompter)

	// RFC 7081 §3.4: which account carries the call.
	areq := protocol.ChooseAccountRequest{Target: req.Target, Candidates: Candidates(cfg), Interactive: interactive, Requested: req.Via}
	if c != nil {
		areq.ContactAccount = home.Name
	}
	d, err := ChooseAccount(ctx, chain, areq)
	if err != nil {
		return notPlaced(err)
	}
	pl.trace("ChooseAccount", d)
	p.AccountWhy = d
	via, err := pl.settleAccount(ctx, areq, d, req.Via)
	if err != nil {
		return err
	}
	p.Via, p.Account = via.Name, via
	// SIPURI and Classify read the domain out of the AOR (pkg/address).
	domain := via.SIP.AOR

	// The Request-URI through that account.
	dial := t
	if c != nil {
		if dial, err = dialtarget.Parse(c.uri); err != nil {
			return fmt.Errorf("%s's address %q: %w", c.jid, c.uri, err)
		}
	}
	if p.URI, err = dialtarget.SIPURI(dial, domain); err != nil {
		return inputf("%v", err)
	}
	p.PSTN, p.InterDomain = verdict(p.URI, domain, c)
	p.From = via.SIP.AOR
	if req.Anonymous {
		p.From = "sip:anonymous@anonymous.invalid"
	}
	p.Headers, p.NoCallInfo = Headers(via, HeaderOptions{NoIMPP: req.NoIMPP, Anonymous: req.Anonymous})

	// RFC 7081 §5: the cost gate.
	cost := protocol.CostRequest{
		Target: req.Target, URI: p.URI, Account: via.Name, PSTN: p.PSTN, InterDomain: p.InterDomain,
		Interactive: interactive && !req.DryRun, Confirmed: req.Yes, Allowlist: cfg.Calls.CostAllow,
		Region: cfg.Calls.Region,
	}
	if p.Cost, err = ApproveCost(ctx, chain, cost); err != nil {
		return notPlaced(err)
	}
	pl.trace("ApproveCost", p.Cost)
	if req.DryRun {
		return nil
	}
	switch p.Cost.Verdict {
	case protocol.Allow:
	case protocol.Ask:
		if !interactive {
			return hinted(fmt.Errorf("%s: %w", p.Cost.Reason, protocol.ErrDenied), "add --yes to allow it")
		}
		ans, err := pl.Prompter.Ask(ctx, Question{Note: p.Cost.Reason, Prompt: fmt.Sprintf("Call %s through %s? [y/N] ", p.URI, via.Name)})
		if err != nil {
			return err
		}
		if a := strings.ToLower(strings.TrimSpace(ans)); a != "y" && a != "yes" {
			return fmt.Errorf("call not confirmed: %w", protocol.ErrDenied)
		}
	default:
		hint := "add --yes, or list the number in [calls] cost_allow in the config"
		if p.Cost.Policy != "default" {
			// --yes does not loosen another policy's refusal.
			hint = fmt.Sprintf("policy %q refused it: see its settings in [policies.%s] in the config, or the account's policy list", p.Cost.Policy, p.Cost.Policy)
		}
		return hinted(fmt.Errorf("%s (policy %s): %w", p.Cost.Reason, p.Cost.Policy, protocol.ErrDenied), hint)
	}
	return nil
}

func (pl *Planner) trace(op string, d protocol.Decision) {
	if pl.Trace != nil {
		pl.Trace(op, d)
	}
}

// notPlaced says, for a policy that crashed, hung or answered nonsense,
// that nothing was dialled.
func notPlaced(err error) error {
	if errors.Is(err, pluginhost.ErrFailed) {
		return fmt.Errorf("%w; the call was not placed", err)
	}
	return err
}

// settleAccount turns the policy's decision into an account, asking the
// user when the policy says so (RFC 7081 §3.4, strategy 7).
func (pl *Planner) settleAccount(ctx context.Context, req protocol.ChooseAccountRequest, d protocol.Decision, via string) (config.Account, error) {
	var names []string
	for _, c := range req.Candidates {
		if c.Telephony {
			names = append(names, c.Name)
		}
	}
	choice := d.Choice
	switch d.Verdict {
	case protocol.Allow:
	case protocol.Ask:
		if !canPrompt(pl.Prompter) || len(names) == 0 {
			return config.Account{}, inputf("several accounts can place this call and none is related to the contact: choose one with --via (%s)", strings.Join(names, ", "))
		}
		ans, err := pl.Prompter.Ask(ctx, Question{Note: d.Reason, Choices: names, Prompt: "Call through which account? "})
		if err != nil {
			return config.Account{}, err
		}
		ans = strings.TrimSpace(ans)
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(names) {
			ans = names[n-1]
		}
		choice = ans
	default:
		if via != "" {
			return config.Account{}, inputf("--via %s: %s", via, d.Reason)
		}
		return config.Account{}, fmt.Errorf("%s: %w", d.Reason, protocol.ErrDenied)
	}
	a, err := pl.Config.Account(choice)
	if err != nil || a.SIP == nil {
		return config.Account{}, inputf("account %q cannot place calls (choose among: %s)", choice, strings.Join(names, ", "))
	}
	return *a, nil
}

// verdict answers the RFC 7081 §5 cost gate's questions for the URI a
// call dials through the account with AOR aor: is it a phone number, and
// is it inter-domain — a SIP URI on another domain, or "a number learned
// from a contact on another domain". Both domain questions use one rule,
// address.SameDomain, the one roster and whois-caller use too. Before
// issue 14 the command had its own domainOf, which read no domain at all
// out of a bare JID (it cut at the first ':'), so every contact's phone
// number was inter-domain, and it compared without IDNA.
func verdict(uri, aor string, c *contact) (pstn, interDomain bool) {
	pstn, interDomain = dialtarget.Classify(uri, aor)
	if c != nil && c.phone && !address.SameDomain(c.jid, aor) {
		interDomain = true
	}
	return pstn, interDomain
}
