package protocoltest

import (
	"errors"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// runPresenceExtras tests presence-subscribe and activity-publish, when
// declared, between Good and Peer (a mutual subscription, see Env.Peer).
func runPresenceExtras(t *testing.T, b protocol.IMPP, env Env, info protocol.Info) {
	noPeer := env.Peer.Address == ""

	capTest(t, info, protocol.CapSubscribe, "RequestAndApprove", func(t *testing.T) {
		need(t, protocol.CapSubscribe, "Peer", noPeer)
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		peer := connectIMPP(t, b, env.Peer, "Peer")
		gs, ok := good.(protocol.PresenceSubscriber)
		if !ok {
			t.Fatal("presence-subscribe declared but the session is not a protocol.PresenceSubscriber")
		}
		ps, ok := peer.(protocol.PresenceSubscriber)
		if !ok {
			t.Fatal("presence-subscribe declared but the session is not a protocol.PresenceSubscriber")
		}
		// With the subscription already in place, a new request is answered
		// by the server and an approval is redundant (RFC 6121 §3.1.3,
		// §3.1.5): both must succeed and leave the subscription as it was.
		if err := gs.Subscribe(ctx, env.Peer.Address); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		if err := ps.ApproveSubscription(ctx, env.Good.Address); err != nil {
			t.Fatalf("ApproveSubscription: %v", err)
		}
		if info.Has(protocol.CapRoster) {
			items, err := good.Roster(ctx)
			if err != nil {
				t.Fatalf("Roster: %v", err)
			}
			found := false
			for _, it := range items {
				if strings.EqualFold(it.JID, env.Peer.Address) {
					found = true
					if it.Subscription != "to" && it.Subscription != "both" {
						t.Errorf("Good's subscription to Peer = %q after Subscribe, want to or both", it.Subscription)
					}
				}
			}
			if !found {
				t.Errorf("Peer is not in Good's roster after Subscribe")
			}
		}
		if err := gs.Subscribe(ctx, "not a jid@@"); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("Subscribe(bad JID): %v, want ErrInvalid", err)
		}
	})

	capTest(t, info, protocol.CapActivity, "PublishAndRetract", func(t *testing.T) {
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		ap, ok := good.(protocol.ActivityPublisher)
		if !ok {
			t.Fatal("activity-publish declared but the session is not a protocol.ActivityPublisher")
		}
		// XEP-0108 §3 and §5: publish talking/on_the_phone, then end it.
		if err := ap.PublishActivity(ctx, protocol.Activity{General: "talking", Specific: "on_the_phone", Text: "conformance " + token()}); err != nil {
			t.Fatalf("PublishActivity: %v", err)
		}
		if err := ap.PublishActivity(ctx, protocol.Activity{}); err != nil {
			t.Fatalf("PublishActivity (retract): %v", err)
		}
	})

	capTest(t, info, protocol.CapPresenceView, "SeesPeerWithoutWaiting", func(t *testing.T) {
		need(t, protocol.CapPresenceView, "Peer", noPeer)
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		peer := connectIMPP(t, b, env.Peer, "Peer")
		pv, ok := good.(protocol.PresenceView)
		if !ok {
			t.Fatal("presence-view declared but the session is not a protocol.PresenceView")
		}
		snap, err := pv.KnownPresences(ctx)
		if err != nil {
			t.Fatalf("KnownPresences: %v", err)
		}
		if snap.Online {
			t.Errorf("Online before any presence of Good's own")
		}
		st, err := good.Presences(ctx)
		if err != nil {
			t.Fatalf("Presences: %v", err)
		}
		defer st.Close()
		if err := good.SetPresence(ctx, protocol.Presence{}); err != nil {
			t.Fatalf("SetPresence Good: %v", err)
		}
		status := "view " + token()
		if err := peer.SetPresence(ctx, protocol.Presence{Show: "xa", Status: status}); err != nil {
			t.Fatalf("SetPresence Peer: %v", err)
		}
		// Once the stream has it, the view has it too.
		p := recvMatch(t, st, deliveryWait, "Peer's presence at Good", func(p protocol.Presence) bool {
			return strings.EqualFold(bare(p.From), env.Peer.Address) && p.Status == status
		})
		snap, err = pv.KnownPresences(ctx)
		if err != nil || !snap.Online {
			t.Fatalf("KnownPresences after Good's presence: %+v, %v", snap, err)
		}
		found := false
		for _, q := range snap.Presences {
			if q.From == p.From {
				found = q.Show == "xa" && q.Status == status
			}
		}
		if !found {
			t.Errorf("the view lacks Peer's presence %+v: %+v", p, snap.Presences)
		}
		if err := peer.SetPresence(ctx, protocol.Presence{Type: "unavailable"}); err != nil {
			t.Fatalf("SetPresence Peer unavailable: %v", err)
		}
		recvMatch(t, st, deliveryWait, "Peer's unavailable at Good", func(q protocol.Presence) bool { return q.From == p.From && q.Type == "unavailable" })
		snap, _ = pv.KnownPresences(ctx)
		for _, q := range snap.Presences {
			if q.From == p.From {
				t.Errorf("the view keeps Peer after unavailable: %+v", q)
			}
		}
	})
}
