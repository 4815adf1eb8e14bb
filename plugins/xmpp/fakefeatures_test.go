package xmpp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/vcardxml"
)

// Features against the scripted server: answers Prosody does not give.

const (
	stanzaNS  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	pepResult = `<iq type='result' id='%s'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'>%s</items></pubsub></iq>`
)

func TestFakeSendErrors(t *testing.T) {
	s, c := newFakeSession(t)
	for _, tc := range []struct {
		cond, typ string
		want      error
	}{
		{"service-unavailable", "chat", protocol.ErrNotFound},
		{"item-not-found", "chat", protocol.ErrNotFound},
		{"remote-server-not-found", "chat", protocol.ErrUnreachable},
		{"remote-server-timeout", "chat", protocol.ErrUnreachable},
		{"forbidden", "groupchat", protocol.ErrDenied},
		{"not-acceptable", "groupchat", protocol.ErrDenied},
		{"item-not-found", "groupchat", protocol.ErrNotFound},
		{"bad-request", "chat", protocol.ErrProtocol},
	} {
		t.Run(tc.typ+" "+tc.cond, func(t *testing.T) {
			id := "m-" + tc.cond + "-" + tc.typ
			done := make(chan error, 1)
			go func() {
				done <- s.Send(context.Background(), protocol.Message{ID: id, To: "room@conference.example.test", Type: tc.typ, Body: "hi"})
			}()
			if !c.expect(id) {
				t.Fatal("message not sent")
			}
			pingID := c.expectIQ("ping")
			c.send(fmt.Sprintf(`<message type='error' id='%s' from='room@conference.example.test'><error type='cancel'><%s xmlns='%s'/>`+
				`<text xmlns='%s'>because</text></error></message>`, id, tc.cond, stanzaNS, stanzaNS))
			c.send(`<iq type='result' id='` + pingID + `' from='example.test'/>`)
			err := <-done
			t.Log(err)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.cond+" (because)") {
				t.Errorf("Send: %v, want %v naming %s", err, tc.want, tc.cond)
			}
		})
	}
}

func TestFakeVCard(t *testing.T) {
	s, c := newFakeSession(t)
	st, _ := s.Messages(context.Background())
	ctx := context.Background()
	type result struct {
		v   protocol.VCard
		err error
	}
	fetch := func(ctx context.Context, contact string) <-chan result {
		ch := make(chan result, 1)
		go func() { v, err := s.VCard(ctx, contact); ch <- result{v, err} }()
		return ch
	}

	t.Run("fallback to vcard-temp", func(t *testing.T) {
		ch := fetch(ctx, "bob@example.test")
		id := c.expectIQ("pubsub")
		c.send(`<iq type='error' id='` + id + `' from='bob@example.test'><error type='cancel'><item-not-found xmlns='` + stanzaNS + `'/></error></iq>`)
		id = c.expectIQ("vCard")
		c.send(`<iq type='result' id='` + id + `' from='bob@example.test'><vCard xmlns='vcard-temp'><FN>Bob</FN>` +
			`<TEL><VIDEO/><NUMBER>sip:bob@example.test</NUMBER></TEL></vCard></iq>`)
		r := <-ch
		if r.err != nil || r.v.Source != "xep-0054" || r.v.JID != "bob@example.test" || !strings.Contains(r.v.Text, "TEL;TYPE=video;VALUE=uri:sip:bob@example.test") {
			t.Fatalf("VCard = %+v, %v", r.v, r.err)
		}
		t.Logf("text:\n%s", r.v.Text)
	})

	t.Run("empty everywhere", func(t *testing.T) {
		ch := fetch(ctx, "carol@example.test")
		id := c.expectIQ("pubsub")
		c.send(fmt.Sprintf(pepResult, id, `<item id='current'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/></item>`))
		id = c.expectIQ("vCard")
		c.send(`<iq type='result' id='` + id + `'/>`)
		if r := <-ch; !errors.Is(r.err, protocol.ErrNotFound) {
			t.Errorf("VCard: %+v, %v; want ErrNotFound", r.v, r.err)
		}
	})

	t.Run("too large", func(t *testing.T) {
		ch := fetch(ctx, "bob@example.test")
		id := c.expectIQ("pubsub")
		note := strings.Repeat("x", vcardMaxSize+vcardEnvelope)
		c.send(fmt.Sprintf(pepResult, id, `<item id='current'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><note><text>`+note+`</text></note></vcard></item>`))
		r := <-ch
		if !errors.Is(r.err, protocol.ErrProtocol) || !errors.Is(r.err, errVCardTooLarge) {
			t.Errorf("VCard: %v; want ErrProtocol wrapping vcardxml.ErrTooLarge", r.err)
		}
		assertAlive(t, c, st, "after-large-vcard")
	})

	t.Run("malformed", func(t *testing.T) {
		ch := fetch(ctx, "bob@example.test")
		id := c.expectIQ("pubsub")
		deep := strings.Repeat("<note>", 30) + strings.Repeat("</note>", 30)
		c.send(fmt.Sprintf(pepResult, id, `<item id='current'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>`+deep+`</vcard></item>`))
		r := <-ch
		t.Log(r.err)
		if !errors.Is(r.err, protocol.ErrProtocol) || !errors.Is(r.err, vcardxml.ErrMalformed) {
			t.Errorf("VCard: %v; want ErrProtocol wrapping vcardxml.ErrMalformed", r.err)
		}
		assertAlive(t, c, st, "after-malformed-vcard")
	})

	t.Run("server stalls mid-answer", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		ch := fetch(tctx, "bob@example.test")
		id := c.expectIQ("pubsub")
		c.send(`<iq type='result' id='` + id + `'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'><item id='current'>` +
			`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Bo`)
		var r result
		select {
		case r = <-ch:
		case <-time.After(3 * time.Second):
			t.Fatal("VCard hung past its deadline")
		}
		if !errors.Is(r.err, protocol.ErrTimeout) || time.Since(start) > time.Second {
			t.Errorf("VCard: %v after %v; want ErrTimeout at the deadline", r.err, time.Since(start))
		}
		// The server finishes: the session goes on.
		c.send(`b</text></fn></vcard></item></items></pubsub></iq>`)
		assertAlive(t, c, st, "after-stall")
	})

	t.Run("bad jid", func(t *testing.T) {
		if _, err := s.VCard(ctx, "a@@b"); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("VCard(a@@b): %v, want ErrInvalid", err)
		}
	})
}

