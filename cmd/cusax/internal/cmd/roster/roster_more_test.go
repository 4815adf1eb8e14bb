package roster

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/spf13/cobra"
)

// Carol lives on another domain and has no vCard; Dave has only a phone
// number.
const (
	carolJID  = "carol@other.example"
	daveJID   = "dave@example.com"
	daveVCard = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Dave Phone\r\nTEL;TYPE=cell,voice;VALUE=uri:tel:+15550199\r\nEND:VCARD\r\n"
)

// threeContacts is the standard service with carol and dave added to
// alice's roster.
func threeContacts() *fake.Service {
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceJID, Password: cmdtest.AlicePassword, Roster: []protocol.RosterItem{
		{JID: cmdtest.BobJID, Name: "Bob", Subscription: "both", Groups: []string{"work", "friends"}},
		{JID: carolJID, Name: "Carol", Subscription: "to"},
		{JID: daveJID, Subscription: "both"},
	}})
	svc.Add(fake.Account{Address: carolJID, Password: "x"})
	svc.Add(fake.Account{Address: daveJID, Password: "x", VCard: daveVCard})
	return svc
}

// usageCmd builds roster as the root does: flags that do not parse are
// usage errors (exit 2).
func usageCmd(f *cmdutil.Factory) *cobra.Command {
	c := NewCmdRoster(f)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.Usagef("%v", err) })
	return c
}

func ok(t *testing.T, r cmdtest.Result) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
}

func TestRosterPiped(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
	r := e.Run(usageCmd)
	ok(t, r)
	// Sorted by display name; columns: jid name subscription groups
	// callable call_uri video inter_domain pstn reach.
	want := "bob@example.com\tBob\tboth\twork,friends\ttrue\tsip:bob@example.com\tfalse\tfalse\tfalse\t\n" +
		"carol@other.example\tCarol\tto\t\tfalse\t\tfalse\ttrue\tfalse\t\n" +
		"dave@example.com\t\tboth\t\ttrue\ttel:+15550199\tfalse\tfalse\ttrue\t\n"
	if r.Stdout != want {
		t.Errorf("piped\n%q\nwant\n%q", r.Stdout, want)
	}
	if r.Stderr != "" {
		t.Errorf("stderr %q", r.Stderr)
	}
}

func TestRosterTerminal(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
	e.IO.SetTTY(false, true, true)
	r := e.Run(usageCmd)
	ok(t, r)
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || strings.Contains(r.Stdout, "\t") {
		t.Fatalf("table\n%s", r.Stdout)
	}
	for i, want := range [][]string{
		{"NAME", "JID", "SUBSCRIPTION", "GROUPS", "CALL", "VIDEO", "COST", "REACH"},
		{"Bob", "bob@example.com", "both", "work,friends", "sip:bob@example.com", "-", "-"},
		{"Carol", "carol@other.example", "to", "-", "-", "inter-domain"},
		{"dave@example.com", "both", "tel:+15550199", "-", "pstn"},
	} {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("line %d: %q, want fields %q", i, lines[i], want)
		}
	}
}

func TestRosterJSONAll(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
	r := e.Run(usageCmd, "--json")
	ok(t, r)
	var got []struct {
		JID         string   `json:"jid"`
		Groups      []string `json:"groups"`
		Callable    bool     `json:"callable"`
		InterDomain bool     `json:"inter_domain"`
		PSTN        bool     `json:"pstn"`
		Tels        []any    `json:"tels"`
		Source      string   `json:"vcard_source"`
		Presence    any      `json:"presence"`
	}
	if err := cmdtest.UnmarshalList(r.Stdout, "contacts", &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d contacts", len(got))
	}
	bob, carol, dave := got[0], got[1], got[2]
	if bob.JID != cmdtest.BobJID || len(bob.Tels) != 2 || bob.Source != "xep-0292" || len(bob.Groups) != 2 {
		t.Errorf("bob %+v", bob)
	}
	// Empty lists are [], never null: scripts index them.
	if carol.Callable || !carol.InterDomain || carol.Tels == nil || carol.Groups == nil || carol.Source != "" {
		t.Errorf("carol %+v", carol)
	}
	if !dave.PSTN || !dave.Callable || dave.Presence != nil {
		t.Errorf("dave %+v", dave)
	}
}

