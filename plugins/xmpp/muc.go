package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/cusax/cusax/pkg/protocol"
)

// XEP-0045 namespaces.
const (
	nsMUC      = "http://jabber.org/protocol/muc"
	nsMUCUser  = "http://jabber.org/protocol/muc#user"
	nsMUCOwner = "http://jabber.org/protocol/muc#owner"
)

// XEP-0045 status codes used here (§12 lists them all).
const (
	statusSelf       = 110 // this presence is about the occupant itself
	statusCreated    = 201 // a new room was created
	statusNickChange = 303 // the occupant changed nick (unavailable + new presence)
)

// subjectWait bounds how long JoinRoom waits, after the self-presence, for
// the room subject that XEP-0045 §7.2.15 says must follow the history.
const subjectWait = time.Second

// maxOccupants bounds the occupant list kept per room.
const maxOccupants = 10000

// JoinRoom enters a MUC room (XEP-0045 §7.2) as j.Nick, with j.Password
// for a password-protected room and j.History messages of history
// (maxstanzas, §7.2.13; 0 = none), or those since j.HistorySince when set
// (whole seconds, rounded down). It returns once the room sent our own
// presence (status 110, §7.2.2) — Room.JID is room@service/nick as the
// room assigned it, which can differ from the requested nick (status
// 210) — and the subject (§7.2.15; waited for at most subjectWait).
// Occupants lists the nicks present, ours included. A room that did not
// exist is created (status 201) and made an instant room (§10.1.2) so
// that others can join. Room messages, including the echo of our own
// (From = Room.JID), arrive on Messages streams; occupants' presence on
// Presences streams.
//
// Errors wrap a sentinel and name the condition: ErrDenied for
// not-authorized (password missing or wrong, §7.2.5), forbidden (banned,
// §7.2.7), registration-required (members-only, §7.2.6), conflict (nick in
// use, §7.2.8) and not-allowed (no room creation, §10.1.1); ErrNotFound for
// item-not-found (locked or missing room, §7.2.10, §7.2.11) and
// service-unavailable (room full, §7.2.9, or no MUC service); ErrInvalid for a bad room or nick;
// ErrTimeout; ErrProtocol otherwise. Joining a room already joined returns
// its current state.
func (ss *session) JoinRoom(ctx context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	if err := ss.alive(); err != nil {
		return protocol.Room{}, err
	}
	roomJID, err := jid.Parse(j.Room)
	switch {
	case err != nil:
		return protocol.Room{}, fmt.Errorf("xmpp join: room %q: %v: %w", j.Room, err, protocol.ErrInvalid)
	case roomJID.Localpart() == "" || roomJID.Resourcepart() != "":
		return protocol.Room{}, fmt.Errorf("xmpp join: room %q: want a bare room JID room@service: %w", j.Room, protocol.ErrInvalid)
	case j.History < 0:
		return protocol.Room{}, fmt.Errorf("xmpp join: history %d: want 0 or more: %w", j.History, protocol.ErrInvalid)
	}
	occJID, err := jid.New(roomJID.Localpart(), roomJID.Domainpart(), j.Nick)
	if err != nil || j.Nick == "" {
		return protocol.Room{}, fmt.Errorf("xmpp join %s: nick %q: %v: %w", roomJID, j.Nick, err, protocol.ErrInvalid)
	}
	r, existing, err := ss.rooms.start(occJID)
	if err != nil {
		return protocol.Room{}, fmt.Errorf("xmpp join %s: %w", roomJID, err)
	}
	if existing {
		return r.state(), nil
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()

	// XEP-0045 §7.2.1: directed presence with the MUC extension; §7.2.13
	// history; §7.2.5 password (never logged).
	hist := []xml.Attr{{Name: xml.Name{Local: "maxstanzas"}, Value: strconv.Itoa(j.History)}}
	if !j.HistorySince.IsZero() {
		// The messages since then, however many (XEP-0082 date-time).
		hist = []xml.Attr{{Name: xml.Name{Local: "since"}, Value: j.HistorySince.UTC().Format("2006-01-02T15:04:05Z")}}
	}
	x := []xml.TokenReader{xmlstream.Wrap(nil, xml.StartElement{
		Name: xml.Name{Local: "history"},
		Attr: hist,
	})}
	if j.Password != "" {
		x = append(x, textElem("", "password", j.Password))
	}
	join := stanza.Presence{To: occJID}.Wrap(xmlstream.Wrap(xmlstream.MultiReader(x...),
		xml.StartElement{Name: xml.Name{Space: nsMUC, Local: "x"}}))
	ss.log.Debug("joining room", "room", roomJID.String(), "nick", j.Nick, "history", j.History)
	if err := ss.s.Send(writeCtx(ctx), join); err != nil {
		ss.rooms.remove(r)
		return protocol.Room{}, fmt.Errorf("xmpp join %s: %w", roomJID, ss.requestError(ctx, err))
	}

	select {
	case <-r.joinDone:
	case <-ctx.Done():
		ss.rooms.remove(r)
		// Do not stay in a room nobody waits for.
		lctx, lcancel := context.WithTimeout(context.Background(), closeTimeout)
		_ = ss.s.Send(writeCtx(lctx), stanza.Presence{To: occJID, Type: stanza.UnavailablePresence}.Wrap(nil))
		lcancel()
		return protocol.Room{}, fmt.Errorf("xmpp join %s: %w", roomJID, ss.requestError(ctx, ctx.Err()))
	}
	created, err := r.result()
	if err != nil {
		ss.rooms.remove(r)
		return protocol.Room{}, fmt.Errorf("xmpp join %s: %w", roomJID, err)
	}
	if created {
		// XEP-0045 §10.1.2: accept the default configuration ("instant
		// room"), which unlocks the room for others.
		q := xmlstream.Wrap(
			xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsData, Local: "x"}, Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: "submit"}}}),
			xml.StartElement{Name: xml.Name{Space: nsMUCOwner, Local: "query"}},
		)
		if _, err := ss.sendIQ(ctx, stanza.SetIQ, roomJID, q, maxIQSize); err != nil {
			ss.log.Warn("created room not unlocked", "room", roomJID.String(), "error", err)
		}
	}
	wait := time.NewTimer(subjectWait)
	defer wait.Stop()
	select {
	case <-r.subjectSeen:
	case <-wait.C:
	case <-ctx.Done():
	}
	room := r.state()
	ss.log.Debug("joined room", "room", room.JID, "occupants", len(room.Occupants), "created", created)
	return room, nil
}