func TestFakeDiscoForms(t *testing.T) {
	s, c := newFakeSession(t)
	type result struct {
		d   protocol.DiscoInfo
		err error
	}
	ch := make(chan result, 1)
	go func() {
		d, err := s.DiscoInfo(context.Background(), "conf@conference.example.test", "")
		ch <- result{d, err}
	}()
	id := c.expectIQ("query")
	// A room announcing its SIP conference (RFC 7081 §4) under a var no
	// XEP defines, a multi-valued field, an untyped one, a field without
	// var, a second form with <reported/> and <item/> (which mellium's
	// form package refuses), and junk identities/features.
	c.send(`<iq type='result' id='` + id + `' from='conf@conference.example.test'><query xmlns='http://jabber.org/protocol/disco#info'>` +
		`<identity category='conference' type='text' name='Conf'/><identity category='conference'/>` +
		`<feature var='http://jabber.org/protocol/muc'/><feature var='muc_passwordprotected'/><feature/><feature var='muc_passwordprotected'/>` +
		`<x xmlns='jabber:x:data' type='result'>` +
		`<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roominfo</value></field>` +
		`<field var='muc#roominfo_avuri' type='text-single'><value>sip:conf@example.test</value></field>` +
		`<field var='muc#roominfo_contactjid' type='jid-multi'><value>alice@example.test</value><value>bob@example.test</value></field>` +
		`<field var='muc#roominfo_occupants'><value>2</value></field>` +
		`<field var='muc#roominfo_subject'/><field type='fixed'><value>no var</value></field>` +
		`</x>` +
		`<x xmlns='jabber:x:data' type='result'><reported><field var='a'/></reported><item><field var='a'><value>1</value></field></item>` +
		`<field var='plain'><value>v</value></field></x>` +
		`<x xmlns='jabber:x:data' type='form'><field var='ignored'/></x>` +
		`</query></iq>`)
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := protocol.DiscoInfo{
		JID:        "conf@conference.example.test",
		Identities: []protocol.DiscoIdentity{{Category: "conference", Type: "text", Name: "Conf"}},
		Features:   []string{"http://jabber.org/protocol/muc", "muc_passwordprotected"},
		Forms: []protocol.DataForm{
			{FormType: "http://jabber.org/protocol/muc#roominfo", Fields: map[string][]string{
				"muc#roominfo_avuri":      {"sip:conf@example.test"},
				"muc#roominfo_contactjid": {"alice@example.test", "bob@example.test"},
				"muc#roominfo_occupants":  {"2"},
				"muc#roominfo_subject":    {},
			}},
			{Fields: map[string][]string{"plain": {"v"}}},
		},
	}
	if !reflect.DeepEqual(r.d, want) {
		t.Errorf("DiscoInfo =\n%+v\nwant\n%+v", r.d, want)
	}
}