// presenceIMPP answers alice's initial presence with her contacts'
// presence, as the server does (RFC 6121 §4.2.2 after §4.2.1), through
// Service.PublishPresence.
type presenceIMPP struct {
	protocol.IMPP
	svc    *fake.Service
	answer []protocol.Presence
}

func (p *presenceIMPP) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	s, err := p.IMPP.Connect(ctx, req)
	if err != nil {
		return nil, err
	}
	return &presenceSession{IMPPSession: s, p: p, to: req.Address}, nil
}

type presenceSession struct {
	protocol.IMPPSession
	p  *presenceIMPP
	to string
}

func (s *presenceSession) SetPresence(ctx context.Context, pr protocol.Presence) error {
	if err := s.IMPPSession.SetPresence(ctx, pr); err != nil {
		return err
	}
	for _, a := range s.p.answer {
		s.p.svc.PublishPresence(s.to, a)
	}
	return nil
}

func TestRosterPresence(t *testing.T) {
	svc := threeContacts()
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
	e.Source.IMPP["xmpp"] = &presenceIMPP{IMPP: svc.IMPP(), svc: svc, answer: []protocol.Presence{
		{From: "Bob@Example.com/phone", Show: "away", Status: "lunch"},
		{From: carolJID + "/x", Type: "unavailable", Status: "gone"},
	}}
	r := e.Run(usageCmd, "--presence", "--presence-wait", "100ms")
	ok(t, r)
	var col []string
	for _, l := range strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 11 {
			t.Fatalf("%d columns in %q, want 11", len(f), l)
		}
		col = append(col, f[10])
	}
	if got := strings.Join(col, "|"); got != "away: lunch|offline|offline" {
		t.Errorf("presence column %q", got)
	}
	// Alice said she is available first (RFC 6121 §4.2.1).
	if p := svc.Presences(); len(p) != 1 {
		t.Errorf("presences set: %+v", p)
	}

	r = e.Run(usageCmd, "--presence", "--presence-wait", "100ms", "--json")
	jsoncheck.Validate(t, r.Stdout)
	ok(t, r)
	var got []struct {
		JID      string `json:"jid"`
		Presence *struct {
			Available bool   `json:"available"`
			Show      string `json:"show"`
			Status    string `json:"status"`
		} `json:"presence"`
	}
	if err := cmdtest.UnmarshalList(r.Stdout, "contacts", &got); err != nil {
		t.Fatal(err)
	}
	if p := got[0].Presence; p == nil || !p.Available || p.Show != "away" || p.Status != "lunch" {
		t.Errorf("bob's presence %+v", p)
	}
	if p := got[1].Presence; p == nil || p.Available || p.Status != "gone" {
		t.Errorf("carol's presence %+v", p)
	}
}

