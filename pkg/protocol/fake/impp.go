package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// IMPPCapabilities is what an IMPP backend of the fake declares by default.
var IMPPCapabilities = []protocol.Capability{
	protocol.CapLogin, protocol.CapRoster, protocol.CapVCard, protocol.CapPresence,
	protocol.CapMessage, protocol.CapMessageRecv, protocol.CapMUC, protocol.CapDisco,
	protocol.CapReach, protocol.CapPublishReach, protocol.CapSubscribe, protocol.CapActivity,
	protocol.CapPresenceView,
}

// IMPPBackend is an IMPP backend bound to a Service.
type IMPPBackend struct {
	svc *Service
	// Name is the backend's name in Info and reports ("fake").
	Name string
	// Capabilities declared; the rest answer ErrUnsupported.
	Capabilities []protocol.Capability
	// Report, when set, adjusts each connection report (e.g. to make it
	// cleartext for a parity test).
	Report func(*protocol.ConnectionReport)
}

// IMPP returns an IMPP backend of the service declaring caps (all of
// IMPPCapabilities when none are given).
func (s *Service) IMPP(caps ...protocol.Capability) *IMPPBackend {
	if len(caps) == 0 {
		caps = IMPPCapabilities
	}
	return &IMPPBackend{svc: s, Name: "fake", Capabilities: caps}
}

// Info implements protocol.Describer.
func (b *IMPPBackend) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindIMPP, Name: b.Name, Version: "0.0.0-fake", APIVersion: protocol.APIVersion,
		Capabilities: slices.Clone(b.Capabilities), Description: "in-memory IMPP backend for tests"}, nil
}

// Connect logs in: ErrInvalid for a malformed address, ErrAuth for an
// unknown account or a wrong password, whatever FailConnect set.
func (b *IMPPBackend) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	t0 := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connect: %w", protocol.ErrTimeout)
	}
	a, err := b.svc.login(req)
	if err != nil {
		return nil, err
	}
	res := req.Resource
	if res == "" {
		res = "fake"
	}
	s := &imppSession{
		b: b, acct: a, full: key(a.Address) + "/" + res,
		messages: newStream[protocol.Message](context.Background()), presences: newStream[protocol.Presence](context.Background()),
	}
	s.rep = report(protocol.AspectChat, b.Name, "connected", s.full, time.Since(t0)+time.Microsecond)
	if b.Report != nil {
		b.Report(&s.rep)
	}
	b.svc.mu.Lock()
	k := key(a.Address)
	b.svc.hub[k] = append(b.svc.hub[k], s)
	b.svc.mu.Unlock()
	return s, nil
}

// occupant is one session in a MUC room, by its nick.
type occupant struct{ full, nick string }

type imppSession struct {
	b         *IMPPBackend
	acct      *Account
	full      string
	rep       protocol.ConnectionReport
	messages  *stream[protocol.Message]
	presences *stream[protocol.Presence]
	closeOnce sync.Once
	// online and known: see KnownPresences (guarded by the service's mu).
	online bool
	known  map[string]protocol.Presence
}

func (s *imppSession) has(c protocol.Capability) error {
	if !slices.Contains(s.b.Capabilities, c) {
		return fmt.Errorf("%s: %w", c, protocol.ErrUnsupported)
	}
	return nil
}

func (s *imppSession) Report() protocol.ConnectionReport { return s.rep }

func (s *imppSession) Roster(context.Context) ([]protocol.RosterItem, error) {
	if err := s.has(protocol.CapRoster); err != nil {
		return nil, err
	}
	return slices.Clone(s.acct.Roster), nil
}

func (s *imppSession) VCard(_ context.Context, jid string) (protocol.VCard, error) {
	if err := s.has(protocol.CapVCard); err != nil {
		return protocol.VCard{}, err
	}
	if err := checkText(jid); err != nil {
		return protocol.VCard{}, err
	}
	if jid == "" {
		jid = s.acct.Address
	}
	s.b.svc.mu.Lock()
	a, ok := s.b.svc.accounts[key(jid)]
	s.b.svc.mu.Unlock()
	if !ok || a.VCard == "" {
		return protocol.VCard{}, fmt.Errorf("vcard of %s: %w", jid, protocol.ErrNotFound)
	}
	return protocol.VCard{JID: key(jid), Text: a.VCard, Source: "xep-0292", Fetched: s.b.svc.now()}, nil
}

