package status

import (
	"encoding/json"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/render"
	"github.com/cusax/cusax/pkg/core/config"
)

// aspectJSON is one aspect of an account as --json prints it: its
// settings and, with --check, the outcome of the login. The key is the
// aspect's name, "chat" or "telephony" (RFC 7081 §2), as in every other
// command: never "xmpp" or "sip" next to them (docs/json.md).
type aspectJSON struct {
	Settings any `json:"settings,omitempty"`
	*render.AspectJSON
}

// MarshalJSON puts each aspect's settings and check under one key:
// chat (the XMPP settings) and telephony (the SIP settings).
func (a AccountJSON) MarshalJSON() ([]byte, error) {
	type plain AccountJSON // no MarshalJSON: no recursion
	aspect := func(settings any, set bool, check *render.AspectJSON) *aspectJSON {
		if !set && check == nil {
			return nil
		}
		v := &aspectJSON{AspectJSON: check}
		if set {
			v.Settings = settings
		}
		return v
	}
	return cmdutil.MarshalNoEscape(struct {
		plain
		Chat         *aspectJSON       `json:"chat,omitempty"`
		Telephony    *aspectJSON       `json:"telephony,omitempty"`
		Provisioning *provisioningJSON `json:"provisioning,omitempty"` // hides plain's
	}{plain(a), aspect(xmppSettings(a.XMPP), a.XMPP != nil, a.Chat), aspect(sipSettings(a.SIP), a.SIP != nil, a.Telephony), newProvisioningJSON(a.Provisioning)})
}

// xmppSettingsJSON and sipSettingsJSON are an aspect's settings as the
// config has them, but for a password_command: only whether one is set.
// The command may embed a secret ("echo hunter2", a token in a URL), and
// status never prints one (docs/json.md); `account show` says where each
// password is kept.
type xmppSettingsJSON struct {
	config.XMPPAspect
	PasswordCommandSet bool `json:"password_command_set,omitempty"`
}

type sipSettingsJSON struct {
	config.SIPAspect
	PasswordCommandSet bool `json:"password_command_set,omitempty"`
}

func xmppSettings(x *config.XMPPAspect) *xmppSettingsJSON {
	if x == nil {
		return nil
	}
	v := &xmppSettingsJSON{XMPPAspect: *x, PasswordCommandSet: x.PasswordCommand != ""}
	v.PasswordCommand = ""
	return v
}

func sipSettings(s *config.SIPAspect) *sipSettingsJSON {
	if s == nil {
		return nil
	}
	v := &sipSettingsJSON{SIPAspect: *s, PasswordCommandSet: s.PasswordCommand != ""}
	v.PasswordCommand = ""
	return v
}

// provisioningJSON is config.Provisioning in cusax's JSON vocabulary: the
// fetch time as fetched_at, the refresh hint ("24h" in the config, as the
// provider wrote it) as refresh_after_ms.
type provisioningJSON struct {
	URL            string     `json:"url"`
	Auth           string     `json:"auth,omitempty"`
	Username       string     `json:"username,omitempty"`
	Provider       string     `json:"provider,omitempty"`
	ETag           string     `json:"etag,omitempty"`
	LastModified   string     `json:"last_modified,omitempty"`
	FetchedAt      *time.Time `json:"fetched_at,omitempty"`
	DocumentSHA256 string     `json:"document_sha256,omitempty"`
	MinTLS         string     `json:"min_tls,omitempty"`
	RefreshAfterMS int64      `json:"refresh_after_ms,omitempty"`
	CostAllow      []string   `json:"cost_allow,omitempty"`
	Region         string     `json:"region,omitempty"`
	// PasswordCommandSet: the provisioning password comes from a
	// password_command (never printed: it may embed a secret).
	PasswordCommandSet bool `json:"password_command_set,omitempty"`
}

func newProvisioningJSON(p *config.Provisioning) *provisioningJSON {
	if p == nil {
		return nil
	}
	v := &provisioningJSON{URL: p.URL, Auth: p.Auth, Username: p.Username, Provider: p.Provider, ETag: p.ETag,
		LastModified: p.LastModified, DocumentSHA256: p.DocumentSHA256, MinTLS: p.MinTLS, CostAllow: p.CostAllow,
		Region: p.Region, PasswordCommandSet: p.PasswordCommand != ""}
	if !p.Fetched.IsZero() {
		t := p.Fetched.UTC()
		v.FetchedAt = &t
	}
	if d, err := time.ParseDuration(p.RefreshAfter); err == nil {
		v.RefreshAfterMS = d.Milliseconds()
	}
	return v
}

// UnmarshalJSON reads what MarshalJSON wrote (scripts in Go, and tests).
func (a *AccountJSON) UnmarshalJSON(b []byte) error {
	type plain AccountJSON // no UnmarshalJSON: no recursion
	var v struct {
		*plain
		Chat *struct {
			Settings *config.XMPPAspect `json:"settings"`
			*render.AspectJSON
		} `json:"chat"`
		Telephony *struct {
			Settings *config.SIPAspect `json:"settings"`
			*render.AspectJSON
		} `json:"telephony"`
	}
	v.plain = (*plain)(a)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Chat != nil {
		a.XMPP, a.Chat = v.Chat.Settings, v.Chat.AspectJSON
	}
	if v.Telephony != nil {
		a.SIP, a.Telephony = v.Telephony.Settings, v.Telephony.AspectJSON
	}
	return nil
}
