package xmpp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// rosterSub is contact's subscription state in s's roster ("" when absent).
func rosterSub(t *testing.T, s protocol.IMPPSession, contact string) string {
	t.Helper()
	items, err := s.Roster(testCtx(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.JID == contact {
			return it.Subscription
		}
	}
	return ""
}

// RFC 6121 §3.1: a subscription request reaches the contact as a
// presence of type subscribe; the contact's approval makes the request
// "to" in the requester's roster and "from" in the contact's, and the
// contact's presence then reaches the requester.
func TestSubscribeApproveProsody(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "sone", "stwo")
	one, two := u[0], u[1]
	ctx := testCtx(t, 15*time.Second)
	s1 := f.connect(t, f.req(one))
	s2 := f.connect(t, f.req(two))
	ps2, err := s2.Presences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ps2.Close()
	if err := s2.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	ps1, err := s1.Presences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ps1.Close()
	if err := s1.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	if !(protocol.Info{Capabilities: capabilities}).Has(protocol.CapSubscribe) {
		t.Fatal("the backend does not declare presence-subscribe")
	}
	if err := s1.(protocol.PresenceSubscriber).Subscribe(ctx, f.bed.JID(two)+"/ignored"); err != nil {
		t.Fatal(err)
	}
	req := recvUntil(t, ps2, func(p protocol.Presence) bool { return p.Type == "subscribe" })
	if req.From != f.bed.JID(one) {
		t.Errorf("subscribe from %q, want the bare %q", req.From, f.bed.JID(one))
	}
	if err := s2.(protocol.PresenceSubscriber).ApproveSubscription(ctx, f.bed.JID(one)); err != nil {
		t.Fatal(err)
	}
	// §3.1.6: the contact's server sends its current presence after the
	// approval (Prosody does not forward the "subscribed" itself to an
	// available requester before it: only the roster push and the presence).
	from2 := f.bed.JID(two) + "/"
	recvUntil(t, ps1, func(p protocol.Presence) bool { return p.Type == "" && strings.HasPrefix(p.From, from2) })
	if got := rosterSub(t, s1, f.bed.JID(two)); got != "to" {
		t.Errorf("requester's roster: subscription %q, want to", got)
	}
	if got := rosterSub(t, s2, f.bed.JID(one)); got != "from" {
		t.Errorf("contact's roster: subscription %q, want from", got)
	}
	for _, bad := range []string{"", "@", "a@b@c", f.bed.JID(one)} {
		if err := s1.(protocol.PresenceSubscriber).Subscribe(ctx, bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("Subscribe(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

// XEP-0108 over PEP: a published activity is readable by a subscribed
// contact; an empty <activity/> ends it (§5).
func TestActivityProsody(t *testing.T) {
	f := newFixture(t)
	u := f.newUsers(t, "aone", "atwo")
	one, two := u[0], u[1]
	ctx := testCtx(t, 15*time.Second)
	s1 := f.connect(t, f.req(one))
	s2 := f.connect(t, f.req(two))
	// two subscribes to one's presence, which the presence access model asks.
	ps1, err := s1.Presences(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ps1.Close()
	if err := s1.SetPresence(ctx, protocol.Presence{}); err != nil {
		t.Fatal(err)
	}
	if err := s2.(protocol.PresenceSubscriber).Subscribe(ctx, f.bed.JID(one)); err != nil {
		t.Fatal(err)
	}
	recvUntil(t, ps1, func(p protocol.Presence) bool { return p.Type == "subscribe" })
	if err := s1.(protocol.PresenceSubscriber).ApproveSubscription(ctx, f.bed.JID(two)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rosterSub(t, s2, f.bed.JID(one)) != "to" {
		if time.Now().After(deadline) {
			t.Fatal("subscription not established within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	act := protocol.Activity{General: "talking", Specific: "on_the_phone", Text: "on the phone"}
	if err := s1.(protocol.ActivityPublisher).PublishActivity(ctx, act); err != nil {
		t.Fatal(err)
	}
	reader := s2.(interface {
		Activity(context.Context, string) (protocol.Activity, error)
	})
	got, err := reader.Activity(ctx, f.bed.JID(one))
	if err != nil || got != act {
		t.Errorf("activity read by the contact = %+v, %v; want %+v", got, err, act)
	}
	if err := s1.(protocol.ActivityPublisher).PublishActivity(ctx, protocol.Activity{}); err != nil {
		t.Fatal(err)
	}
	if got, err := reader.Activity(ctx, f.bed.JID(one)); err != nil || got != (protocol.Activity{}) {
		t.Errorf("activity after the retraction = %+v, %v; want none", got, err)
	}
	for _, bad := range []protocol.Activity{{General: "dancing"}, {Specific: "on_the_phone"}, {General: "talking", Specific: "<x>"}} {
		if err := s1.(protocol.ActivityPublisher).PublishActivity(ctx, bad); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("PublishActivity(%+v): %v, want ErrInvalid", bad, err)
		}
	}
}
