package contactaudit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// fakeChat: a roster of contacts whose vCards list sip:<user>@example.test.
type fakeChat struct {
	protocol.UnsupportedIMPPSession
	roster []string
	own    string // own vCard text; "" = none
}

func (f *fakeChat) Report() protocol.ConnectionReport { return protocol.ConnectionReport{} }
func (f *fakeChat) Close(context.Context) error       { return nil }
func (f *fakeChat) Roster(context.Context) ([]protocol.RosterItem, error) {
	var out []protocol.RosterItem
	for _, j := range f.roster {
		out = append(out, protocol.RosterItem{JID: j, Subscription: "both"})
	}
	return out, nil
}

func (f *fakeChat) VCard(_ context.Context, jid string) (protocol.VCard, error) {
	if jid == "" {
		if f.own == "" {
			return protocol.VCard{}, protocol.ErrNotFound
		}
		return protocol.VCard{Text: f.own, Source: "xep-0292"}, nil
	}
	user := jid[:len(jid)-len("@example.test")]
	return protocol.VCard{JID: jid, Source: "xep-0292", Text: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nTEL:sip:" + user + "@example.test\r\nEND:VCARD\r\n"}, nil
}

// fakeTel counts OPTIONS; it fails them for the account named fail.
type fakeTel struct {
	protocol.UnsupportedTelephonySession
	mu    *sync.Mutex
	asked *[]string
	fail  bool
	calls *int // Dial calls: must stay 0
}

func (f *fakeTel) Register(context.Context, protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	return protocol.ConnectionReport{}, nil
}
func (f *fakeTel) Unregister(context.Context) error { return nil }
func (f *fakeTel) Close(context.Context) error      { return nil }
func (f *fakeTel) Dial(context.Context, protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	f.mu.Lock()
	*f.calls++
	f.mu.Unlock()
	return nil, protocol.ErrUnsupported
}

func (f *fakeTel) Options(_ context.Context, target string) (protocol.OptionsResult, error) {
	f.mu.Lock()
	*f.asked = append(*f.asked, target)
	f.mu.Unlock()
	if f.fail {
		return protocol.OptionsResult{}, fmt.Errorf("options: %w", protocol.ErrTimeout)
	}
	if target == "sip:gone@example.test" {
		return protocol.OptionsResult{StatusCode: 404, Reason: "Not Found"}, nil
	}
	return protocol.OptionsResult{StatusCode: 480, Reason: "Temporarily Unavailable"}, nil
}

func account(name string) config.Account {
	return config.Account{Name: name, XMPP: &config.XMPPAspect{JID: name + "@example.test"}, SIP: &config.SIPAspect{AOR: "sip:" + name + "@example.test"}}
}

// Many accounts sharing contacts: each URI is asked once over the run, a
// failed OPTIONS is not reused (the next account asks again), nothing is
// ever dialled, and a backend without "options" is an error, not a pass.
func TestRunnerSharesAnswersNotErrors(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	calls := 0
	caps := []protocol.Capability{protocol.CapOptions}
	r := &Runner{
		Parallel: 1, Rate: 1000,
		OpenChat: func(_ context.Context, a config.Account) (Chat, error) {
			return Chat{Session: &fakeChat{roster: []string{"ok@example.test", "gone@example.test"}, own: "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nTEL:" + a.SIP.AOR + "\r\nEND:VCARD\r\n"},
				Info: protocol.Info{Name: "fakexmpp", Capabilities: []protocol.Capability{protocol.CapVCard, protocol.CapRoster}}, Close: func() {}}, nil
		},
		OpenTelephony: func(_ context.Context, a config.Account) (Telephony, error) {
			info := protocol.Info{Name: "fakesip", Capabilities: caps}
			if a.Name == "noopts" {
				info.Capabilities = nil
			}
			return Telephony{Session: &fakeTel{mu: &mu, asked: &asked, fail: a.Name == "broken", calls: &calls}, Info: info, Close: func() {}}, nil
		},
	}
	facts, err := r.Run(context.Background(), []config.Account{account("noopts"), account("broken"), account("a1"), account("a2"), account("a3")})
	if err != nil {
		t.Fatal(err)
	}
	// broken asked both and failed; a1 asked both again; a2, a3 reused.
	if len(asked) != 4 || r.Sent() != 4 {
		t.Errorf("OPTIONS asked %v (Sent %d), want 4: two failed for broken, two for a1, none after", asked, r.Sent())
	}
	if calls != 0 {
		t.Errorf("%d calls placed: an audit never dials", calls)
	}
	byAcct := map[string][]audit.Finding{}
	for _, f := range facts {
		byAcct[f.Account] = Evaluate(f)
	}
	status := func(acct, id, subject string) audit.Status {
		return find(t, byAcct[acct], id, subject).Status
	}
	if s := status("noopts", CheckSIPKnown, "ok@example.test"); s != audit.Error {
		t.Errorf("backend without options: %s, want error", s)
	}
	if s := status("broken", CheckSIPKnown, "ok@example.test"); s != audit.Error {
		t.Errorf("OPTIONS timed out: %s, want error", s)
	}
	for _, a := range []string{"a1", "a2", "a3"} {
		if s := status(a, CheckSIPKnown, "gone@example.test"); s != audit.Fail {
			t.Errorf("%s gone: %s, want fail", a, s)
		}
		if s := status(a, CheckSIPKnown, "ok@example.test"); s != audit.Pass {
			t.Errorf("%s ok: %s, want pass", a, s)
		}
		if s := status(a, CheckOwnAOR, ""); s != audit.Pass {
			t.Errorf("%s own AOR: %s, want pass", a, s)
		}
	}
}

// A login failure is a fact: the other accounts are still audited.
func TestRunnerLoginFailureIsAFact(t *testing.T) {
	r := &Runner{
		OpenChat: func(_ context.Context, a config.Account) (Chat, error) {
			if a.Name == "bad" {
				return Chat{}, fmt.Errorf("login: %w", protocol.ErrAuth)
			}
			return Chat{Session: &fakeChat{}, Info: protocol.Info{Capabilities: []protocol.Capability{protocol.CapVCard}}, Close: func() {}}, nil
		},
		OpenTelephony: func(context.Context, config.Account) (Telephony, error) { return Telephony{}, errors.New("unused") },
		Rate:          1,
	}
	facts, err := r.Run(context.Background(), []config.Account{account("bad"), account("good")})
	if err != nil {
		t.Fatal(err)
	}
	if facts[0].ChatError == "" || facts[1].ChatError != "" {
		t.Errorf("facts: %+v", facts)
	}
}
