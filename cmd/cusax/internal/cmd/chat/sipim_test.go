package chat

import (
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// sipIMEnv has a SIP-only account "sipper" whose chat goes over the
// "sipmessage" plugin, served by the fake with SIP MESSAGE's capabilities.
func sipIMEnv(t *testing.T, extra ...config.Account) *cmdtest.Env {
	cfg := &config.Config{Accounts: append([]config.Account{{Name: "sipper", SIP: &config.SIPAspect{AOR: cmdtest.AliceAOR}}}, extra...)}
	e := cmdtest.New(t, cfg, map[string]string{"sipper/sip": cmdtest.AliceSIPPass, "both/sip": cmdtest.AliceSIPPass, "both/xmpp": cmdtest.AlicePassword}, nil)
	im := e.Service.IMPP(protocol.CapLogin, protocol.CapMessage, protocol.CapMessageRecv)
	im.Name = "sipmessage"
	e.Source.IMPP["sipmessage"] = im
	return e
}

func TestChatOverSIPMessage(t *testing.T) {
	t.Run("SIP-only account sends through sipmessage", func(t *testing.T) {
		e := sipIMEnv(t)
		r := e.Run(newCmd, "--account", "sipper", "bob@example.com", "hi over SIP")
		if r.Err != nil {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		if got := e.Source.Started(); !slices.Equal(got, []string{"impp/sipmessage"}) {
			t.Errorf("started %v, want only impp/sipmessage", got)
		}
		sent := e.Service.Sent()
		if len(sent) != 1 || sent[0].To != cmdtest.BobAOR || sent[0].Body != "hi over SIP" {
			t.Errorf("sent %+v, want one message to %s", sent, cmdtest.BobAOR)
		}
	})
	t.Run("im_over_sip = true moves chat of a two-aspect account", func(t *testing.T) {
		on := true
		e := sipIMEnv(t, config.Account{Name: "both", Related: true, XMPP: &config.XMPPAspect{JID: cmdtest.AliceJID},
			SIP: &config.SIPAspect{AOR: cmdtest.AliceAOR}, Features: config.Features{IMOverSIP: &on}})
		r := e.Run(newCmd, "--account", "both", "sip:bob@example.com", "hi")
		if r.Err != nil {
			t.Fatalf("exit %d: %v", r.Code, r.Err)
		}
		if got := e.Source.Started(); !slices.Equal(got, []string{"impp/sipmessage"}) {
			t.Errorf("started %v, want only impp/sipmessage", got)
		}
	})
	t.Run("a name is no SIP address", func(t *testing.T) {
		e := sipIMEnv(t)
		r := e.Run(newCmd, "--account", "sipper", "Bob", "hi")
		if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "give a SIP address") {
			t.Errorf("exit %d: %v", r.Code, r.Err)
		}
	})
	for name, args := range map[string][]string{
		"rooms":  {"--account", "sipper", "--room", "r@conference.example.com", "hi"},
		"--info": {"--account", "sipper", "--room", "r@conference.example.com", "--info"},
	} {
		t.Run(name+" are refused by name", func(t *testing.T) {
			e := sipIMEnv(t)
			r := e.Run(newCmd, args...)
			if r.Code != cmdutil.ExitUnsupported || !strings.Contains(r.Err.Error(), "not supported by this account's IM backend (sipmessage)") {
				t.Errorf("exit %d: %v", r.Code, r.Err)
			}
			if len(e.Service.Sent()) != 0 {
				t.Errorf("something was sent: %+v", e.Service.Sent())
			}
		})
	}
}

// An account the switches leave without a chat backend: one line, exit
// 17, the fix as a hint, no plugin started.
func TestChatWithoutChatBackend(t *testing.T) {
	on, off := true, false
	for name, a := range map[string]config.Account{
		"im_over_sip = true without SIP":   {Name: "x", XMPP: &config.XMPPAspect{JID: cmdtest.AliceJID}, Features: config.Features{IMOverSIP: &on}},
		"im_over_sip = false without XMPP": {Name: "x", SIP: &config.SIPAspect{AOR: cmdtest.AliceAOR}, Features: config.Features{IMOverSIP: &off}},
	} {
		t.Run(name, func(t *testing.T) {
			e := cmdtest.New(t, &config.Config{Accounts: []config.Account{a}}, map[string]string{"x/sip": "p", "x/xmpp": "p"}, nil)
			r := e.Run(newCmd, "sip:bob@example.com", "hi")
			if r.Code != cmdutil.ExitUnsupported || !strings.Contains(r.Err.Error(), "account x cannot chat") || len(cmdutil.Hints(r.Err)) != 1 {
				t.Errorf("exit %d: %v (hints %q)", r.Code, r.Err, cmdutil.Hints(r.Err))
			}
			if got := e.Source.Started(); len(got) != 0 {
				t.Errorf("started %v", got)
			}
		})
	}
}
