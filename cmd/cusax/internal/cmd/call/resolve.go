package call

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/callplan"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/dialtarget"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/vcardxml"
)

// resolved is a contact or room target turned into an address to dial.
type resolved struct {
	kind  string // "contact" or "room"
	jid   string
	uri   string // the TEL or audio-video-uri chosen
	phone bool   // uri is a phone number (RFC 7081 §5)
}

// resolveContact finds the contact in the home account's roster and picks
// the number to call from their vCard (RFC 7081 §3.3); a JID outside the
// roster that is a MUC room advertising an audio-video-uri is called at
// that URI (RFC 7081 §4).
func (o *Options) resolveContact(ctx context.Context, home config.Account, t dialtarget.Target) (*resolved, error) {
	if home.XMPP == nil {
		return nil, cmdutil.Usagef("%s looks like a contact, but account %s has no XMPP roster to find it in; give a sip: URI or number", t.Name, home.Name)
	}
	sess, err := o.F.OpenChat(home, o.Timeout)
	if err != nil {
		return nil, err
	}
	defer sess.Shutdown()
	items, err := sess.Roster(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	entries := make([]contacts.Entry, len(items))
	for i, it := range items {
		entries[i] = contacts.Entry{JID: it.JID, Name: it.Name}
	}
	e, rerr := contacts.Resolve(entries, t.Name)
	if rerr != nil || !inRoster(entries, e.JID) {
		// Not a contact: perhaps a room (RFC 7081 §4).
		room := strings.TrimPrefix(t.Name, "xmpp:")
		if strings.Contains(room, "@") {
			if info, err := sess.DiscoInfo(ctx, room, ""); err == nil {
				if av := contacts.RoomAudioVideoURI(info); av != "" {
					if o.Video {
						return nil, cmdutil.Usagef("--video: the room's audio-video-uri carries no TYPE=video (RFC 7081 §3.3)")
					}
					uri, kind := contacts.Normalize(av)
					if kind == contacts.KindOther {
						return nil, fmt.Errorf("room %s advertises %q, which cannot be called: %w", room, av, protocol.ErrInvalid)
					}
					return &resolved{kind: "room", jid: room, uri: uri, phone: kind == contacts.KindPhone}, nil
				}
			}
		}
		if rerr != nil {
			return nil, cmdutil.Usagef("%v", rerr)
		}
		return nil, fmt.Errorf("%s is not in the roster of %s and is not a room with an audio-video-uri: %w", t.Name, home.Name, protocol.ErrNotFound)
	}
	vc, err := sess.VCard(ctx, e.JID)
	if err != nil && !errors.Is(err, protocol.ErrNotFound) {
		return nil, fmt.Errorf("vCard of %s: %w", e.JID, err)
	}
	card, perr := vcardxml.ParseText(vc.Text)
	if perr != nil && vc.Text != "" {
		return nil, fmt.Errorf("vCard of %s: %v: %w", e.JID, perr, protocol.ErrProtocol)
	}
	tel, err := callplan.PickTel(e.JID, card, o.Number, o.Video)
	var amb *callplan.AmbiguousError
	if errors.As(err, &amb) && o.interactive() {
		tel, err = o.askTel(amb)
	}
	if err != nil {
		if errors.Is(err, protocol.ErrInvalid) || errors.As(err, &amb) {
			return nil, cmdutil.Usagef("%v", err)
		}
		return nil, err
	}
	return &resolved{kind: "contact", jid: e.JID, uri: tel.URI, phone: tel.Kind == contacts.KindPhone}, nil
}

func inRoster(entries []contacts.Entry, jid string) bool {
	for _, e := range entries {
		if strings.EqualFold(e.JID, jid) {
			return true
		}
	}
	return false
}

// askTel lets the user pick one of several numbers on a terminal.
func (o *Options) askTel(amb *callplan.AmbiguousError) (contacts.Tel, error) {
	fmt.Fprintf(o.F.IO.ErrOut, "cusax: %s has several numbers:\n", amb.Contact)
	for i, t := range amb.Choices {
		fmt.Fprintf(o.F.IO.ErrOut, "  %d) %s %s\n", i+1, t.URI, strings.Join(t.Types, ","))
	}
	ans, err := cmdutil.Prompt(o.F.IO, "Call which number? ")
	if err != nil {
		return contacts.Tel{}, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(ans))
	if err != nil || n < 1 || n > len(amb.Choices) {
		return contacts.Tel{}, cmdutil.Usagef("%q is not one of 1..%d", strings.TrimSpace(ans), len(amb.Choices))
	}
	return amb.Choices[n-1], nil
}
