package callplan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session/sessiontest"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/cusax/cusax/plugins/policy"
)

const (
	aliceJID = "alice@example.com"
	alicePW  = "alice-secret"
	room     = "conf@rooms.example.com"
)

func vcardText(tels ...string) string {
	s := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:X\r\n"
	for _, t := range tels {
		s += "TEL;" + t + "\r\n"
	}
	return s + "END:VCARD\r\n"
}

// service is alice's world: in her roster Bob (a SIP address and a
// number), Multi (two numbers), Dave (a number, on another domain) and
// Nocard (no vCard).
func service() *fake.Service {
	return fake.NewService(
		fake.Account{Address: aliceJID, Password: alicePW, Roster: []protocol.RosterItem{
			{JID: "bob@example.com", Name: "Bob"},
			{JID: "multi@example.com", Name: "Multi"},
			{JID: "dave@biloxi.test", Name: "Dave"},
			{JID: "nocard@example.com", Name: "Nocard"},
			{JID: "upper@EXAMPLE.Com", Name: "Upper"},
		}},
		fake.Account{Address: "bob@example.com", VCard: vcardText(
			"TYPE=cell,voice;VALUE=uri:tel:+15550101", "TYPE=work,voice,video;VALUE=uri:sip:bob@example.com")},
		fake.Account{Address: "multi@example.com", VCard: vcardText(
			"TYPE=cell;VALUE=uri:tel:+15550102", "TYPE=work;VALUE=uri:tel:+15550103")},
		fake.Account{Address: "dave@biloxi.test", VCard: vcardText("TYPE=cell;VALUE=uri:tel:+442079460000")},
		fake.Account{Address: "nocard@example.com"},
		fake.Account{Address: "upper@example.com", VCard: vcardText("TYPE=cell;VALUE=uri:tel:+15550104")},
	)
}

func home() config.Account {
	return config.Account{Name: "home", Related: true,
		XMPP: &config.XMPPAspect{JID: aliceJID}, SIP: &config.SIPAspect{AOR: "sip:alice@example.com"}}
}

// second is a SIP-only account unrelated to any roster.
func second() config.Account {
	return config.Account{Name: "second", SIP: &config.SIPAspect{AOR: "sip:carol@example.com"}}
}

// withRoom is a Directory that also knows a MUC room advertising an
// audio-video-uri (RFC 7081 §4), which the fake's disco does not.
type withRoom struct {
	protocol.IMPPSession
	avURI string
}

func (d withRoom) DiscoInfo(ctx context.Context, jid, node string) (protocol.DiscoInfo, error) {
	if jid == room {
		return protocol.DiscoInfo{JID: jid, Forms: []protocol.DataForm{{
			FormType: "http://jabber.org/protocol/muc#roominfo",
			Fields:   map[string][]string{"muc#roominfo_avuri": {d.avURI}},
		}}}, nil
	}
	return d.IMPPSession.DiscoInfo(ctx, jid, node)
}

// prompts is a scripted user: each Ask takes the next answer.
type prompts struct {
	answers []string
	asked   []Question
}

func (p *prompts) CanPrompt() bool { return true }