// LeaveRoom exits a room entered with JoinRoom (XEP-0045 §7.14) and waits
// for the room to confirm. Errors: ErrInvalid for a bad room JID,
// ErrNotFound when the room was not joined, ErrTimeout, ErrNotConnected.
func (ss *session) LeaveRoom(ctx context.Context, room string) error {
	if err := ss.alive(); err != nil {
		return err
	}
	roomJID, err := jid.Parse(room)
	if err != nil {
		return fmt.Errorf("xmpp leave: room %q: %v: %w", room, err, protocol.ErrInvalid)
	}
	r := ss.rooms.get(roomJID.Bare())
	if r == nil {
		return fmt.Errorf("xmpp leave %s: not joined: %w", roomJID.Bare(), protocol.ErrNotFound)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	occ := r.state().JID
	to, _ := jid.Parse(occ)
	if err := ss.s.Send(writeCtx(ctx), stanza.Presence{To: to, Type: stanza.UnavailablePresence}.Wrap(nil)); err != nil {
		return fmt.Errorf("xmpp leave %s: %w", roomJID.Bare(), ss.requestError(ctx, err))
	}
	defer ss.rooms.remove(r)
	select {
	case <-r.left:
		ss.log.Debug("left room", "room", roomJID.Bare().String())
		return nil
	case <-ctx.Done():
		return fmt.Errorf("xmpp leave %s: %w", roomJID.Bare(), ss.requestError(ctx, ctx.Err()))
	}
}

// joinError classifies a join error presence (XEP-0045 §7.2).
func joinError(se stanza.Error) error {
	why := map[stanza.Condition]string{
		stanza.NotAuthorized:        "password required or wrong",
		stanza.Forbidden:            "banned from the room",
		stanza.RegistrationRequired: "members-only room, not a member",
		stanza.Conflict:             "nickname in use",
		stanza.NotAllowed:           "room creation not allowed",
		stanza.ItemNotFound:         "room locked or does not exist",
		stanza.ServiceUnavailable:   "room full or no MUC service",
		stanza.JIDMalformed:         "nickname refused",
	}[se.Condition]
	desc := describeStanzaError(se)
	if why != "" {
		desc = why + ": " + desc
	}
	switch se.Condition {
	case stanza.Conflict:
		return fmt.Errorf("%s: %w", desc, protocol.ErrDenied)
	case stanza.JIDMalformed:
		return fmt.Errorf("%s: %w", desc, protocol.ErrInvalid)
	}
	// Same classes as any stanza error (stanzaError), with our wording.
	return fmt.Errorf("%s: %w", desc, errors.Unwrap(stanzaError(se)))
}

// rooms tracks the rooms being joined or joined, by bare room JID. It is
// fed by the Serve loop (presence, subject) and never blocks it.
type rooms struct {
	mu sync.Mutex
	m  map[string]*room
}

// room is one room's state.
type room struct {
	bare        string
	joinDone    chan struct{} // closed when the join succeeded or failed
	subjectSeen chan struct{} // closed at the first subject
	left        chan struct{} // closed when our unavailable presence came back

	mu        sync.Mutex // guards what follows
	occupant  jid.JID    // room@service/nick, as the room knows us
	joined    bool
	joinErr   error
	created   bool
	hasSubj   bool
	isLeft    bool
	subject   string
	occupants map[string]bool
}

// start registers a join of occ, or returns the room when it is joined
// already (existing). A join in progress is ErrInvalid.
func (rs *rooms) start(occ jid.JID) (*room, bool, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	bare := occ.Bare().String()
	if r := rs.m[bare]; r != nil {
		r.mu.Lock()
		joined, left := r.joined, r.isLeft
		r.mu.Unlock()
		switch {
		case !joined:
			return nil, false, fmt.Errorf("a join is in progress: %w", protocol.ErrInvalid)
		case !left:
			return r, true, nil
		}
		// Left (kicked, or a LeaveRoom under way): join afresh.
	}
	if rs.m == nil {
		rs.m = map[string]*room{}
	}
	r := &room{
		bare: bare, occupant: occ, occupants: map[string]bool{},
		joinDone: make(chan struct{}), subjectSeen: make(chan struct{}), left: make(chan struct{}),
	}
	rs.m[bare] = r
	return r, false, nil
}

func (rs *rooms) get(bare jid.JID) *room {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.m[bare.String()]
}

func (rs *rooms) remove(r *room) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.m[r.bare] == r {
		delete(rs.m, r.bare)
	}
}

