package session

import (
	"errors"
	"testing"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

func TestServeAppliesTheRFC7081Switches(t *testing.T) {
	on, off := true, false
	x := &config.XMPPAspect{JID: "a@example.com"}
	s := &config.SIPAspect{AOR: "sip:a@example.com"}
	cases := []struct {
		name                string
		a                   config.Account
		chat, roster, tel   string
		overSIP, imOverSIP  bool
		unavailable, callsX bool
	}{
		{name: "related, both aspects: chat over XMPP", a: config.Account{Related: true, XMPP: x, SIP: s},
			chat: "xmpp", roster: "xmpp", tel: "sip"},
		{name: "unrelated, both: IM over SIP allowed, XMPP still chosen", a: config.Account{XMPP: x, SIP: s},
			chat: "xmpp", roster: "xmpp", tel: "sip", imOverSIP: true},
		{name: "im_over_sip = true: chat over SIP MESSAGE, roster on XMPP", a: config.Account{Related: true, XMPP: x, SIP: s, Features: config.Features{IMOverSIP: &on}},
			chat: "sipmessage", roster: "xmpp", tel: "sip", overSIP: true, imOverSIP: true},
		{name: "SIP only: chat over SIP MESSAGE", a: config.Account{SIP: s},
			chat: "sipmessage", tel: "sip", overSIP: true, imOverSIP: true},
		{name: "SIP only, im_over_sip = false: no chat", a: config.Account{SIP: s, Features: config.Features{IMOverSIP: &off}},
			tel: "sip", unavailable: true},
		{name: "im_over_sip = true without SIP: no chat", a: config.Account{XMPP: x, Features: config.Features{IMOverSIP: &on}},
			roster: "xmpp", imOverSIP: true, unavailable: true},
		{name: "backends named", a: config.Account{XMPP: &config.XMPPAspect{JID: "a@b.c", Backend: "tmpl"},
			SIP: &config.SIPAspect{AOR: "sip:a@b.c", Backend: "baresip", IMBackend: "other"}, Features: config.Features{IMOverSIP: &on}},
			chat: "other", roster: "tmpl", tel: "baresip", overSIP: true, imOverSIP: true},
		{name: "calls_over_xmpp = true", a: config.Account{XMPP: x, SIP: s, Related: true, Features: config.Features{CallsOverXMPP: &on}},
			chat: "xmpp", roster: "xmpp", tel: "sip", callsX: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.a.Name = "acct"
			sv := Serve(c.a)
			if sv.Chat != c.chat || sv.Roster != c.roster || sv.Telephony != c.tel || sv.ChatOverSIP != c.overSIP ||
				sv.IMOverSIP != c.imOverSIP || (sv.ChatUnavailable != "") != c.unavailable || sv.CallsOverXMPP != c.callsX {
				t.Errorf("Serve = %+v", sv)
			}
			err := CallsOverXMPPError(c.a)
			if (err != nil) != c.callsX || (err != nil && (!errors.Is(err, ErrCallsOverXMPP) || !errors.Is(err, protocol.ErrUnsupported))) {
				t.Errorf("CallsOverXMPPError = %v", err)
			}
		})
	}
}