func (p *prompts) Ask(_ context.Context, q Question) (string, error) {
	p.asked = append(p.asked, q)
	if len(p.answers) == 0 {
		return "", errors.New("no answer scripted")
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

type world struct {
	pl      *Planner
	src     *sessiontest.Source
	opened  int // Directory sessions opened
	closed  int
	roomURI string
}

// newWorld plans with accounts, the real default policy (plugins/policy)
// and extra policies by name, over the fake service.
func newWorld(t *testing.T, accounts []config.Account, extra map[string]protocol.Policy) *world {
	t.Helper()
	svc := service()
	src := sessiontest.New(svc)
	src.Policies["default"] = policy.New()
	for n, p := range extra {
		src.Policies[n] = p
	}
	w := &world{src: src, roomURI: "sip:conf@example.com"}
	cfg := &config.Config{Accounts: accounts}
	if len(accounts) > 0 {
		cfg.Default = accounts[0].Name // the home account, as login sets it
	}
	w.pl = &Planner{
		Config: cfg,
		Source: src,
		Contacts: func(ctx context.Context, a config.Account) (Directory, func(), error) {
			s, err := svc.IMPP().Connect(ctx, protocol.ConnectRequest{Address: a.XMPP.JID, Password: alicePW})
			if err != nil {
				return nil, nil, err
			}
			w.opened++
			return withRoom{s, w.roomURI}, func() { w.closed++; _ = s.Close(context.Background()) }, nil
		},
	}
	t.Cleanup(func() {
		if n := src.Running(); n != 0 {
			t.Errorf("%d policy plugin(s) left running", n)
		}
		if w.opened != w.closed {
			t.Errorf("%d directory session(s) opened, %d closed", w.opened, w.closed)
		}
	})
	return w
}

func (w *world) plan(t *testing.T, req Request) (*Plan, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := w.pl.Plan(ctx, req)
	if err == nil {
		t.Cleanup(p.Release)
	} else if p != nil {
		t.Errorf("a plan and an error")
	}
	return p, err
}

func mustPlan(t *testing.T, w *world, req Request) *Plan {
	t.Helper()
	p, err := w.plan(t, req)
	if err != nil {
		t.Fatalf("plan %+v: %v", req, err)
	}
	return p
}

// TestPlanTargets: how each kind of target becomes a Request-URI, and the
// RFC 7081 §5 verdicts and RFC 6993 header that come with it.
func TestPlanTargets(t *testing.T) {
	one := []config.Account{home()}
	tests := []struct {
		name, target, number  string
		yes                   bool
		kind, contact, uri    string
		pstn, inter, callInfo bool
		costVerdict           protocol.Verdict
	}{
		{name: "contact by roster name prefers the SIP address", target: "Bob", kind: "contact", contact: "bob@example.com",
			uri: "sip:bob@example.com", callInfo: true, costVerdict: protocol.Allow},
		{name: "contact by JID", target: "bob@example.com", kind: "contact", contact: "bob@example.com",
			uri: "sip:bob@example.com", callInfo: true, costVerdict: protocol.Allow},
		{name: "contact by xmpp: URI, --number by position", target: "xmpp:bob@example.com", number: "1", yes: true, kind: "contact",
			contact: "bob@example.com", uri: "sip:+15550101@example.com;user=phone", pstn: true, callInfo: true, costVerdict: protocol.Allow},
		{name: "SIP URI", target: "sip:carol@example.com", kind: "sip", uri: "sip:carol@example.com", callInfo: true, costVerdict: protocol.Allow},
		{name: "SIP URI on another domain", target: "sip:carol@biloxi.test", kind: "sip", uri: "sip:carol@biloxi.test",
			inter: true, callInfo: true, costVerdict: protocol.Deny},
		{name: "tel: URI", target: "tel:+15550199", kind: "tel", uri: "sip:+15550199@example.com;user=phone", pstn: true,
			callInfo: true, costVerdict: protocol.Deny},
		{name: "phone number typed, --yes", target: "+1 555 0199", yes: true, kind: "number", uri: "sip:+15550199@example.com;user=phone",
			pstn: true, callInfo: true, costVerdict: protocol.Allow},
		{name: "foreign-domain contact's number is inter-domain", target: "Dave", yes: true, kind: "contact", contact: "dave@biloxi.test",
			uri: "sip:+442079460000@example.com;user=phone", pstn: true, inter: true, callInfo: true, costVerdict: protocol.Allow},
		{name: "contact's domain in another case is the same domain", target: "Upper", yes: true, kind: "contact", contact: "upper@EXAMPLE.Com",
			uri: "sip:+15550104@example.com;user=phone", pstn: true, callInfo: true, costVerdict: protocol.Allow},
		{name: "room's audio-video-uri (RFC 7081 §4)", target: room, kind: "room", contact: room, uri: "sip:conf@example.com",
			callInfo: true, costVerdict: protocol.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, one, nil)
			p := mustPlan(t, w, Request{Target: tt.target, Number: tt.number, Yes: tt.yes, DryRun: true})
			if p.Kind != tt.kind || p.Contact != tt.contact || p.URI != tt.uri || p.Via != "home" || p.Account.Name != "home" {
				t.Errorf("plan kind %q contact %q uri %q via %q; want %q %q %q home", p.Kind, p.Contact, p.URI, p.Via, tt.kind, tt.contact, tt.uri)
			}
			if p.PSTN != tt.pstn || p.InterDomain != tt.inter {
				t.Errorf("pstn %v inter-domain %v, want %v %v", p.PSTN, p.InterDomain, tt.pstn, tt.inter)
			}
			if p.Cost.Verdict != tt.costVerdict {
				t.Errorf("cost %+v, want %s", p.Cost, tt.costVerdict)
			}
			if got := len(p.Headers) == 1 && p.Headers[0].Value == "<xmpp:"+aliceJID+">;purpose=impp"; got != tt.callInfo {
				t.Errorf("headers %+v", p.Headers)
			}
			if p.From != "sip:alice@example.com" {
				t.Errorf("from %q", p.From)
			}
			if w.src.Running() != 1 {
				t.Errorf("policy plugins running before Release: %d, want 1", w.src.Running())
			}
			p.Release()
			p.Release() // safe to repeat
			if w.src.Running() != 0 {
				t.Errorf("Release left %d running", w.src.Running())
			}
		})
	}
}