// A stream whose reader does not keep up loses nothing: the session waits
// for it (the other streams wait too, and so would the server on TCP);
// once it reads, every message arrives, once and in order, on both
// streams. (Before: the slow stream dropped all but 256.)
func TestFakeSlowReader(t *testing.T) {
	s, c := newFakeSession(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, _ := s.Messages(ctx)
	fast, _ := s.Messages(ctx)
	type reader struct {
		mu   sync.Mutex
		got  []string
		done chan struct{}
	}
	read := func(st protocol.Stream[protocol.Message]) *reader {
		r := &reader{done: make(chan struct{})}
		go func() {
			defer close(r.done)
			for {
				m, err := st.Recv()
				if err != nil {
					return
				}
				r.mu.Lock()
				r.got = append(r.got, m.Body)
				r.mu.Unlock()
				if m.Body == "last" {
					return
				}
			}
		}()
		return r
	}
	count := func(r *reader) int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }
	const n = streamBuffer + 100
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `<message type='chat' from='bob@example.test/x'><body>%d</body></message>`, i)
	}
	sb.WriteString(`<message type='chat' from='bob@example.test/x'><body>last</body></message>`)
	go c.send(sb.String()) // may wait on TCP while the session waits for slow
	fr := read(fast)
	deadline := time.Now().Add(10 * time.Second)
	for count(fr) < streamBuffer && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := count(fr); got < streamBuffer || got > streamBuffer+1 {
		t.Fatalf("while the slow stream is full, the fast one got %d, want %d or %d", got, streamBuffer, streamBuffer+1)
	}
	sr := read(slow)
	for _, r := range []*reader{fr, sr} {
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("reader stuck after %d messages", count(r))
		}
		if len(r.got) != n+1 {
			t.Fatalf("got %d messages, want %d", len(r.got), n+1)
		}
		for i := 0; i < n; i++ {
			if r.got[i] != strconv.Itoa(i) {
				t.Fatalf("message %d is %q", i, r.got[i])
			}
		}
	}
	cancel()
	if _, err := slow.Recv(); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv after cancel: %v, want context.Canceled", err)
	}
}

func waitDone(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
}