func (s *imppSession) SetPresence(_ context.Context, p protocol.Presence) error {
	if err := s.has(protocol.CapPresence); err != nil {
		return err
	}
	if err := checkText(p.Status, p.Show, p.Type); err != nil {
		return err
	}
	p.From = s.full
	s.b.svc.mu.Lock()
	s.online = p.Type == "" || p.Type == "available"
	s.b.svc.presences = append(s.b.svc.presences, p)
	var to []string
	for _, it := range s.acct.Roster {
		if it.Subscription == "both" || it.Subscription == "from" {
			to = append(to, it.JID)
		}
	}
	s.b.svc.mu.Unlock()
	for _, jid := range to { // RFC 6121 §4.2.2: to contacts subscribed to us
		s.b.svc.PublishPresence(jid, p)
	}
	return nil
}

func (s *imppSession) Presences(context.Context) (protocol.Stream[protocol.Presence], error) {
	if err := s.has(protocol.CapPresence); err != nil {
		return nil, err
	}
	return s.presences, nil
}

func (s *imppSession) Send(_ context.Context, m protocol.Message) error {
	if err := s.has(protocol.CapMessage); err != nil {
		return err
	}
	if err := checkText(m.To, m.Type, m.Thread, m.ID); err != nil {
		return err
	}
	if m.To == "" || !strings.Contains(m.To, "@") && m.Type != "groupchat" {
		return fmt.Errorf("recipient %q: %w", m.To, protocol.ErrInvalid)
	}
	if m.Type == "" {
		m.Type = "chat"
	}
	m.From = s.full
	s.b.svc.mu.Lock()
	s.b.svc.sent = append(s.b.svc.sent, m)
	occupants := slices.Clone(s.b.svc.rooms[key(m.To)])
	s.b.svc.mu.Unlock()
	if m.Type == "groupchat" {
		i := slices.IndexFunc(occupants, func(o occupant) bool { return o.full == s.full })
		if i < 0 {
			return fmt.Errorf("room %s: not an occupant: %w", m.To, protocol.ErrDenied)
		}
		for _, o := range occupants { // XEP-0045 §7.4: reflected to all, from the room nick
			mm := m
			mm.To, mm.From = o.full, key(m.To)+"/"+occupants[i].nick
			s.b.svc.Deliver(mm)
		}
		return nil
	}
	s.b.svc.Deliver(m)
	return nil
}

func (s *imppSession) Messages(context.Context) (protocol.Stream[protocol.Message], error) {
	if err := s.has(protocol.CapMessageRecv); err != nil {
		return nil, err
	}
	return s.messages, nil
}

func (s *imppSession) JoinRoom(_ context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	if err := s.has(protocol.CapMUC); err != nil {
		return protocol.Room{}, err
	}
	if err := checkText(j.Room, j.Nick); err != nil {
		return protocol.Room{}, err
	}
	if !strings.Contains(j.Room, "@") || j.Nick == "" {
		return protocol.Room{}, fmt.Errorf("room %q nick %q: %w", j.Room, j.Nick, protocol.ErrInvalid)
	}
	s.b.svc.mu.Lock()
	defer s.b.svc.mu.Unlock()
	r := key(j.Room)
	occ := s.b.svc.rooms[r]
	if slices.ContainsFunc(occ, func(o occupant) bool { return o.nick == j.Nick && o.full != s.full }) {
		return protocol.Room{}, fmt.Errorf("room %s: nick %s in use: %w", j.Room, j.Nick, protocol.ErrDenied) // XEP-0045 §7.2.9
	}
	occ = slices.DeleteFunc(occ, func(o occupant) bool { return o.full == s.full })
	occ = append(occ, occupant{full: s.full, nick: j.Nick})
	s.b.svc.rooms[r] = occ
	room := protocol.Room{JID: r + "/" + j.Nick}
	for _, o := range occ {
		room.Occupants = append(room.Occupants, o.nick) // nicks, as the xmpp backend gives them
	}
	return room, nil
}

