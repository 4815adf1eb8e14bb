package protocoltest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// Bounds of the waits of the positive tests: servers on loopback answer in
// milliseconds; these only keep a broken backend from hanging the suite.
const (
	deliveryWait = 10 * time.Second // a message, presence or call to arrive
	closeWait    = 5 * time.Second  // a session to log out
)

// connectIMPP logs req in and logs out when t ends.
func connectIMPP(t *testing.T, b protocol.IMPP, req protocol.ConnectRequest, who string) protocol.IMPPSession {
	t.Helper()
	return connected(t, who, func(ctx context.Context) (protocol.IMPPSession, error) { return b.Connect(ctx, req) })
}

// connected runs connect and closes the session it gives when t ends.
func connected[S interface{ Close(context.Context) error }](t *testing.T, who string, connect func(context.Context) (S, error)) S {
	t.Helper()
	sess, err := connect(ctxT(t))
	if err != nil {
		t.Fatalf("Connect %s: %v", who, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		_ = sess.Close(ctx)
	})
	return sess
}

// fullJID is the JID a session bound (Report().Address), or req's bare
// address when the backend reports none. Messages go to the full JID so
// that they reach this very session whatever its presence (RFC 6121
// §8.5.3.1: a message to a connected resource is delivered to it).
func fullJID(sess protocol.IMPPSession, req protocol.ConnectRequest) string {
	if a := sess.Report().Address; strings.Contains(a, "/") {
		return a
	}
	return req.Address
}