// state returns the room as protocol.Room.
func (r *room) state() protocol.Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	occ := make([]string, 0, len(r.occupants))
	for n := range r.occupants {
		occ = append(occ, n)
	}
	slices.Sort(occ)
	return protocol.Room{JID: r.occupant.String(), Subject: r.subject, Occupants: occ}
}

// result returns how the join ended (after joinDone).
func (r *room) result() (created bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.created, r.joinErr
}

// presence updates the room from presence stanzas (XEP-0045 §7.2.1,
// §7.2.2, §7.6, §7.14).
func (rs *rooms) presence(from jid.JID, typ string, e *elem) {
	rs.mu.Lock()
	r := rs.m[from.Bare().String()]
	rs.mu.Unlock()
	if r == nil {
		return
	}
	x := e.child(nsMUCUser, "x")
	var self, created, renamed bool
	for _, s := range x.all(nsMUCUser, "status") {
		switch s.attr("code") {
		case strconv.Itoa(statusSelf):
			self = true
		case strconv.Itoa(statusCreated):
			created = true
		case strconv.Itoa(statusNickChange):
			renamed = true
		}
	}
	if typ == string(stanza.UnavailablePresence) && renamed {
		// §7.6: the old nick leaves, the new one arrives next.
		self = false
	}
	if rs.update(r, from, typ, e, self, created, x == nil) {
		// We are out of the room (kicked, banned, destroyed, or left):
		// forget it, so that JoinRoom starts afresh.
		rs.remove(r)
	}
}

// update applies one presence to r and reports whether it removed us.
// noMUCUser: the presence has no muc#user extension at all.
func (rs *rooms) update(r *room, from jid.JID, typ string, e *elem, self, created, noMUCUser bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !self && noMUCUser && from.Equal(r.occupant) && typ != string(stanza.ErrorPresence) {
		// A service too old for status 110 (XEP-0045 §7.2.2 requires it).
		self = true
	}
	nick := from.Resourcepart()
	switch stanza.PresenceType(typ) {
	case stanza.ErrorPresence:
		if !r.joined && r.joinErr == nil {
			r.joinErr = joinError(parseStanzaError(e.child(stanza.NSClient, "error")))
			close(r.joinDone)
		}
	case "":
		if nick != "" && len(r.occupants) < maxOccupants {
			r.occupants[nick] = true
		}
		if self && r.joinErr == nil {
			r.occupant = from // the room may have changed our nick (status 210, 303)
			if !r.joined {
				r.joined, r.created = true, created
				close(r.joinDone)
			}
		}
	case stanza.UnavailablePresence:
		delete(r.occupants, nick)
		if !self {
			return false
		}
		if !r.joined && r.joinErr == nil {
			r.joinErr = fmt.Errorf("the room removed us while joining: %w", protocol.ErrDenied)
			close(r.joinDone)
		}
		if !r.isLeft {
			r.isLeft = true
			close(r.left)
		}
		return true
	}
	return false
}

// subject records a room subject (XEP-0045 §8.1) sent by the room or an
// occupant.
func (rs *rooms) subject(from jid.JID, subject string) {
	rs.mu.Lock()
	r := rs.m[from.Bare().String()]
	rs.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subject = subject
	if !r.hasSubj {
		r.hasSubj = true
		close(r.subjectSeen)
	}
}

// failAll ends pending joins and leaves with err (the session ended).
func (rs *rooms) failAll(err error) {
	rs.mu.Lock()
	all := make([]*room, 0, len(rs.m))
	for _, r := range rs.m {
		all = append(all, r)
	}
	rs.mu.Unlock()
	for _, r := range all {
		r.mu.Lock()
		if !r.joined && r.joinErr == nil {
			r.joinErr = err
			close(r.joinDone)
		}
		if !r.isLeft {
			r.isLeft = true
			close(r.left)
		}
		r.mu.Unlock()
	}
}