func (s *imppSession) LeaveRoom(_ context.Context, room string) error {
	if err := s.has(protocol.CapMUC); err != nil {
		return err
	}
	s.b.svc.mu.Lock()
	defer s.b.svc.mu.Unlock()
	r := key(room)
	s.b.svc.rooms[r] = slices.DeleteFunc(s.b.svc.rooms[r], func(o occupant) bool { return o.full == s.full })
	return nil
}

func (s *imppSession) DiscoInfo(_ context.Context, jid, node string) (protocol.DiscoInfo, error) {
	if err := s.has(protocol.CapDisco); err != nil {
		return protocol.DiscoInfo{}, err
	}
	if jid == "" {
		_, jid, _ = strings.Cut(key(s.acct.Address), "@")
	}
	s.b.svc.mu.Lock()
	_, isAccount := s.b.svc.accounts[key(jid)]
	s.b.svc.mu.Unlock()
	if strings.Contains(jid, "@") && !isAccount { // a room (XEP-0045 §6.4)
		return protocol.DiscoInfo{JID: jid, Node: node,
			Identities: []protocol.DiscoIdentity{{Category: "conference", Type: "text", Name: strings.SplitN(jid, "@", 2)[0]}},
			Features:   []string{"http://jabber.org/protocol/muc", "muc_open"}}, nil
	}
	if isAccount { // an account: PEP (XEP-0163 §1)
		return protocol.DiscoInfo{JID: jid, Node: node,
			Identities: []protocol.DiscoIdentity{{Category: "account", Type: "registered"}, {Category: "pubsub", Type: "pep"}},
			Features:   []string{"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/pubsub"}}, nil
	}
	return protocol.DiscoInfo{JID: jid, Node: node,
		Identities: []protocol.DiscoIdentity{{Category: "server", Type: "im", Name: "fake"}},
		Features:   []string{"http://jabber.org/protocol/disco#info", "urn:xmpp:reach:0"}}, nil
}

func (s *imppSession) Reach(_ context.Context, jid string) ([]protocol.ReachAddress, error) {
	if err := s.has(protocol.CapReach); err != nil {
		return nil, err
	}
	if jid == "" {
		jid = s.acct.Address
	}
	s.b.svc.mu.Lock()
	defer s.b.svc.mu.Unlock()
	a, ok := s.b.svc.accounts[key(jid)]
	if !ok {
		return nil, nil
	}
	return slices.Clone(a.Reach), nil
}

func (s *imppSession) PublishReach(_ context.Context, addrs []protocol.ReachAddress) error {
	if err := s.has(protocol.CapPublishReach); err != nil {
		return err
	}
	s.b.svc.mu.Lock()
	defer s.b.svc.mu.Unlock()
	if a, ok := s.b.svc.accounts[key(s.acct.Address)]; ok {
		a.Reach = slices.Clone(addrs)
	}
	return nil
}

// Close logs out; the session's streams end with io.EOF after what they
// hold. It is safe to call more than once.
func (s *imppSession) Close(context.Context) error {
	s.closeOnce.Do(func() {
		svc := s.b.svc
		svc.mu.Lock()
		k := key(s.acct.Address)
		svc.hub[k] = slices.DeleteFunc(svc.hub[k], func(o *imppSession) bool { return o == s })
		for r, occ := range svc.rooms {
			svc.rooms[r] = slices.DeleteFunc(occ, func(o occupant) bool { return o.full == s.full })
		}
		svc.closed++
		svc.mu.Unlock()
		s.messages.Close()
		s.presences.Close()
	})
	return nil
}

var _ protocol.IMPP = (*IMPPBackend)(nil)