// runIMPPCapabilities runs a positive test for every capability info
// declares: the capability works against the real server, between Good and
// Peer.
func runIMPPCapabilities(t *testing.T, b protocol.IMPP, env Env, info protocol.Info) {
	noPeer := env.Peer.Address == ""

	capTest(t, info, protocol.CapRoster, "ListsSeededContacts", func(t *testing.T) {
		need(t, protocol.CapRoster, "RosterJIDs", len(env.RosterJIDs) == 0)
		good := connectIMPP(t, b, env.Good, "Good")
		items, err := good.Roster(ctxT(t))
		if err != nil {
			t.Fatalf("Roster: %v", err)
		}
		for _, want := range env.RosterJIDs {
			i := slices.IndexFunc(items, func(it protocol.RosterItem) bool { return strings.EqualFold(it.JID, want) })
			if i < 0 {
				t.Errorf("roster lacks seeded contact %s: %+v", want, items)
				continue
			}
			// RFC 6121 §2.1.2.5: every item has a subscription state.
			if items[i].Subscription == "" {
				t.Errorf("roster item %s has no subscription state", want)
			}
		}
	})

	capTest(t, info, protocol.CapVCard, "ReadsSeededVCard", func(t *testing.T) {
		need(t, protocol.CapVCard, "VCardJID", env.VCardJID == "")
		good := connectIMPP(t, b, env.Good, "Good")
		vc, err := good.VCard(ctxT(t), env.VCardJID)
		if err != nil {
			t.Fatalf("VCard %s: %v", env.VCardJID, err)
		}
		// The contract carries RFC 6350 text.
		if !strings.HasPrefix(vc.Text, "BEGIN:VCARD") || !strings.Contains(vc.Text, "END:VCARD") {
			t.Errorf("VCard text is not an RFC 6350 vCard:\n%s", vc.Text)
		}
		if env.VCardText != "" && !strings.Contains(vc.Text, env.VCardText) {
			t.Errorf("VCard of %s lacks %q:\n%s", env.VCardJID, env.VCardText, vc.Text)
		}
		if vc.Source == "" || vc.Fetched.IsZero() {
			t.Errorf("VCard source/fetched not set: %+v", vc)
		}
	})

	capTest(t, info, protocol.CapVCard, "MissingIsNotFound", func(t *testing.T) {
		good := connectIMPP(t, b, env.Good, "Good")
		// An account that does not exist has no vCard.
		nobody := "nobody-" + token() + "@" + domainOf(env.Good.Address)
		_, err := good.VCard(ctxT(t), nobody)
		wantIs(t, "vCard of "+nobody, err, protocol.ErrNotFound)
	})

	capTest(t, info, protocol.CapPresence, "PeerPresenceSeen", func(t *testing.T) {
		need(t, protocol.CapPresence, "Peer", noPeer)
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		peer := connectIMPP(t, b, env.Peer, "Peer")
		st, err := good.Presences(ctx)
		if err != nil {
			t.Fatalf("Presences: %v", err)
		}
		defer st.Close()
		// Initial presence first: only then does the server send Good the
		// presence of its contacts (RFC 6121 §4.2.2).
		if err := good.SetPresence(ctx, protocol.Presence{}); err != nil {
			t.Fatalf("SetPresence Good: %v", err)
		}
		status := "conformance " + token()
		if err := peer.SetPresence(ctx, protocol.Presence{Show: "away", Status: status}); err != nil {
			t.Fatalf("SetPresence Peer: %v", err)
		}
		p := recvMatch(t, st, deliveryWait, "Peer's presence at Good", func(p protocol.Presence) bool {
			return strings.EqualFold(bare(p.From), env.Peer.Address) && p.Status == status
		})
		if p.Show != "away" || p.Type != "" {
			t.Errorf("Peer's presence = %+v, want available, show away", p)
		}
		// Going offline is broadcast too (RFC 6121 §4.5).
		gone := "gone " + token()
		if err := peer.SetPresence(ctx, protocol.Presence{Type: "unavailable", Status: gone}); err != nil {
			t.Fatalf("SetPresence Peer unavailable: %v", err)
		}
		recvMatch(t, st, deliveryWait, "Peer's unavailable presence at Good", func(p protocol.Presence) bool {
			return strings.EqualFold(bare(p.From), env.Peer.Address) && p.Type == "unavailable"
		})
	})

	// sendAndReceive sends a chat message from one account to the other and,
	// when the backend can receive, checks that it arrives with its body and
	// sender.
	sendAndReceive := func(t *testing.T, fromReq, toReq protocol.ConnectRequest, canReceive bool) {
		ctx := ctxT(t)
		from := connectIMPP(t, b, fromReq, "sender "+fromReq.Address)
		to := connectIMPP(t, b, toReq, "receiver "+toReq.Address)
		var st protocol.Stream[protocol.Message]
		if canReceive {
			var err error
			if st, err = to.Messages(ctx); err != nil {
				t.Fatalf("Messages: %v", err)
			}
			defer st.Close()
		}
		body := "conformance " + token() + " ünïcode"
		if err := from.Send(ctx, protocol.Message{To: fullJID(to, toReq), Type: "chat", Body: body}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if !canReceive {
			t.Logf("%q not declared: sent, receipt not checked", protocol.CapMessageRecv)
			return
		}
		m := recvMatch(t, st, deliveryWait, "the message at "+toReq.Address, func(m protocol.Message) bool { return m.Body == body })
		if !strings.EqualFold(bare(m.From), fromReq.Address) || m.Type != "chat" || m.Time.IsZero() {
			t.Errorf("received %+v, want type chat from %s with a receive time", m, fromReq.Address)
		}
	}

	capTest(t, info, protocol.CapMessage, "GoodToPeer", func(t *testing.T) {
		need(t, protocol.CapMessage, "Peer", noPeer)
		sendAndReceive(t, env.Good, env.Peer, info.Has(protocol.CapMessageRecv))
	})

	capTest(t, info, protocol.CapMessage, "ToBareJIDOfAvailablePeer", func(t *testing.T) {
		need(t, protocol.CapMessage, "Peer", noPeer)
		if !info.Has(protocol.CapPresence) || !info.Has(protocol.CapMessageRecv) {
			t.Skipf("needs %q and %q too: a bare JID reaches only available resources", protocol.CapPresence, protocol.CapMessageRecv)
		}
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		peer := connectIMPP(t, b, env.Peer, "Peer")
		st, err := peer.Messages(ctx)
		if err != nil {
			t.Fatalf("Messages: %v", err)
		}
		defer st.Close()
		// RFC 6121 §8.5.2.1.1: a message to the bare JID goes to the
		// available resources, which initial presence makes Peer's.
		if err := peer.SetPresence(ctx, protocol.Presence{}); err != nil {
			t.Fatalf("SetPresence Peer: %v", err)
		}
		body := "bare " + token()
		if err := good.Send(ctx, protocol.Message{To: bare(env.Peer.Address), Type: "chat", Body: body}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := recvMatch(t, st, deliveryWait, "the message at Peer", func(m protocol.Message) bool { return m.Body == body })
		if !strings.EqualFold(bare(m.From), env.Good.Address) {
			t.Errorf("received %+v, want it from %s", m, env.Good.Address)
		}
	})

	capTest(t, info, protocol.CapMessageRecv, "PeerToGood", func(t *testing.T) {
		need(t, protocol.CapMessageRecv, "Peer", noPeer)
		if !info.Has(protocol.CapMessage) {
			t.Skipf("the peer sends with this backend, which does not declare %q", protocol.CapMessage)
		}
		sendAndReceive(t, env.Peer, env.Good, true)
	})

	capTest(t, info, protocol.CapMUC, "JoinSendReceive", func(t *testing.T) {
		need(t, protocol.CapMUC, "MUCService", env.MUCService == "")
		need(t, protocol.CapMUC, "Peer", noPeer)
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		peer := connectIMPP(t, b, env.Peer, "Peer")
		room := "conf-" + token() + "@" + env.MUCService
		var st protocol.Stream[protocol.Message]
		if info.Has(protocol.CapMessageRecv) {
			var err error
			if st, err = good.Messages(ctx); err != nil {
				t.Fatalf("Messages: %v", err)
			}
			defer st.Close()
		}
		// Good creates the room (XEP-0045 §10.1), Peer joins it.
		if _, err := good.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "good"}); err != nil {
			t.Fatalf("JoinRoom Good: %v", err)
		}
		r, err := peer.JoinRoom(ctx, protocol.RoomJoin{Room: room, Nick: "peer"})
		if err != nil {
			t.Fatalf("JoinRoom Peer: %v", err)
		}
		if !strings.EqualFold(bare(r.JID), room) || !slices.Contains(r.Occupants, "good") || !slices.Contains(r.Occupants, "peer") {
			t.Errorf("Peer joined %+v, want %s with occupants good and peer", r, room)
		}
		if !info.Has(protocol.CapMessage) {
			t.Logf("%q not declared: join checked, room messages not", protocol.CapMessage)
		} else {
			body := "room " + token()
			if err := peer.Send(ctx, protocol.Message{To: room, Type: "groupchat", Body: body}); err != nil {
				t.Fatalf("Send to the room: %v", err)
			}
			if st != nil {
				m := recvMatch(t, st, deliveryWait, "the room message at Good", func(m protocol.Message) bool { return m.Body == body })
				// XEP-0045 §7.4: the room reflects it from room@service/nick.
				if m.Type != "groupchat" || !strings.EqualFold(m.From, room+"/peer") {
					t.Errorf("room message %+v, want groupchat from %s/peer", m, room)
				}
			}
		}
		if err := peer.LeaveRoom(ctx, room); err != nil {
			t.Errorf("LeaveRoom Peer: %v", err)
		}
		if err := good.LeaveRoom(ctx, room); err != nil {
			t.Errorf("LeaveRoom Good: %v", err)
		}
	})

	disco := func(t *testing.T, jid, wantCategory, wantFeature string) {
		good := connectIMPP(t, b, env.Good, "Good")
		di, err := good.DiscoInfo(ctxT(t), jid, "")
		if err != nil {
			t.Fatalf("DiscoInfo %s: %v", jid, err)
		}
		// XEP-0030 §3.1: at least one identity and the features.
		if !slices.ContainsFunc(di.Identities, func(i protocol.DiscoIdentity) bool { return i.Category == wantCategory && i.Type != "" }) {
			t.Errorf("disco#info of %s: identities %+v, want one of category %q", jid, di.Identities, wantCategory)
		}
		if !slices.Contains(di.Features, wantFeature) {
			t.Errorf("disco#info of %s: features %v lack %s", jid, di.Features, wantFeature)
		}
	}
	capTest(t, info, protocol.CapDisco, "ServerInfo", func(t *testing.T) {
		disco(t, domainOf(env.Good.Address), "server", "http://jabber.org/protocol/disco#info")
	})
	capTest(t, info, protocol.CapDisco, "OwnAccountInfo", func(t *testing.T) {
		// XEP-0030 §3.2: the server answers for the account's bare JID
		// (an account identity; Prosody lists the PEP features there,
		// XEP-0163 §4, but not disco#info itself).
		disco(t, bare(env.Good.Address), "account", "http://jabber.org/protocol/pubsub")
	})

	hasURI := func(addrs []protocol.ReachAddress, uri string) bool {
		return slices.ContainsFunc(addrs, func(a protocol.ReachAddress) bool { return a.URI == uri })
	}

	capTest(t, info, protocol.CapReach, "ReadsSeeded", func(t *testing.T) {
		need(t, protocol.CapReach, "ReachJID", env.ReachJID == "" || env.ReachURI == "")
		good := connectIMPP(t, b, env.Good, "Good")
		addrs, err := good.Reach(ctxT(t), env.ReachJID)
		if err != nil {
			t.Fatalf("Reach %s: %v", env.ReachJID, err)
		}
		if !hasURI(addrs, env.ReachURI) {
			t.Errorf("Reach %s = %+v, want %s", env.ReachJID, addrs, env.ReachURI)
		}
	})

	capTest(t, info, protocol.CapPublishReach, "PublishThenReadBack", func(t *testing.T) {
		ctx := ctxT(t)
		good := connectIMPP(t, b, env.Good, "Good")
		uri := "sip:conf-" + token() + "@" + domainOf(env.Good.Address)
		if err := good.PublishReach(ctx, []protocol.ReachAddress{{URI: uri, Desc: "conformance"}}); err != nil {
			t.Fatalf("PublishReach: %v", err)
		}
		if !info.Has(protocol.CapReach) {
			t.Logf("%q not declared: published, not read back", protocol.CapReach)
			return
		}
		addrs, err := good.Reach(ctx, bare(env.Good.Address))
		if err != nil {
			t.Fatalf("Reach own: %v", err)
		}
		if !hasURI(addrs, uri) {
			t.Errorf("own Reach after publishing %s = %+v", uri, addrs)
		}
		// XEP-0152 §2: a contact with a presence subscription reads it too.
		if noPeer {
			return
		}
		peer := connectIMPP(t, b, env.Peer, "Peer")
		addrs, err = peer.Reach(ctx, bare(env.Good.Address))
		if err != nil {
			t.Fatalf("Reach of Good by Peer: %v", err)
		}
		if !hasURI(addrs, uri) {
			t.Errorf("Peer reads Good's reach = %+v, want %s", addrs, uri)
		}
	})
}