func TestRosterShow(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
	for _, q := range []string{"bob", "Bob", cmdtest.BobJID, "xmpp:" + cmdtest.BobJID} {
		r := e.Run(usageCmd, "show", q)
		ok(t, r)
		if !strings.HasPrefix(r.Stdout, "BEGIN:VCARD\r\n") || !strings.Contains(r.Stdout, "FN:Bob Example\r\n") ||
			!strings.Contains(r.Stdout, "sip:bob@example.com") || !strings.HasSuffix(r.Stdout, "END:VCARD\r\n") {
			t.Errorf("show %s:\n%q", q, r.Stdout)
		}
	}
	r := e.Run(usageCmd, "show", daveJID, "--json")
	jsoncheck.Validate(t, r.Stdout)
	ok(t, r)
	var got struct {
		JID   string `json:"jid"`
		PSTN  bool   `json:"pstn"`
		VCard string `json:"vcard"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || got.JID != daveJID || !got.PSTN || !strings.Contains(got.VCard, "tel:+15550199") {
		t.Errorf("%v: %s", err, r.Stdout)
	}
}

// A contact without a vCard: show says so on stderr and succeeds; --json
// has an empty vcard.
func TestRosterShowNoVCard(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
	r := e.Run(usageCmd, "show", "carol")
	ok(t, r)
	if r.Stdout != "" || r.Stderr != "cusax: carol@other.example has no vCard\n" {
		t.Errorf("stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	r = e.Run(usageCmd, "show", "carol", "--json")
	ok(t, r)
	if !strings.Contains(r.Stdout, `"vcard": ""`) || !strings.Contains(r.Stdout, `"inter_domain": true`) {
		t.Errorf("JSON %s", r.Stdout)
	}
}

func TestRosterExport(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
	r := e.Run(usageCmd, "export")
	ok(t, r)
	cards := strings.SplitAfter(r.Stdout, "END:VCARD\r\n")
	if len(cards) != 4 || cards[3] != "" {
		t.Fatalf("%d cards:\n%s", len(cards)-1, r.Stdout)
	}
	for i, want := range []string{
		"FN:Bob Example\r\n",
		// No vCard: a minimal one with FN and the xmpp: address.
		"FN:Carol\r\n",
		"FN:Dave Phone\r\n",
	} {
		if !strings.HasPrefix(cards[i], "BEGIN:VCARD\r\n") || !strings.Contains(cards[i], want) {
			t.Errorf("card %d: %q, want %q", i, cards[i], want)
		}
	}
	if !strings.Contains(cards[1], "IMPP:xmpp:carol@other.example\r\n") {
		t.Errorf("carol's card has no IMPP: %q", cards[1])
	}
	// Bob's own IMPP is not repeated.
	if n := strings.Count(cards[0], "IMPP"); n != 1 {
		t.Errorf("bob's card has %d IMPP lines: %q", n, cards[0])
	}
	if !strings.Contains(cards[2], "IMPP:xmpp:dave@example.com\r\n") {
		t.Errorf("dave's card has no IMPP: %q", cards[2])
	}
}

// vCards are cached per account under $XDG_CACHE_HOME/cusax/vcards (the
// test's own dir): a second run uses the cache, --refresh and an expired
// --ttl fetch again.
func TestRosterVCardCache(t *testing.T) {
	svc := threeContacts()
	// Fetched two hours ago.
	svc.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
	callURI := func(args ...string) string {
		t.Helper()
		r := e.Run(usageCmd, append([]string{"show", "bob", "--json"}, args...)...)
		ok(t, r)
		var c struct {
			VCard string `json:"vcard"`
		}
		if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil {
			t.Fatal(err)
		}
		return c.VCard
	}
	if !strings.Contains(callURI(), "FN:Bob Example") {
		t.Fatal("first fetch")
	}
	dir := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "cusax", "vcards", "home")
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Fatalf("no cache in %s: %v", dir, err)
	}
	// Bob changes his vCard on the server.
	svc.Add(fake.Account{Address: cmdtest.BobJID, Password: cmdtest.BobPassword,
		VCard: strings.Replace(cmdtest.BobVCard, "FN:Bob Example", "FN:Robert", 1)})
	if got := callURI(); !strings.Contains(got, "FN:Bob Example") {
		t.Errorf("within the default --ttl the cache was not used: %q", got)
	}
	if got := callURI("--ttl", "3h"); !strings.Contains(got, "FN:Bob Example") {
		t.Errorf("--ttl 3h: the 2 h old entry was not used: %q", got)
	}
	if got := callURI("--ttl", "1h"); !strings.Contains(got, "FN:Robert") {
		t.Errorf("--ttl 1h: the 2 h old entry was used: %q", got)
	}
	// --ttl 0: no cached vCard is young enough (it was 24 h before).
	svc.Now = time.Now
	if got := callURI(); !strings.Contains(got, "FN:Robert") {
		t.Errorf("a fresh entry was not used: %q", got)
	}
	svc.Add(fake.Account{Address: cmdtest.BobJID, Password: cmdtest.BobPassword,
		VCard: strings.Replace(cmdtest.BobVCard, "FN:Bob Example", "FN:Rob", 1)})
	if got := callURI("--ttl", "0"); !strings.Contains(got, "FN:Rob\r\n") {
		t.Errorf("--ttl 0 used the cache: %q", got)
	}
	svc.Add(fake.Account{Address: cmdtest.BobJID, Password: cmdtest.BobPassword,
		VCard: strings.Replace(cmdtest.BobVCard, "FN:Bob Example", "FN:Bobby", 1)})
	if got := callURI("--refresh"); !strings.Contains(got, "FN:Bobby") {
		t.Errorf("--refresh used the cache: %q", got)
	}
}

func TestRosterErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		setup func(*cmdtest.Env)
		code  int
		want  string
	}{
		{"bad --ttl", []string{"--ttl", "a while"}, nil, cmdutil.ExitUsage, "invalid argument"},
		{"bad --presence-wait", []string{"--presence-wait", "x"}, nil, cmdutil.ExitUsage, "invalid argument"},
		{"zero --concurrency", []string{"--concurrency", "0"}, nil, cmdutil.ExitUsage, "--concurrency must be at least 1"},
		{"negative --ttl", []string{"--ttl", "-1h"}, nil, cmdutil.ExitUsage, "--ttl must not be negative"},
		{"zero --presence-wait", []string{"--presence", "--presence-wait", "0s"}, nil, cmdutil.ExitUsage, "--presence-wait must be positive"},
		{"negative --presence-wait", []string{"--presence", "--presence-wait", "-2s"}, nil, cmdutil.ExitUsage, "--presence-wait must be positive"},
		{"unknown flag", []string{"--bogus"}, nil, cmdutil.ExitUsage, "unknown flag"},
		{"unknown account", []string{"--account", "nope"}, nil, cmdutil.ExitUsage, "nope"},
		{"show without contact", []string{"show"}, nil, cmdutil.ExitUsage, "roster show takes one CONTACT"},
		{"show two contacts", []string{"show", "bob", "carol"}, nil, cmdutil.ExitUsage, "roster show takes one CONTACT"},
		{"show unknown name", []string{"show", "zed"}, nil, cmdutil.ExitUsage, "zed"},
		{"unreachable", nil, func(e *cmdtest.Env) { e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrUnreachable) }, cmdutil.ExitNetwork, "unreachable"},
		{"certificate", []string{"export"}, func(e *cmdtest.Env) { e.Service.FailConnect(cmdtest.AliceJID, protocol.ErrCertificate) }, cmdutil.ExitTLS, ""},
		{"plugin missing", nil, func(e *cmdtest.Env) { delete(e.Source.IMPP, "xmpp") }, cmdutil.ExitPlugin, "xmpp"},
		{"show a JID outside the roster", []string{"show", "zed@example.com"}, nil, cmdutil.ExitFailure, "zed@example.com: not in the roster"},
		{"presence not supported by the backend", []string{"--presence"}, func(e *cmdtest.Env) {
			e.Source.IMPP["xmpp"] = e.Service.IMPP(protocol.CapLogin, protocol.CapRoster, protocol.CapVCard)
		}, cmdutil.ExitFailure, "presence"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), threeContacts())
			if c.setup != nil {
				c.setup(e)
			}
			r := e.Run(usageCmd, c.args...)
			if r.Code != c.code {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, c.code)
			}
			if msg := r.Err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line with %q", msg, c.want)
			}
			if r.Stdout != "" {
				t.Errorf("stdout on failure: %q", r.Stdout)
			}
		})
	}
}

// One hostile vCard does not hide the rest of the roster: it is a warning
// on stderr, the contact is listed without calling data.
func TestRosterBadVCard(t *testing.T) {
	svc := threeContacts()
	svc.Add(fake.Account{Address: daveJID, Password: "x", VCard: "BEGIN:VCARD\r\nnot a vcard"})
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
	r := e.Run(usageCmd)
	ok(t, r)
	if strings.Count(r.Stdout, "\n") != 3 || !strings.Contains(r.Stderr, "cusax: warning: vCard of dave@example.com: unreadable vCard") {
		t.Errorf("stdout %q stderr %q", r.Stdout, r.Stderr)
	}
}

// Names and groups come from the server and from contacts: on a terminal
// no escape sequence or bidi control reaches it; piped, a tab or newline
// in a name cannot add a column or a row.
func TestRosterHostileName(t *testing.T) {
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceJID, Password: cmdtest.AlicePassword, Roster: []protocol.RosterItem{
		{JID: cmdtest.BobJID, Name: "\x1b[2J\x1b[Hroot\u202e", Subscription: "both", Groups: []string{"a\tb\nc"}},
	}})
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), svc)
	e.IO.SetTTY(false, true, true)
	r := e.Run(usageCmd)
	ok(t, r)
	if strings.ContainsAny(r.Stdout, "\x1b\u202e") || !strings.Contains(r.Stdout, `\x1b[2J`) {
		t.Errorf("terminal output %q", r.Stdout)
	}
	e.IO.SetTTY(false, false, false)
	r = e.Run(usageCmd)
	ok(t, r)
	if strings.Count(r.Stdout, "\n") != 1 || strings.Count(r.Stdout, "\t") != 9 {
		t.Errorf("piped output %q: want one row of 10 columns", r.Stdout)
	}
}
