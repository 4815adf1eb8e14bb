package roster

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

const erinJID = "erin@example.com"

func TestRosterSubscribeApprove(t *testing.T) {
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: erinJID, Password: "x"})
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)

	r := e.Run(usageCmd, "subscribe", "xmpp:"+erinJID)
	ok(t, r)
	if r.Stdout != "subscribe\t"+erinJID+"\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	r = e.Run(usageCmd, "approve", erinJID+"/phone", "--json")
	jsoncheck.Validate(t, r.Stdout)
	ok(t, r)
	var got subscriptionResult
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.Stdout)
	}
	if got != (subscriptionResult{Account: "home", JID: erinJID, Sent: "subscribed"}) {
		t.Errorf("json %+v", got)
	}
	want := []fake.SubscriptionEvent{
		{From: cmdtest.AliceJID, To: erinJID, Type: "subscribe"},
		{From: cmdtest.AliceJID, To: erinJID, Type: "subscribed"},
	}
	if s := svc.Subscriptions(); len(s) != 2 || s[0] != want[0] || s[1] != want[1] {
		t.Errorf("sent %+v, want %+v", s, want)
	}
	if svc.Open() != 0 {
		t.Errorf("%d sessions left open", svc.Open())
	}
}

func TestRosterSubscribeErrors(t *testing.T) {
	noSub := func() *fake.Service { return cmdtest.StandardService() }
	cases := []struct {
		name string
		args []string
		caps []protocol.Capability
		code int
		msg  string
	}{
		{"no JID", []string{"subscribe"}, nil, cmdutil.ExitUsage, "takes one JID"},
		{"two JIDs", []string{"approve", "a@b", "c@d"}, nil, cmdutil.ExitUsage, "takes one JID"},
		{"domain only", []string{"subscribe", "example.com"}, nil, cmdutil.ExitUsage, "not a contact's JID"},
		{"two ats", []string{"subscribe", "a@b@c"}, nil, cmdutil.ExitUsage, "not a contact's JID"},
		{"empty local", []string{"approve", "@example.com"}, nil, cmdutil.ExitUsage, "not a contact's JID"},
		{"bad domain", []string{"subscribe", "bob@exa mple.com"}, nil, cmdutil.ExitUsage, "not a contact's JID"},
		{"tel", []string{"subscribe", "tel:+15550100"}, nil, cmdutil.ExitUsage, "not a contact's JID"},
		{"self", []string{"subscribe", cmdtest.AliceJID}, nil, cmdutil.ExitUsage, "account itself"},
		{"unsupported", []string{"subscribe", "bob@example.com"}, []protocol.Capability{protocol.CapLogin, protocol.CapRoster}, cmdutil.ExitFailure, "cannot manage presence subscriptions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := noSub()
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
			if c.caps != nil {
				e.Source.IMPP["xmpp"] = svc.IMPP(c.caps...)
			}
			r := e.Run(usageCmd, c.args...)
			if r.Code != c.code || r.Err == nil || !strings.Contains(r.Err.Error(), c.msg) {
				t.Fatalf("exit %d (%v), want %d with %q", r.Code, r.Err, c.code, c.msg)
			}
			if strings.Contains(r.Err.Error(), "\n") {
				t.Errorf("error is not one line: %q", r.Err)
			}
			if r.Stdout != "" {
				t.Errorf("stdout on failure: %q", r.Stdout)
			}
			if len(svc.Subscriptions()) != 0 {
				t.Errorf("sent %+v", svc.Subscriptions())
			}
		})
	}
}

// RFC 6121 §2.1.2.1: without a subscription to a contact's presence
// ("none", "from") their silence says nothing: unknown, not offline. With
// one ("to", "both") and no presence: offline.
func TestRosterPresenceUnknown(t *testing.T) {
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceJID, Password: cmdtest.AlicePassword, Roster: []protocol.RosterItem{
		{JID: "a-none@example.com", Subscription: "none"},
		{JID: "b-from@example.com", Subscription: "from"},
		{JID: "c-to@example.com", Subscription: "to"},
		{JID: "d-both@example.com", Subscription: "both"},
		{JID: "e-none-online@example.com", Subscription: "none"},
	}})
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
	e.Source.IMPP["xmpp"] = &presenceIMPP{IMPP: svc.IMPP(), svc: svc, answer: []protocol.Presence{
		// A presence that came anyway (e.g. directed) is shown.
		{From: "e-none-online@example.com/x", Show: "dnd"},
	}}
	r := e.Run(usageCmd, "--presence", "--presence-wait", "100ms")
	ok(t, r)
	var col []string
	for _, l := range strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n") {
		f := strings.Split(l, "\t")
		col = append(col, f[0]+"="+f[len(f)-1])
	}
	want := "a-none@example.com=unknown|b-from@example.com=unknown|c-to@example.com=offline|d-both@example.com=offline|e-none-online@example.com=dnd"
	if got := strings.Join(col, "|"); got != want {
		t.Errorf("presence column\n%s\nwant\n%s", got, want)
	}
	r = e.Run(usageCmd, "--presence", "--presence-wait", "100ms", "--json")
	ok(t, r)
	var got []struct {
		JID      string `json:"jid"`
		Presence struct {
			State string `json:"state"`
		} `json:"presence"`
	}
	if err := cmdtest.UnmarshalList(r.Stdout, "contacts", &got); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, c := range got {
		states = append(states, c.Presence.State)
	}
	if s := strings.Join(states, ","); s != "unknown,unknown,offline,offline,available" {
		t.Errorf("json states %s", s)
	}
}

// liveIMPP hands out sessions that are online already (as the agent's
// is) and know their contacts' presence (protocol.PresenceView).
type liveIMPP struct {
	protocol.IMPP
	view protocol.PresenceSnapshot
}

func (l *liveIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := l.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return &liveSession{IMPPSession: s, view: l.view}, nil
}

type liveSession struct {
	protocol.IMPPSession
	view protocol.PresenceSnapshot
}

func (s *liveSession) KnownPresences(context.Context) (protocol.PresenceSnapshot, error) {
	return s.view, nil
}

// With a session that already knows (the agent's live view), roster
// --presence reads it and sends no presence of its own: the user's
// presence (say dnd) is left as it is.
func TestRosterPresenceLiveView(t *testing.T) {
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceJID, Password: cmdtest.AlicePassword, Roster: []protocol.RosterItem{
		{JID: "a-both@example.com", Subscription: "both"},
		{JID: "b-both@example.com", Subscription: "both"},
		{JID: "c-none@example.com", Subscription: "none"},
	}})
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
	e.Source.IMPP["xmpp"] = &liveIMPP{IMPP: svc.IMPP(), view: protocol.PresenceSnapshot{Online: true, Presences: []protocol.Presence{
		{From: "a-both@example.com/phone", Show: "away", Status: "lunch"},
		{From: "a-both@example.com/desk"},
	}}}
	r := e.Run(usageCmd, "--presence", "--presence-wait", "1h")
	ok(t, r)
	var col []string
	for _, l := range strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n") {
		f := strings.Split(l, "\t")
		col = append(col, f[0]+"="+f[len(f)-1])
	}
	want := "a-both@example.com=available|b-both@example.com=offline|c-none@example.com=unknown"
	if got := strings.Join(col, "|"); got != want {
		t.Errorf("presence column\n%s\nwant\n%s", got, want)
	}
	if ps := svc.Presences(); len(ps) != 0 {
		t.Errorf("presence sent with a live view: %+v", ps)
	}
}