// TestPlanAnonymousAndNoIMPP: --anonymous hides the caller (RFC 3325,
// RFC 3323), --no-impp drops Call-Info (RFC 6993 §6).
func TestPlanAnonymousAndNoIMPP(t *testing.T) {
	w := newWorld(t, []config.Account{home()}, nil)
	p := mustPlan(t, w, Request{Target: "Bob", Anonymous: true, DryRun: true})
	if !p.Anonymous || p.From != "sip:anonymous@anonymous.invalid" || len(p.Headers) != 0 || !strings.Contains(p.NoCallInfo, "anonymous") {
		t.Errorf("--anonymous: %+v", p)
	}
	p = mustPlan(t, w, Request{Target: "Bob", NoIMPP: true, DryRun: true})
	if len(p.Headers) != 0 || p.NoCallInfo != "--no-impp" {
		t.Errorf("--no-impp: %+v", p)
	}
}

// TestPlanAccountChoice: RFC 7081 §3.4 through the real default policy:
// the contact's related account, the only telephony account, --via, and
// with several and no relationship the user (strategy 7) or an error that
// names --via and the accounts.
func TestPlanAccountChoice(t *testing.T) {
	two := []config.Account{home(), second()}
	t.Run("contact of the related account", func(t *testing.T) {
		p := mustPlan(t, newWorld(t, two, nil), Request{Target: "Bob", DryRun: true})
		if p.Via != "home" || p.AccountWhy.Verdict != protocol.Allow || !strings.Contains(p.AccountWhy.Reason, "relationship") {
			t.Errorf("via %q: %+v", p.Via, p.AccountWhy)
		}
	})
	t.Run("only telephony account", func(t *testing.T) {
		xmppOnly := config.Account{Name: "chat", XMPP: &config.XMPPAspect{JID: "alice@other.example"}}
		p := mustPlan(t, newWorld(t, []config.Account{xmppOnly, second()}, nil), Request{Target: "sip:dan@example.com", DryRun: true})
		if p.Via != "second" || !strings.Contains(p.AccountWhy.Reason, "only") {
			t.Errorf("via %q: %+v", p.Via, p.AccountWhy)
		}
		if len(p.Headers) != 0 || !strings.Contains(p.NoCallInfo, "no XMPP address") {
			t.Errorf("a SIP-only account has no Call-Info: %+v %q", p.Headers, p.NoCallInfo)
		}
	})
	t.Run("--via", func(t *testing.T) {
		p := mustPlan(t, newWorld(t, two, nil), Request{Target: "sip:dan@example.com", Via: "second", DryRun: true})
		if p.Via != "second" || p.From != "sip:carol@example.com" || p.AccountWhy.Reason != "requested with --via" {
			t.Errorf("via %q from %q: %+v", p.Via, p.From, p.AccountWhy)
		}
	})
	t.Run("--via an unknown account", func(t *testing.T) {
		_, err := newWorld(t, two, nil).plan(t, Request{Target: "sip:dan@example.com", Via: "nosuch", DryRun: true})
		if !IsInput(err) || !strings.Contains(err.Error(), "--via nosuch") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("several, no terminal", func(t *testing.T) {
		_, err := newWorld(t, two, nil).plan(t, Request{Target: "sip:dan@example.com", DryRun: true})
		if !IsInput(err) || !strings.Contains(err.Error(), "--via (home, second)") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("several, asked: by position and by name", func(t *testing.T) {
		for _, ans := range []string{"2", " second "} {
			w := newWorld(t, two, nil)
			pr := &prompts{answers: []string{ans}}
			w.pl.Prompter = pr
			p := mustPlan(t, w, Request{Target: "sip:dan@example.com", DryRun: true})
			if p.Via != "second" {
				t.Errorf("answer %q: via %q", ans, p.Via)
			}
			if len(pr.asked) != 1 || strings.Join(pr.asked[0].Choices, ",") != "home,second" || pr.asked[0].Prompt != "Call through which account? " || pr.asked[0].Note == "" {
				t.Errorf("asked %+v", pr.asked)
			}
		}
	})
	t.Run("several, asked: not an account", func(t *testing.T) {
		w := newWorld(t, two, nil)
		w.pl.Prompter = &prompts{answers: []string{"7"}}
		_, err := w.plan(t, Request{Target: "sip:dan@example.com", DryRun: true})
		if !IsInput(err) || !strings.Contains(err.Error(), `account "7" cannot place calls`) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("no policy decides: ask, or an error", func(t *testing.T) {
		w := newWorld(t, []config.Account{home()}, nil)
		w.src.Policies["default"] = &fake.Policy{Name: "default"} // abstains
		if _, err := w.plan(t, Request{Target: "sip:dan@example.com", DryRun: true}); !IsInput(err) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a policy chooses a non-telephony account", func(t *testing.T) {
		bad := &fake.Policy{Name: "bad", OnChooseAccount: func(protocol.ChooseAccountRequest) protocol.Decision {
			return protocol.Decision{Verdict: protocol.Allow, Choice: "nosuch"}
		}}
		a := home()
		a.Policy = []string{"bad"}
		_, err := newWorld(t, []config.Account{a}, map[string]protocol.Policy{"bad": bad}).plan(t, Request{Target: "sip:dan@example.com", DryRun: true})
		if !errors.Is(err, pluginhost.ErrFailed) || !strings.Contains(err.Error(), "the call was not placed") {
			t.Errorf("err %v", err)
		}
	})
}

// TestPlanNumbers: RFC 7081 §3.3, which of a contact's numbers.
func TestPlanNumbers(t *testing.T) {
	one := []config.Account{home()}
	t.Run("several numbers, no terminal: the error lists them", func(t *testing.T) {
		_, err := newWorld(t, one, nil).plan(t, Request{Target: "Multi", DryRun: true})
		var amb *AmbiguousError
		if !IsInput(err) || !errors.As(err, &amb) || !strings.Contains(err.Error(), "1) tel:+15550102 (cell), 2) tel:+15550103 (work)") ||
			!strings.Contains(err.Error(), "--number N") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("several numbers, asked", func(t *testing.T) {
		w := newWorld(t, one, nil)
		pr := &prompts{answers: []string{"2"}}
		w.pl.Prompter = pr
		p := mustPlan(t, w, Request{Target: "Multi", DryRun: true})
		if p.URI != "sip:+15550103@example.com;user=phone" {
			t.Errorf("uri %q", p.URI)
		}
		if len(pr.asked) != 1 || pr.asked[0].Note != "multi@example.com has several numbers:" ||
			strings.Join(pr.asked[0].Choices, "|") != "tel:+15550102 cell|tel:+15550103 work" {
			t.Errorf("asked %+v", pr.asked)
		}
	})
	t.Run("several numbers, answer out of range", func(t *testing.T) {
		w := newWorld(t, one, nil)
		w.pl.Prompter = &prompts{answers: []string{"3"}}
		if _, err := w.plan(t, Request{Target: "Multi", DryRun: true}); !IsInput(err) || !strings.Contains(err.Error(), `"3" is not one of 1..2`) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("--number by value", func(t *testing.T) {
		p := mustPlan(t, newWorld(t, one, nil), Request{Target: "Multi", Number: "+1 555 0103", DryRun: true})
		if p.URI != "sip:+15550103@example.com;user=phone" {
			t.Errorf("uri %q", p.URI)
		}
	})
	for name, req := range map[string]Request{
		"--number not among them":       {Target: "Multi", Number: "+1 555 0000"},
		"--number for a bare address":   {Target: "sip:dan@example.com", Number: "1"},
		"--video for a bare address":    {Target: "sip:dan@example.com", Video: true},
		"--video, no TYPE=video number": {Target: "Multi", Video: true},
		"--video to a room":             {Target: room, Video: true},
		"unknown account":               {Target: "Bob", Account: "nosuch"},
		"no such contact":               {Target: "Nobody"},
	} {
		t.Run(name, func(t *testing.T) {
			req.DryRun = true
			if _, err := newWorld(t, one, nil).plan(t, req); !IsInput(err) {
				t.Errorf("err %v, want an input error", err)
			}
		})
	}
	t.Run("--video picks the TYPE=video address", func(t *testing.T) {
		p := mustPlan(t, newWorld(t, one, nil), Request{Target: "Bob", Video: true, DryRun: true})
		if p.URI != "sip:bob@example.com" || !p.Video {
			t.Errorf("plan %+v", p)
		}
	})
	t.Run("a contact without a vCard", func(t *testing.T) {
		if _, err := newWorld(t, one, nil).plan(t, Request{Target: "Nocard", DryRun: true}); !errors.Is(err, protocol.ErrNotFound) || IsInput(err) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a JID in no roster and no room", func(t *testing.T) {
		if _, err := newWorld(t, one, nil).plan(t, Request{Target: "zed@example.com", DryRun: true}); !errors.Is(err, protocol.ErrNotFound) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a room that advertises no callable URI", func(t *testing.T) {
		w := newWorld(t, one, nil)
		w.roomURI = "https://example.com/meet"
		if _, err := w.plan(t, Request{Target: room, DryRun: true}); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a contact, but the home account has no XMPP", func(t *testing.T) {
		_, err := newWorld(t, []config.Account{second()}, nil).plan(t, Request{Target: "Bob", DryRun: true})
		if !IsInput(err) || !strings.Contains(err.Error(), "no XMPP roster") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("no account at all", func(t *testing.T) {
		_, err := newWorld(t, nil, nil).plan(t, Request{Target: "sip:dan@example.com"})
		var pe *Error
		if !IsInput(err) || !errors.As(err, &pe) || !strings.Contains(pe.Hint, "cusax login") {
			t.Errorf("err %v", err)
		}
	})
}

// TestPlanCost: the RFC 7081 §5 cost gate. A call that may cost money is
// asked about on a terminal, refused elsewhere with a hint to add --yes,
// allowed with --yes or a cost_allow pattern; a toll-guard policy after
// the default refuses even with --yes, and its hint names it.
func TestPlanCost(t *testing.T) {
	one := []config.Account{home()}
	dave := "sip:+442079460000@example.com;user=phone"
	t.Run("no terminal: denied, hint --yes", func(t *testing.T) {
		_, err := newWorld(t, one, nil).plan(t, Request{Target: "Dave"})
		var pe *Error
		if !errors.Is(err, protocol.ErrDenied) || IsInput(err) || !errors.As(err, &pe) || !strings.Contains(pe.Hint, "--yes") {
			t.Errorf("err %v", err)
		}
	})
	for ans, ok := range map[string]bool{"y": true, "YES": true, "n": false, "": false} {
		t.Run("asked, answer "+fmt.Sprintf("%q", ans), func(t *testing.T) {
			w := newWorld(t, one, nil)
			pr := &prompts{answers: []string{ans}}
			w.pl.Prompter = pr
			p, err := w.plan(t, Request{Target: "Dave"})
			if len(pr.asked) != 1 || pr.asked[0].Prompt != "Call "+dave+" through home? [y/N] " ||
				!strings.Contains(pr.asked[0].Note, "another domain") {
				t.Fatalf("asked %+v", pr.asked)
			}
			if ok && (err != nil || p.URI != dave || p.Cost.Verdict != protocol.Ask) {
				t.Errorf("plan %+v, %v", p, err)
			}
			if !ok && (!errors.Is(err, protocol.ErrDenied) || !strings.Contains(err.Error(), "not confirmed")) {
				t.Errorf("err %v", err)
			}
		})
	}
	t.Run("--dry-run on a terminal asks nothing", func(t *testing.T) {
		w := newWorld(t, one, nil)
		pr := &prompts{}
		w.pl.Prompter = pr
		p := mustPlan(t, w, Request{Target: "Dave", DryRun: true})
		if len(pr.asked) != 0 || p.Cost.Verdict != protocol.Deny {
			t.Errorf("asked %+v, cost %+v", pr.asked, p.Cost)
		}
	})
	t.Run("--yes", func(t *testing.T) {
		p := mustPlan(t, newWorld(t, one, nil), Request{Target: "Dave", Yes: true})
		if p.Cost.Verdict != protocol.Allow || !strings.Contains(p.Cost.Reason, "--yes") {
			t.Errorf("cost %+v", p.Cost)
		}
	})
	t.Run("cost_allow pattern", func(t *testing.T) {
		w := newWorld(t, one, nil)
		w.pl.Config.Calls.CostAllow = []string{"sip:+44*@example.com*"}
		p := mustPlan(t, w, Request{Target: "Dave"})
		if p.Cost.Verdict != protocol.Allow || !strings.Contains(p.Cost.Reason, "+44") {
			t.Errorf("cost %+v", p.Cost)
		}
	})
	t.Run("a toll guard denies, even with --yes and on a terminal", func(t *testing.T) {
		guard := &fake.Policy{Name: "tollguard", OnApproveCost: func(r protocol.CostRequest) protocol.Decision {
			if r.PSTN {
				return protocol.Decision{Verdict: protocol.Deny, Reason: "no international calls"}
			}
			return protocol.Decision{Verdict: protocol.Abstain}
		}}
		a := home()
		a.Policy = []string{"tollguard"}
		w := newWorld(t, []config.Account{a}, map[string]protocol.Policy{"tollguard": guard})
		pr := &prompts{answers: []string{"y"}}
		w.pl.Prompter = pr
		var traced []string
		w.pl.Trace = func(op string, d protocol.Decision) { traced = append(traced, fmt.Sprintf("%s %s", op, d.Verdict)) }
		_, err := w.plan(t, Request{Target: "Dave", Yes: true})
		var pe *Error
		if !errors.Is(err, protocol.ErrDenied) || !errors.As(err, &pe) || !strings.Contains(pe.Hint, `policy "tollguard"`) ||
			!strings.Contains(err.Error(), "no international calls (policy tollguard)") {
			t.Errorf("err %v", err)
		}
		if len(pr.asked) != 0 {
			t.Errorf("a refusal was asked about: %+v", pr.asked)
		}
		if strings.Join(traced, ",") != "ChooseAccount allow,ApproveCost deny" {
			t.Errorf("traced %q", traced)
		}
		if got := strings.Join(guard.Asked(), ","); got != "ChooseAccount,ApproveCost" {
			t.Errorf("the guard was asked %q", got)
		}
		// Within the service it stays out of the way.
		if p := mustPlan(t, w, Request{Target: "Bob"}); p.Cost.Verdict != protocol.Allow {
			t.Errorf("cost %+v", p.Cost)
		}
	})
	t.Run("a policy that fails to start: nothing planned, nothing left running", func(t *testing.T) {
		w := newWorld(t, one, nil)
		w.src.StartErr = map[string]error{"policy/default": fmt.Errorf("start: %w", pluginhost.ErrFailed)}
		if _, err := w.plan(t, Request{Target: "Bob"}); !errors.Is(err, pluginhost.ErrFailed) {
			t.Errorf("err %v", err)
		}
	})
}
