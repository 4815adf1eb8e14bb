package provision

import (
	"strconv"
	"strings"

	"github.com/cusax/cusax/pkg/core/config"
)

// Change is one setting that differs, named by its config.toml path
// ("sip.proxy", "features.im_over_sip", "calls.cost_allow"). From or To
// is "" when the setting is unset on that side.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Diff lists the settings of account that differ between before and
// after, plus calls.cost_allow and calls.region, in a fixed order. It
// reports nothing secret: a password command shows only as "set", and
// the fetch bookkeeping (ETag, time, hash) is left out so that an
// unchanged document reports no changes.
func Diff(before, after *config.Config, account string) []Change {
	var out []Change
	b, a := settings(before, account), settings(after, account)
	for i := range a {
		if b[i].value != a[i].value {
			out = append(out, Change{Field: a[i].field, From: b[i].value, To: a[i].value})
		}
	}
	return out
}

type setting struct{ field, value string }

// settings flattens one account and the [calls] settings; an absent
// account or aspect gives empty values, so the list always has the same
// fields in the same order.
func settings(c *config.Config, name string) []setting {
	var a config.Account
	var calls config.CallSettings
	exists := false
	if c != nil {
		calls = c.Calls
		for i := range c.Accounts {
			if c.Accounts[i].Name == name {
				a, exists = c.Accounts[i], true
			}
		}
	}
	x, s, p := a.XMPP, a.SIP, a.Provisioning
	if x == nil {
		x = &config.XMPPAspect{}
	}
	if s == nil {
		s = &config.SIPAspect{}
	}
	if p == nil {
		p = &config.Provisioning{}
	}
	flag := func(b bool) string {
		if !exists {
			return ""
		}
		return strconv.FormatBool(b)
	}
	feature := func(v *bool, def bool) string {
		switch {
		case !exists:
			return ""
		case v == nil:
			return "default (" + onOff(def) + ")"
		}
		return onOff(*v)
	}
	set := func(s string) string {
		if s == "" {
			return ""
		}
		return "set"
	}
	existsText := ""
	if exists {
		existsText = "exists"
	}
	return []setting{
		{"account", existsText},
		{"related", flag(a.Related)},
		{"ca_file", a.CAFile},
		{"policy", strings.Join(a.Policy, ", ")},
		{"xmpp.jid", x.JID},
		{"xmpp.server", x.Server},
		{"xmpp.direct_tls", flag(a.XMPP != nil && x.DirectTLS)},
		{"xmpp.mechanisms", strings.Join(x.Mechanisms, ", ")},
		{"xmpp.backend", x.Backend},
		{"xmpp.password_command", set(x.PasswordCommand)},
		{"xmpp.allow_plaintext", flag(a.XMPP != nil && x.AllowPlaintext)},
		{"sip.aor", s.AOR},
		{"sip.username", s.Username},
		{"sip.proxy", s.Proxy},
		{"sip.backend", s.Backend},
		{"sip.password_command", set(s.PasswordCommand)},
		{"sip.allow_plaintext", flag(a.SIP != nil && s.AllowPlaintext)},
		{"features.calls_over_xmpp", feature(a.Features.CallsOverXMPP, a.Features.CallsOverXMPPEnabled(a.Related))},
		{"features.im_over_sip", feature(a.Features.IMOverSIP, a.Features.IMOverSIPEnabled(a.Related))},
		{"features.advertise_impp", feature(a.Features.AdvertiseIMPP, a.Features.AdvertiseIMPPEnabled())},
		{"provisioning.url", p.URL},
		{"provisioning.auth", p.Auth},
		{"provisioning.username", p.Username},
		{"provisioning.provider", p.Provider},
		{"provisioning.min_tls", p.MinTLS},
		{"provisioning.refresh_after", p.RefreshAfter},
		{"calls.cost_allow", strings.Join(calls.CostAllow, ", ")},
		{"calls.region", calls.Region},
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
