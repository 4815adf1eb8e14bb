package callplan

import (
	"context"
	"errors"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/policychain"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

func card(tels ...*vcard.Field) vcard.Card {
	return vcard.Card{vcard.FieldTelephone: tels}
}

func tel(v string, types ...string) *vcard.Field {
	f := &vcard.Field{Value: v, Params: vcard.Params{}}
	if len(types) > 0 {
		f.Params[vcard.ParamType] = types
	}
	return f
}

func TestPickTel(t *testing.T) {
	bob := card(tel("tel:+1-555-0101", "cell"), tel("sip:bob@example.com", "voice", "video"))
	multi := card(tel("tel:+1-555-0102", "cell"), tel("tel:+1-555-0103", "work"))
	for _, tc := range []struct {
		name   string
		card   vcard.Card
		number string
		video  bool
		want   string
		err    error
	}{
		{"SIP address preferred over an earlier number", bob, "", false, "sip:bob@example.com", nil},
		{"--number by position", bob, "1", false, "tel:+15550101", nil},
		{"--number by value", bob, "+1 555 0101", false, "tel:+15550101", nil},
		{"--number not among them", bob, "9", false, "", protocol.ErrInvalid},
		{"video picks the TYPE=video one", bob, "", true, "sip:bob@example.com", nil},
		{"video refused for a number without TYPE=video", bob, "1", true, "", protocol.ErrInvalid},
		{"one number", card(tel("+1 555 0100", "voice")), "", false, "tel:+15550100", nil},
		{"nothing callable", card(tel("not a number")), "", false, "", protocol.ErrNotFound},
		{"no vCard", nil, "", false, "", protocol.ErrNotFound},
		{"video without any TYPE=video", multi, "", true, "", protocol.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PickTel("bob@example.com", tc.card, tc.number, tc.video)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got.URI != tc.want {
				t.Fatalf("got %q, %v; want %q", got.URI, err, tc.want)
			}
		})
	}
	_, err := PickTel("multi@example.com", multi, "", false)
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Choices) != 2 || !strings.Contains(err.Error(), "1) tel:+15550102 (cell), 2) tel:+15550103 (work)") {
		t.Fatalf("ambiguous: %v", err)
	}
}

func TestHeaders(t *testing.T) {
	off := false
	a := config.Account{Name: "w", XMPP: &config.XMPPAspect{JID: "alice@example.com/laptop"}, SIP: &config.SIPAspect{AOR: "sip:alice@example.com"}}
	h, why := Headers(a, HeaderOptions{})
	if len(h) != 1 || h[0].Name != "Call-Info" || h[0].Value != "<xmpp:alice@example.com>;purpose=impp" || why != "" {
		t.Errorf("default: %+v %q", h, why)
	}
	for name, tc := range map[string]struct {
		a            config.Account
		noIMPP, anon bool
		why          string
	}{
		"--no-impp":      {a, true, false, "--no-impp"},
		"--anonymous":    {a, false, true, "RFC 3323"},
		"advertise_impp": {config.Account{Name: "w", XMPP: a.XMPP, Features: config.Features{AdvertiseIMPP: &off}}, false, false, "advertise_impp = false"},
		"no XMPP":        {config.Account{Name: "w", SIP: a.SIP}, false, false, "no XMPP address"},
	} {
		h, why := Headers(tc.a, HeaderOptions{NoIMPP: tc.noIMPP, Anonymous: tc.anon})
		if len(h) != 0 || !strings.Contains(why, tc.why) {
			t.Errorf("%s: %+v %q", name, h, why)
		}
	}
}

func TestCandidates(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{
		{Name: "both", Related: true, XMPP: &config.XMPPAspect{JID: "a@x"}, SIP: &config.SIPAspect{AOR: "sip:a@x"}},
		{Name: "chat", Related: true, XMPP: &config.XMPPAspect{JID: "b@x"}},
	}}
	cs := Candidates(cfg)
	if len(cs) != 2 || !cs[0].Telephony || !cs[0].Related || cs[1].Telephony || cs[1].Related || cs[0].IsDefault {
		t.Errorf("%+v", cs)
	}
}

type fixed struct {
	protocol.AbstainingPolicy
	name string
	d    protocol.Decision
}

func (f fixed) Info(context.Context) (protocol.Info, error) { return protocol.Info{Name: f.name}, nil }
func (f fixed) ChooseAccount(context.Context, protocol.ChooseAccountRequest) (protocol.Decision, error) {
	return f.d, nil
}

func (f fixed) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	if f.d.Verdict == protocol.Deny && req.Prior.Verdict == protocol.Allow {
		f.d.Reason += " (overrides " + req.Prior.Policy + ")"
	}
	return f.d, nil
}

func mkChain(ps ...fixed) policychain.Chain {
	var c policychain.Chain
	for _, p := range ps {
		c.Members = append(c.Members, policychain.Member{Name: p.name, Policy: p})
	}
	return c
}

// The last policy that does not abstain decides, and is named; the
// decision carries the trail.
func TestChainLastNonAbstainDecides(t *testing.T) {
	req := protocol.ChooseAccountRequest{Candidates: []protocol.AccountCandidate{{Name: "work", Telephony: true}}}
	chain := mkChain(
		fixed{name: "default", d: protocol.Decision{Verdict: protocol.Allow, Choice: "work"}},
		fixed{name: "strict", d: protocol.Decision{Verdict: protocol.Deny, Reason: "no"}},
		fixed{name: "quiet", d: protocol.Decision{Verdict: protocol.Abstain}},
	)
	d, err := ChooseAccount(context.Background(), chain, req)
	if err != nil || d.Verdict != protocol.Deny || d.Policy != "strict" || len(d.Chain) != 3 {
		t.Errorf("%+v %v", d, err)
	}
	d, _ = ChooseAccount(context.Background(), mkChain(chain.Members[2].Policy.(fixed)), req)
	if d.Verdict != protocol.Ask || d.Policy != "none" {
		t.Errorf("all abstain: %+v", d)
	}
	d, err = ApproveCost(context.Background(), chain, protocol.CostRequest{})
	if err != nil || d.Verdict != protocol.Deny || d.Reason != "no (overrides default)" {
		t.Errorf("cost: %+v %v", d, err)
	}
}

// An allow must choose a telephony-capable candidate.
func TestChooseAccountChecksChoice(t *testing.T) {
	req := protocol.ChooseAccountRequest{Candidates: []protocol.AccountCandidate{{Name: "work", Telephony: true}, {Name: "chat"}}}
	for _, choice := range []string{"", "chat", "nope"} {
		_, err := ChooseAccount(context.Background(), mkChain(fixed{name: "odd", d: protocol.Decision{Verdict: protocol.Allow, Choice: choice}}), req)
		if err == nil || !strings.HasPrefix(err.Error(), `policy "odd" answered ChooseAccount: allow chooses`) || !errors.Is(err, pluginhost.ErrFailed) {
			t.Errorf("choice %q: %v", choice, err)
		}
	}
}
