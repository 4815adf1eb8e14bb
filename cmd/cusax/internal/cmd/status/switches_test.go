package status

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// status shows the backend of each aspect and the effective RFC 7081 §2
// switches, and calls_over_xmpp = true is an error naming what is missing.
func TestStatusBackendsAndSwitches(t *testing.T) {
	on := true
	cfg := cmdtest.Standard() // "home": related, both aspects
	cfg.Accounts = append(cfg.Accounts,
		config.Account{Name: "siponly", SIP: &config.SIPAspect{AOR: cmdtest.BobAOR}},
		config.Account{Name: "imsip", Related: true, XMPP: &config.XMPPAspect{JID: cmdtest.BobJID},
			SIP: &config.SIPAspect{AOR: cmdtest.BobAOR, Backend: "baresip"}, Features: config.Features{IMOverSIP: &on}},
	)
	e := cmdtest.New(t, cfg, nil, nil)
	r := e.Run(newCmd, "--json")
	if r.Err != nil {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	var rows []AccountJSON
	if err := cmdtest.UnmarshalList(r.Stdout, "accounts", &rows); err != nil || len(rows) != 3 {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	want := map[string]BackendsJSON{
		"home":    {Chat: "xmpp", Roster: "xmpp", Telephony: "sip"},
		"siponly": {Chat: "sipmessage", ChatOverSIP: true, Telephony: "sip"},
		"imsip":   {Chat: "sipmessage", ChatOverSIP: true, Roster: "xmpp", Telephony: "baresip"},
	}
	for _, row := range rows {
		if row.Backends != want[row.Name] {
			t.Errorf("%s: backends %+v, want %+v", row.Name, row.Backends, want[row.Name])
		}
		if wantIM := row.Name != "home"; row.Features.IMOverSIP != wantIM || row.Features.CallsOverXMPP {
			t.Errorf("%s: features %+v", row.Name, row.Features)
		}
	}
	if !strings.Contains(r.Stdout, `"chat_over_sip": true`) {
		t.Errorf("JSON lacks chat_over_sip: %s", r.Stdout)
	}
	r = e.Run(newCmd)
	if !strings.Contains(r.Stdout, "siponly\tno\tno\t-\tsip:bob@example.com\tchat=sipmessage telephony=sip\t") ||
		!strings.Contains(r.Stdout, "chat=sipmessage telephony=baresip") {
		t.Errorf("table:\n%s", r.Stdout)
	}

	// calls_over_xmpp = true: listed, then one error line, exit 17.
	cfg.Accounts[1].Features.CallsOverXMPP = &on
	e = cmdtest.New(t, cfg, nil, nil)
	r = e.Run(newCmd, "--json")
	if r.Code != cmdutil.ExitUnsupported || !strings.Contains(r.Err.Error(), "account siponly: calls_over_xmpp = true, but no installed backend can place calls over XMPP") {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	if !strings.Contains(r.Stdout, `"calls_over_xmpp": true`) {
		t.Errorf("JSON does not show the switch: %s", r.Stdout)
	}
}

// status --check: an account that chats over SIP shows that login as its
// Chat row, not "not configured".
func TestStatusCheckChatOverSIP(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{{Name: "siponly", SIP: &config.SIPAspect{AOR: cmdtest.AliceAOR}}}}
	e := cmdtest.New(t, cfg, map[string]string{"siponly/sip": cmdtest.AliceSIPPass}, nil)
	im := e.Service.IMPP(protocol.CapLogin, protocol.CapMessage, protocol.CapMessageRecv)
	im.Name = "sipmessage"
	e.Source.IMPP["sipmessage"] = im
	r := e.Run(newCmd, "--check", "--json")
	if r.Err != nil {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	var rows []AccountJSON
	if err := cmdtest.UnmarshalList(r.Stdout, "accounts", &rows); err != nil || len(rows) != 1 {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if c := rows[0].Chat; c == nil || c.State != "connected" || c.Report == nil || c.Report.Backend != "sipmessage" {
		t.Errorf("Chat row %+v", c)
	}
}
