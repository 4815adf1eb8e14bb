package callplan

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/dialtarget"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/vcardxml"
)

// contact is a contact or room target turned into an address to dial.
type contact struct {
	kind  string // "contact" or "room"
	jid   string
	uri   string // the TEL or audio-video-uri chosen
	phone bool   // uri is a phone number (RFC 7081 §5)
}

// resolveContact finds the contact in the home account's roster and picks
// the number to call from their vCard (RFC 7081 §3.3); a JID outside the
// roster that is a MUC room advertising an audio-video-uri is called at
// that URI (RFC 7081 §4).
func (pl *Planner) resolveContact(ctx context.Context, home config.Account, t dialtarget.Target, req Request) (*contact, error) {
	if home.XMPP == nil {
		return nil, inputf("%s looks like a contact, but account %s has no XMPP roster to find it in; give a sip: URI or number", t.Name, home.Name)
	}
	if pl.Contacts == nil {
		return nil, fmt.Errorf("%s looks like a contact, but no roster is available: %w", t.Name, protocol.ErrUnsupported)
	}
	dir, closeDir, err := pl.Contacts(ctx, home)
	if err != nil {
		return nil, err
	}
	if closeDir != nil {
		defer closeDir()
	}
	items, err := dir.Roster(ctx)
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
			if info, err := dir.DiscoInfo(ctx, room, ""); err == nil {
				if av := contacts.RoomAudioVideoURI(info); av != "" {
					if req.Video {
						return nil, inputf("--video: the room's audio-video-uri carries no TYPE=video (RFC 7081 §3.3)")
					}
					uri, kind := contacts.Normalize(av)
					if kind == contacts.KindOther {
						return nil, fmt.Errorf("room %s advertises %q, which cannot be called: %w", room, av, protocol.ErrInvalid)
					}
					return &contact{kind: "room", jid: room, uri: uri, phone: kind == contacts.KindPhone}, nil
				}
			}
		}
		if rerr != nil {
			return nil, inputf("%v", rerr)
		}
		return nil, fmt.Errorf("%s is not in the roster of %s and is not a room with an audio-video-uri: %w", t.Name, home.Name, protocol.ErrNotFound)
	}
	vc, err := dir.VCard(ctx, e.JID)
	if err != nil && !errors.Is(err, protocol.ErrNotFound) {
		return nil, fmt.Errorf("vCard of %s: %w", e.JID, err)
	}
	card, perr := vcardxml.ParseText(vc.Text)
	if perr != nil && vc.Text != "" {
		return nil, fmt.Errorf("vCard of %s: %v: %w", e.JID, perr, protocol.ErrProtocol)
	}
	tel, err := PickTel(e.JID, card, req.Number, req.Video)
	var amb *AmbiguousError
	if errors.As(err, &amb) && canPrompt(pl.Prompter) {
		tel, err = pl.askTel(ctx, amb)
	}
	if err != nil {
		if errors.Is(err, protocol.ErrInvalid) || errors.As(err, &amb) {
			// Off a terminal the error lists the numbers (--number N).
			return nil, inputf("%w", err)
		}
		return nil, err
	}
	return &contact{kind: "contact", jid: e.JID, uri: tel.URI, phone: tel.Kind == contacts.KindPhone}, nil
}

func inRoster(entries []contacts.Entry, jid string) bool {
	for _, e := range entries {
		if strings.EqualFold(e.JID, jid) {
			return true
		}
	}
	return false
}

// askTel lets the user pick one of several numbers.
func (pl *Planner) askTel(ctx context.Context, amb *AmbiguousError) (contacts.Tel, error) {
	q := Question{Note: amb.Contact + " has several numbers:", Prompt: "Call which number? "}
	for _, t := range amb.Choices {
		q.Choices = append(q.Choices, t.URI+" "+strings.Join(t.Types, ","))
	}
	ans, err := pl.Prompter.Ask(ctx, q)
	if err != nil {
		return contacts.Tel{}, err
	}
	ans = strings.TrimSpace(ans)
	n, err := strconv.Atoi(ans)
	if err != nil || n < 1 || n > len(amb.Choices) {
		return contacts.Tel{}, inputf("%q is not one of 1..%d", ans, len(amb.Choices))
	}
	return amb.Choices[n-1], nil
}
