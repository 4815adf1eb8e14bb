package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// Integration tests of the session features against the real Prosody of
// internal/testbed. Tests that store data use fresh accounts (newUsers), so
// that they neither see nor disturb one another on the shared bed.

var userSeq atomic.Int64

// newUsers creates accounts on example.test named prefix+N and returns
// their names in order.
func (f fixture) newUsers(t *testing.T, prefixes ...string) []string {
	t.Helper()
	names := make([]string, len(prefixes))
	for i, p := range prefixes {
		names[i] = fmt.Sprintf("%s%d", p, userSeq.Add(1))
	}
	if _, err := f.bed.AddUsers(testCtx(t, 10*time.Second), f.bed.Domain, names...); err != nil {
		t.Fatal(err)
	}
	return names
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recv returns the next value of st, or fails the test after 5 s.
func recv[T any](t *testing.T, st protocol.Stream[T]) T {
	t.Helper()
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() { v, err := st.Recv(); ch <- res{v, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Recv: %v", r.err)
		}
		return r.v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received within 5 s")
	}
	panic("unreachable")
}

// recvUntil receives until match accepts a value.
func recvUntil[T any](t *testing.T, st protocol.Stream[T], match func(T) bool) T {
	t.Helper()
	for {
		if v := recv(t, st); match(v) {
			return v
		}
	}
}

func TestVCardProsody(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "vcfour", "vctemp", "vcnone")
	v4, vt, none := u[0], u[1], u[2]
	err := f.bed.Seed(testCtx(t, 10*time.Second), testbed.Seed{
		VCard4: map[string]string{v4: `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Vic Four</text></fn>` +
			`<tel><parameters><type><text>work</text><text>video</text></type></parameters><uri>sip:` + f.bed.JID(v4) + `</uri></tel></vcard>`},
		VCardTemp: map[string]string{vt: `<vCard xmlns='vcard-temp'><FN>Vic Temp</FN>` +
			`<TEL><WORK/><VIDEO/><NUMBER>sip:` + f.bed.JID(vt) + `</NUMBER></TEL></vCard>`},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := f.connect(t, f.req("alice"))
	ctx := testCtx(t, 10*time.Second)

	t.Run("xep-0292 with video", func(t *testing.T) {
		v, err := s.VCard(ctx, f.bed.JID(v4))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", v)
		if v.Source != "xep-0292" || v.JID != f.bed.JID(v4) || v.Fetched.IsZero() {
			t.Errorf("VCard = %+v", v)
		}
		tel := telLine(v.Text, "sip:"+f.bed.JID(v4))
		if !strings.Contains(strings.ToLower(tel), "video") {
			t.Errorf("TEL line %q lacks TYPE=video; text:\n%s", tel, v.Text)
		}
	})

	t.Run("vcard-temp only", func(t *testing.T) {
		// Prosody 0.12 stores a vcard-temp set in PEP as vCard 4, so it
		// comes back as XEP-0292, without its VIDEO flag and with the SIP
		// URI as tel:sip:…, which vcardxml maps back.
		v, err := s.VCard(ctx, f.bed.JID(vt))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", v)
		if v.Source != "xep-0292" {
			t.Errorf("Source = %q: Prosody 0.12 no longer keeps vcard-temp apart", v.Source)
		}
		if tel := telLine(v.Text, "sip:"+f.bed.JID(vt)); tel == "" || strings.Contains(tel, "tel:sip:") {
			t.Errorf("no TEL with the SIP URI (tel:sip: mapped back) in:\n%s", v.Text)
		}
		if !strings.Contains(v.Text, "Vic Temp") {
			t.Errorf("FN missing:\n%s", v.Text)
		}
	})

	t.Run("own", func(t *testing.T) {
		own := f.connect(t, f.req(vt))
		v, err := own.VCard(ctx, "")
		if err != nil || v.JID != f.bed.JID(vt) || !strings.Contains(v.Text, "Vic Temp") {
			t.Errorf("own VCard = %+v, %v", v, err)
		}
	})

	for _, who := range []string{none, "nobody-at-all"} {
		t.Run("none "+who, func(t *testing.T) {
			contact := who + "@" + f.bed.Domain
			if _, err := s.VCard(ctx, contact); !errors.Is(err, protocol.ErrNotFound) {
				t.Errorf("VCard(%s): %v, want ErrNotFound", contact, err)
			} else {
				t.Log(err)
			}
		})
	}
}

// telLine returns the TEL line of text that mentions uri, or "".
func telLine(text, uri string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.ToUpper(l), "TEL") && strings.Contains(l, uri) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func TestPresenceExchange(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "pone", "ptwo")
	one, two := u[0], u[1]
	err := f.bed.Seed(testCtx(t, 10*time.Second), testbed.Seed{
		Rosters: map[string][]testbed.Contact{one: {{JID: f.bed.JID(two), Mutual: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t, 10*time.Second)
	s1 := f.connect(t, f.req(one))
	r2 := f.req(two)
	r2.Resource = "desk"
	s2, err := f.b.Connect(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close(ctx)

	// The stream first, then the initial presence (SetPresence doc).
	ps, err := s1.Presences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if err := s1.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	reach := []protocol.ReachAddress{{URI: "sip:" + f.bed.JID(two), Desc: "Desk phone"}}
	if err := s2.SetPresence(ctx, protocol.Presence{Show: "away", Status: "in a meeting", Priority: 5, Reach: reach}); err != nil {
		t.Fatal(err)
	}
	from2 := f.bed.JID(two) + "/desk"
	p := recvUntil(t, ps, func(p protocol.Presence) bool { return p.From == from2 && p.Type == "" })
	// XEP-0152 §3: no description in presence broadcasts.
	want := protocol.Presence{From: from2, Show: "away", Status: "in a meeting", Priority: 5,
		Reach: []protocol.ReachAddress{{URI: reach[0].URI, Source: "presence"}}}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("presence = %+v\nwant %+v", p, want)
	}
	got, err := s1.Reach(ctx, f.bed.JID(two))
	if err != nil || len(got) != 1 || got[0] != want.Reach[0] {
		t.Errorf("Reach from presence = %+v, %v", got, err)
	}

	if err := s2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	recvUntil(t, ps, func(p protocol.Presence) bool { return p.From == from2 && p.Type == "unavailable" })
	if got, _ := s1.Reach(ctx, f.bed.JID(two)); len(got) != 0 {
		t.Errorf("Reach after unavailable = %+v, want none", got)
	}

	if err := s1.SetPresence(ctx, protocol.Presence{Show: "bogus"}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("SetPresence(show bogus): %v, want ErrInvalid", err)
	}
	if err := s1.SetPresence(ctx, protocol.Presence{Priority: 200}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("SetPresence(priority 200): %v, want ErrInvalid", err)
	}
}

func TestMessagesBothWays(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t, 10*time.Second)
	alice := f.connect(t, f.req("alice"))
	bobReq := f.req("bob")
	bobReq.Resource = "recv"
	bob := f.connect(t, bobReq)
	am, err := alice.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := bob.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// To full JIDs: a bare JID without an available presence would go to
	// offline storage (RFC 6121 §8.5.2.1.1).
	if err := alice.Send(ctx, protocol.Message{ID: "a1", To: bob.Report().Address, Body: "hello bob", Thread: "t1"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, bm)
	if m.ID != "a1" || m.From != alice.Report().Address || m.Type != "chat" || m.Body != "hello bob" || m.Thread != "t1" || m.Time.IsZero() {
		t.Errorf("bob got %+v", m)
	}
	if err := bob.Send(ctx, protocol.Message{To: alice.Report().Address, Type: "normal", Body: "hello alice ✓"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, am); m.From != bob.Report().Address || m.Type != "normal" || m.Body != "hello alice ✓" {
		t.Errorf("alice got %+v", m)
	}

	// RFC 6121 §8.5.2.2.1 / §8.5.1: no such account → the server bounces.
	err = alice.Send(ctx, protocol.Message{To: "nobody@" + f.bed.Domain, Body: "hi"})
	t.Log(err)
	if !errors.Is(err, protocol.ErrNotFound) || !strings.Contains(err.Error(), "service-unavailable") {
		t.Errorf("send to an unknown user: %v, want ErrNotFound naming service-unavailable", err)
	}
	// The bounce is also streamed, as type error.
	if m := recvUntil(t, am, func(m protocol.Message) bool { return m.Type == "error" }); m.Error != "service-unavailable" {
		t.Errorf("error message = %+v", m)
	}
	if err := alice.Send(ctx, protocol.Message{To: "bob@example.test", Type: "bogus"}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("bad type: %v, want ErrInvalid", err)
	}
}

func TestMUC(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t, 15*time.Second)
	alice := f.connect(t, f.req("alice"))
	bob := f.connect(t, f.req("bob"))
	am, _ := alice.Messages(ctx)
	bm, _ := bob.Messages(ctx)
	room := fmt.Sprintf("cusax%d@%s", userSeq.Add(1), f.bed.MUCDomain)

	ar, err := alice.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if ar.JID != room+"/Alice" || !slices.Equal(ar.Occupants, []string{"Alice"}) {
		t.Errorf("alice joined %+v", ar)
	}
	br, err := bob.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	if br.JID != room+"/Bob" || !slices.Equal(br.Occupants, []string{"Alice", "Bob"}) {
		t.Errorf("bob joined %+v", br)
	}
	if again, err := bob.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "Bob"}); err != nil || again.JID != br.JID {
		t.Errorf("second join = %+v, %v; want the current state", again, err)
	}

	if err := alice.Send(ctx, protocol.Message{To: room, Type: "groupchat", Body: "hi from alice"}); err != nil {
		t.Fatal(err)
	}
	isGroup := func(body string) func(protocol.Message) bool {
		return func(m protocol.Message) bool { return m.Type == "groupchat" && m.Body == body }
	}
	if m := recvUntil(t, bm, isGroup("hi from alice")); m.From != ar.JID {
		t.Errorf("bob got %+v", m)
	}
	// Our own message comes back from the room: From is our room JID.
	if m := recvUntil(t, am, isGroup("hi from alice")); m.From != ar.JID {
		t.Errorf("alice's echo %+v, want From %s", m, ar.JID)
	}
	if err := bob.Send(ctx, protocol.Message{To: room, Type: "groupchat", Body: "hi from bob"}); err != nil {
		t.Fatal(err)
	}
	if m := recvUntil(t, am, isGroup("hi from bob")); m.From != br.JID {
		t.Errorf("alice got %+v", m)
	}

	t.Run("groupchat to a room not joined", func(t *testing.T) {
		carol := f.connect(t, f.req("carol"))
		err := carol.Send(ctx, protocol.Message{To: room, Type: "groupchat", Body: "intruder"})
		t.Log(err)
		// Prosody 0.12: not-acceptable ("You are not currently connected
		// to this chat"), XEP-0045 §7.4.
		if !errors.Is(err, protocol.ErrDenied) || !strings.Contains(err.Error(), "not-acceptable") {
			t.Errorf("Send: %v, want ErrDenied naming not-acceptable", err)
		}
	})

	t.Run("password", func(t *testing.T) {
		secret := fmt.Sprintf("secret%d@%s", userSeq.Add(1), f.bed.MUCDomain)
		if _, err := alice.JoinRoom(ctx, protocol.RoomJoin{Room: secret, Nick: "Alice"}); err != nil {
			t.Fatal(err)
		}
		configureRoom(t, alice.(*session), secret,
			formField{"muc#roomconfig_passwordprotectedroom", []string{"1"}},
			formField{"muc#roomconfig_roomsecret", []string{"s3cret"}},
			formField{"muc#roomconfig_roomdesc", []string{"Where the SIP call is"}},
		)
		for _, pw := range []string{"", "wrong"} {
			_, err := bob.JoinRoom(ctx, protocol.RoomJoin{Room: secret, Nick: "Bob", Password: pw})
			t.Log(err)
			if !errors.Is(err, protocol.ErrDenied) || !strings.Contains(err.Error(), "not-authorized") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("join with password %q: %v, want ErrDenied naming not-authorized", pw, err)
			}
		}
		_, err := bob.JoinRoom(ctx, protocol.RoomJoin{Room: secret, Nick: "Alice", Password: "s3cret"})
		if !errors.Is(err, protocol.ErrDenied) || !strings.Contains(err.Error(), "conflict") {
			t.Errorf("join with a nick in use: %v, want ErrDenied naming conflict", err)
		}
		r, err := bob.JoinRoom(ctx, protocol.RoomJoin{Room: secret, Nick: "Bob", Password: "s3cret"})
		if err != nil || len(r.Occupants) != 2 {
			t.Fatalf("join with the password: %+v, %v", r, err)
		}

		d, err := bob.DiscoInfo(ctx, secret, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", d)
		if !slices.Contains(d.Identities, protocol.DiscoIdentity{Category: "conference", Type: "text"}) ||
			!slices.Contains(d.Features, "muc_passwordprotected") || !slices.Contains(d.Features, "http://jabber.org/protocol/muc") {
			t.Errorf("disco#info = %+v", d)
		}
		i := slices.IndexFunc(d.Forms, func(f protocol.DataForm) bool { return f.FormType == "http://jabber.org/protocol/muc#roominfo" })
		if i < 0 || !slices.Equal(d.Forms[i].Fields["muc#roominfo_description"], []string{"Where the SIP call is"}) ||
			!slices.Equal(d.Forms[i].Fields["muc#roominfo_occupants"], []string{"2"}) {
			t.Errorf("no muc#roominfo form with description and occupants: %+v", d.Forms)
		}

		if err := bob.LeaveRoom(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if err := bob.LeaveRoom(ctx, secret); !errors.Is(err, protocol.ErrNotFound) {
			t.Errorf("second LeaveRoom: %v, want ErrNotFound", err)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, j := range []protocol.RoomJoin{
			{Room: "not a jid@@", Nick: "x"},
			{Room: room + "/nick", Nick: "x"},
			{Room: room, Nick: ""},
			{Room: room, Nick: "x", History: -1},
		} {
			if _, err := bob.JoinRoom(ctx, j); !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("JoinRoom(%+v): %v, want ErrInvalid", j, err)
			}
		}
	})
}

// configureRoom submits a room configuration (XEP-0045 §10.2) as its owner.
func configureRoom(t *testing.T, s *session, room string, fields ...formField) {
	t.Helper()
	q := xmlstream.Wrap(submitForm("http://jabber.org/protocol/muc#roomconfig", fields...),
		xml.StartElement{Name: xml.Name{Space: nsMUCOwner, Local: "query"}})
	if _, err := s.sendIQ(testCtx(t, 5*time.Second), stanza.SetIQ, jid.MustParse(room), q, maxIQSize); err != nil {
		t.Fatalf("configure %s: %v", room, err)
	}
}

func TestReachProsody(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "rone", "rtwo")
	one, two := u[0], u[1]
	err := f.bed.Seed(testCtx(t, 10*time.Second), testbed.Seed{
		Rosters: map[string][]testbed.Contact{one: {{JID: f.bed.JID(two), Mutual: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t, 10*time.Second)
	s1 := f.connect(t, f.req(one))
	s2 := f.connect(t, f.req(two))
	carol := f.connect(t, f.req("carol"))

	addrs := []protocol.ReachAddress{{URI: "sip:" + f.bed.JID(one), Desc: "Work phone"}, {URI: "tel:+15550100"}}
	if err := s1.PublishReach(ctx, addrs); err != nil {
		t.Fatal(err)
	}
	want := []protocol.ReachAddress{
		{URI: addrs[0].URI, Desc: "Work phone", Source: "pep"}, {URI: addrs[1].URI, Source: "pep"},
	}
	got, err := s2.Reach(ctx, f.bed.JID(one))
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("contact's Reach = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := s1.Reach(ctx, ""); err != nil || !slices.Equal(got, want) {
		t.Errorf("own Reach = %+v, %v", got, err)
	}
	// Access model "presence": no subscription, nothing to see.
	if got, err := carol.Reach(ctx, f.bed.JID(one)); err != nil || len(got) != 0 {
		t.Errorf("stranger's Reach = %+v, %v; want none", got, err)
	}
	// Updating replaces the item.
	if err := s1.PublishReach(ctx, addrs[1:]); err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Reach(ctx, f.bed.JID(one)); err != nil || !slices.Equal(got, want[1:]) {
		t.Errorf("Reach after update = %+v, %v", got, err)
	}
	if err := s1.PublishReach(ctx, []protocol.ReachAddress{{URI: "no scheme"}}); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("PublishReach(bad URI): %v, want ErrInvalid", err)
	}
}

// TestSendDelayStamp: a message sent with Delay set carries an XEP-0203 §4
// <delay/> through the real Prosody, and the receiver reads its stamp.
func TestSendDelayStamp(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t, 10*time.Second)
	alice := f.connect(t, f.req("alice"))
	bobReq := f.req("bob")
	bobReq.Resource = "delay"
	bob := f.connect(t, bobReq)
	bm, err := bob.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	written := time.Now().Add(-42 * time.Second).Truncate(time.Millisecond)
	if err := alice.Send(ctx, protocol.Message{ID: "late1", To: bob.Report().Address, Body: "written earlier", Delay: written}); err != nil {
		t.Fatal(err)
	}
	if err := alice.Send(ctx, protocol.Message{ID: "now1", To: bob.Report().Address, Body: "on time"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, bm)
	if m.ID != "late1" || !m.Delay.Equal(written) {
		t.Errorf("delayed message: got %+v, want Delay %v", m, written)
	}
	if m := recv(t, bm); m.ID != "now1" || !m.Delay.IsZero() {
		t.Errorf("message on time: got %+v, want no Delay", m)
	}
}