func TestFakeJoinRoom(t *testing.T) {
	s, c := newFakeSession(t)
	ctx := context.Background()
	const room = "room@conference.example.test"
	type result struct {
		r   protocol.Room
		err error
	}
	join := func(ctx context.Context, j protocol.RoomJoin) <-chan result {
		ch := make(chan result, 1)
		go func() { r, err := s.JoinRoom(ctx, j); ch <- result{r, err} }()
		return ch
	}
	const x = `<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/>`

	t.Run("renamed by the service, then kicked", func(t *testing.T) {
		ch := join(ctx, protocol.RoomJoin{Room: room, Nick: "Al", Password: "pw", History: 5})
		m := c.expectRe(regexp.MustCompile(`<presence[^>]*to=["']` + room + `/Al["'][^>]*>.*?</presence>`))
		if m == nil || !regexp.MustCompile(`maxstanzas=["']5["']`).MatchString(m[0]) || !strings.Contains(m[0], "<password>pw</password>") {
			t.Fatalf("join presence %q", m)
		}
		c.send(`<presence from='` + room + `/Other'>` + x + `</x></presence>` +
			`<presence from='` + room + `/Alice'>` + x + `<status code='110'/><status code='210'/></x></presence>` +
			`<message type='groupchat' from='` + room + `' id='old'><body>history</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-02T03:04:05Z'/></message>` +
			`<message type='groupchat' from='` + room + `/Other'><subject>Topic</subject></message>`)
		r := <-ch
		want := protocol.Room{JID: room + "/Alice", Subject: "Topic", Occupants: []string{"Alice", "Other"}}
		if r.err != nil || !reflect.DeepEqual(r.r, want) {
			t.Fatalf("JoinRoom = %+v, %v; want %+v", r.r, r.err, want)
		}
		c.send(`<presence type='unavailable' from='` + room + `/Alice'>` + x + `<status code='110'/><status code='307'/></x></presence>`)
		deadline := time.Now().Add(2 * time.Second)
		for {
			err := s.LeaveRoom(ctx, room)
			if errors.Is(err, protocol.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("LeaveRoom after a kick: %v, want ErrNotFound", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("error with a malformed by", func(t *testing.T) {
		ch := join(ctx, protocol.RoomJoin{Room: room, Nick: "Al"})
		c.expectRe(regexp.MustCompile(`<presence[^>]*to=["']` + room + `/Al["']`))
		c.send(`<presence type='error' from='` + room + `/Al'><error type='auth' by='@@'><registration-required xmlns='` + stanzaNS + `'/></error></presence>`)
		r := <-ch
		if !errors.Is(r.err, protocol.ErrDenied) || !strings.Contains(r.err.Error(), "members-only") {
			t.Errorf("JoinRoom: %v, want ErrDenied for a members-only room", r.err)
		}
	})

	t.Run("no answer", func(t *testing.T) {
		tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		r := <-join(tctx, protocol.RoomJoin{Room: room, Nick: "Al"})
		if !errors.Is(r.err, protocol.ErrTimeout) {
			t.Errorf("JoinRoom: %v, want ErrTimeout", r.err)
		}
		// The client does not stay in a room it gave up on.
		if c.expectRe(regexp.MustCompile(`<presence[^>]*type=["']unavailable["'][^>]*to=["']`+room+`/Al["']|<presence[^>]*to=["']`+room+`/Al["'][^>]*type=["']unavailable["']`)) == nil {
			t.Error("no unavailable presence after the timeout")
		}
	})
}

func TestInfoCapabilities(t *testing.T) {
	info, err := New(nil).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []protocol.Capability{
		protocol.CapLogin, protocol.CapRoster, protocol.CapVCard, protocol.CapPresence, protocol.CapMessage,
		protocol.CapMessageRecv, protocol.CapMUC, protocol.CapDisco, protocol.CapReach, protocol.CapPublishReach,
	} {
		if !info.Has(c) {
			t.Errorf("Info does not declare %q", c)
		}
	}
}

// The XEP-0359 id of a received message: the stanza-id by the account's
// own bare JID (its server's), else the sender's origin-id; a stanza-id
// by anyone else is not trusted (§3).
func TestFakeStableID(t *testing.T) {
	s, c := newFakeSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const sid = "urn:xmpp:sid:0"
	c.send(`<message from='bob@example.test/x' type='chat' id='a'><body>1</body><stanza-id xmlns='` + sid + `' by='alice@example.test' id='S1'/><origin-id xmlns='` + sid + `' id='O1'/></message>` +
		`<message from='bob@example.test/x' type='chat' id='b'><body>2</body><stanza-id xmlns='` + sid + `' by='mallory@example.test' id='S2'/><origin-id xmlns='` + sid + `' id='O2'/></message>` +
		`<message from='bob@example.test/x' type='chat' id='c'><body>3</body><stanza-id xmlns='` + sid + `' by='mallory@example.test' id='S3'/></message>` +
		`<message from='bob@example.test/x' type='chat' id='d'><body>4</body></message>`)
	for _, want := range []string{"S1", "origin:O2", "", ""} {
		m, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.StableID != want {
			t.Errorf("message %s: StableID %q, want %q", m.Body, m.StableID, want)
		}
	}
}

// HistorySince asks for the history since then (XEP-0045 §7.2.13), in
// whole UTC seconds, instead of a count.
func TestFakeJoinRoomHistorySince(t *testing.T) {
	s, c := newFakeSession(t)
	const room = "room@conference.example.test"
	since := time.Date(2026, 12, 7, 13, 4, 5, 900e6, time.FixedZone("CET", 3600))
	ch := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	go func() {
		_, err := s.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "Al", History: 5, HistorySince: since})
		ch <- err
	}()
	m := c.expectRe(regexp.MustCompile(`<presence[^>]*to=["']` + room + `/Al["'][^>]*>.*?</presence>`))
	if m == nil || !regexp.MustCompile(`<history since=["']2026-12-07T12:04:05Z["']`).MatchString(m[0]) || strings.Contains(m[0], "maxstanzas") {
		t.Errorf("join presence %q", m)
	}
	<-ch // no answer: it times out
}
