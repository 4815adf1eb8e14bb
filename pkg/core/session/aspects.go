package session

import (
	"fmt"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// DefaultSIPIMBackend is the IMPP plugin that carries chat over SIP when an
// account's [account.sip] names none: SIP MESSAGE (RFC 3428).
const DefaultSIPIMBackend = "sipmessage"

// Serving says which backend serves each aspect of an account once the
// RFC 7081 §2 switches are applied, and the switches' effective values.
type Serving struct {
	// Chat is the IMPP plugin that `chat` uses; "" when the account
	// cannot chat (ChatUnavailable says why).
	Chat string `json:"chat,omitempty"`
	// ChatOverSIP: chat goes over the SIP aspect (im_over_sip = true, or
	// no XMPP aspect), with the account's SIP address and password.
	ChatOverSIP     bool   `json:"chat_over_sip"`
	ChatUnavailable string `json:"chat_unavailable,omitempty"`
	// Roster is the IMPP plugin that serves the roster, vCards, presence
	// and rooms: the XMPP one; "" for an account without XMPP.
	Roster string `json:"roster,omitempty"`
	// Telephony is the telephony plugin; "" without a SIP aspect.
	Telephony string `json:"telephony,omitempty"`
	// IMOverSIP and CallsOverXMPP are the switches' effective values
	// (set, or the RFC 7081 §2 default: off for related accounts).
	IMOverSIP     bool `json:"im_over_sip"`
	CallsOverXMPP bool `json:"calls_over_xmpp"`
	// CallsOverXMPPSet: calls_over_xmpp = true is in the config, which no
	// backend can honour (CallsOverXMPPError).
	CallsOverXMPPSet bool `json:"-"`
}

// Serve applies the RFC 7081 §2 switches to a. Chat goes over SIP when
// im_over_sip = true (and there is a SIP aspect), or when the account has
// SIP and no XMPP and IM over SIP is not switched off; otherwise over
// XMPP. Roster, vCards, presence and rooms exist only over XMPP.
func Serve(a config.Account) Serving {
	imppName, tel := BackendNames(a)
	sv := Serving{
		Roster: imppName, Telephony: tel,
		IMOverSIP:        a.Features.IMOverSIPEnabled(a.Related),
		CallsOverXMPP:    a.Features.CallsOverXMPPEnabled(a.Related),
		CallsOverXMPPSet: a.Features.CallsOverXMPP != nil && *a.Features.CallsOverXMPP,
	}
	explicit := a.Features.IMOverSIP != nil && *a.Features.IMOverSIP
	switch {
	case explicit && a.SIP == nil:
		sv.ChatUnavailable = "im_over_sip = true, but the account has no SIP aspect"
	case explicit || (a.XMPP == nil && a.SIP != nil && sv.IMOverSIP):
		sv.Chat, sv.ChatOverSIP = a.SIP.IMBackend, true
		if sv.Chat == "" {
			sv.Chat = DefaultSIPIMBackend
		}
	case a.XMPP != nil:
		sv.Chat = imppName
	default:
		sv.ChatUnavailable = "the account has no XMPP aspect and im_over_sip = false"
	}
	if !sv.CallsOverXMPPSet {
		// Effective only where a backend could place the call: no
		// backend calls over XMPP (Jingle), so it is off unless asked for.
		sv.CallsOverXMPP = false
	}
	return sv
}

// ErrCallsOverXMPP is returned when calls_over_xmpp = true: no backend of
// cusax places calls over XMPP (Jingle, XEP-0166/XEP-0167), so the switch
// cannot be honoured, and saying so beats ignoring it.
var ErrCallsOverXMPP = fmt.Errorf("calls_over_xmpp = true, but no installed backend can place calls over XMPP (Jingle, XEP-0166/0167): %w", protocol.ErrUnsupported)

// ErrNoChat: no backend can carry the account's chat as its aspects and
// switches stand (Serving.ChatUnavailable says why).
var ErrNoChat = fmt.Errorf("no chat backend for this account: %w", protocol.ErrUnsupported)

// CallsOverXMPPError is ErrCallsOverXMPP for a when it sets the switch,
// else nil.
func CallsOverXMPPError(a config.Account) error {
	if Serve(a).CallsOverXMPPSet {
		return &switchError{err: fmt.Errorf("account %s: %w", a.Name, ErrCallsOverXMPP),
			hint: "remove calls_over_xmpp from [account.features] of account " + a.Name + " (or set it to false): calls then go over SIP"}
	}
	return nil
}

// switchError carries the fix, shown as "cusax: hint: …".
type switchError struct {
	err  error
	hint string
}

func (e *switchError) Error() string   { return e.err.Error() }
func (e *switchError) Unwrap() error   { return e.err }
func (e *switchError) Hints() []string { return []string{e.hint} }
