package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cusax/cusax/pkg/core/config"
)

// DefaultAccountName is the account name used when neither the caller nor
// the document names one.
const DefaultAccountName = "default"

// ErrAccountExists: the account name is taken by an account that was not
// provisioned from the same URL, and ApplyOptions.Replace is false.
var ErrAccountExists = errors.New("account exists")

// ApplyOptions say where a document came from and what is the user's.
type ApplyOptions struct {
	// Name is the account to set up; "" uses the document's suggestion,
	// else DefaultAccountName.
	Name string
	// Origin is recorded as the account's Provisioning; URL is required.
	// Apply fills in Provider, MinTLS, RefreshAfter, CostAllow and Region
	// from the document. See Fetched.Origin.
	Origin config.Provisioning
	// CAFile is the user's --ca-file (an absolute path), used for the
	// fetch and saved on the account; "" keeps the account's own.
	CAFile string
	// Replace lets Apply overwrite an account that was set up by hand or
	// provisioned from another URL.
	Replace bool
}

// Applied is the outcome of Apply.
type Applied struct {
	// Config is the edited copy of the config; the one passed in is not
	// changed. The caller saves it.
	Config *config.Config
	// Account is the name of the account set up.
	Account string
	// XMPPPassword and SIPPassword say where each aspect's password comes
	// from; "" when the document has no such aspect. The caller stores
	// the provisioning password for PasswordSame and asks the user for
	// PasswordPrompt, unless the aspect keeps the user's password_command.
	XMPPPassword, SIPPassword PasswordSource
	// MinTLS is the document's lowest TLS version ("" for the default).
	MinTLS string
	// Warnings are Document.Warnings plus what Apply kept or could not do.
	Warnings []string
	// Changes are what changed in the config (Diff), for --refresh.
	Changes []Change
}

// Origin returns the Provisioning record of a fetch made with auth (nil
// for none); username is the basic-auth user ID, "" otherwise.
func (f *Fetched) Origin(auth Auth) config.Provisioning {
	p := config.Provisioning{
		URL: f.URL, Auth: "none", ETag: f.ETag, LastModified: f.LastModified,
		Fetched: f.Fetched.UTC(), DocumentSHA256: f.SHA256,
	}
	if auth != nil {
		p.Auth = auth.Kind()
	}
	if b, ok := auth.(Basic); ok {
		p.Username = b.User
	}
	return p
}

// Apply sets up the account doc describes in a copy of cfg and returns it
// with what changed. The document supplies the aspects, servers, the
// RFC 7081 §3.4 relationship and the features (an absent feature means
// the RFC 7081 §2 default, so a refresh can turn an override off again);
// the user keeps what is theirs: ca_file (unless opts.CAFile), policies,
// plugin backends, password commands and allow_plaintext.
//
// The cost gate is global ([calls]), so the document's patterns are added
// to calls.cost_allow and recorded in Provisioning.CostAllow, and a later
// Apply removes exactly those before adding the new ones; the user's own
// patterns are never removed. calls.region is set only when the user has
// none (or it is the one the document set before).
//
// Errors: ErrAccountExists (see ApplyOptions.Replace), or the account's
// config validation errors (errors.Is config.ErrInvalid), e.g. an
// unreadable ca_file.
func Apply(cfg *config.Config, doc *Document, opts ApplyOptions) (*Applied, error) {
	name := opts.Name
	if name == "" {
		name = doc.Account
	}
	if name == "" {
		name = DefaultAccountName
	}
	if err := config.ValidateName(name); err != nil {
		return nil, fmt.Errorf("account name %s: %v: %w", quote(name), err, config.ErrInvalid)
	}
	out, err := cloneConfig(cfg)
	if err != nil {
		return nil, err
	}
	var prev *config.Account
	for i := range out.Accounts {
		if out.Accounts[i].Name == name {
			prev = &out.Accounts[i]
		}
	}
	if prev != nil && !opts.Replace && (prev.Provisioning == nil || prev.Provisioning.URL != opts.Origin.URL) {
		from := "was set up by hand"
		if prev.Provisioning != nil {
			from = "was provisioned from " + prev.Provisioning.URL
		}
		return nil, fmt.Errorf("account %q %s; choose another name or replace it: %w", name, from, ErrAccountExists)
	}

	res := &Applied{Account: name, MinTLS: doc.MinTLS, Warnings: doc.Warnings()}
	a := build(doc, name)
	if doc.XMPP != nil {
		res.XMPPPassword = doc.XMPP.password()
	}
	if doc.SIP != nil {
		res.SIPPassword = doc.SIP.password()
	}
	if prev != nil {
		res.Warnings = append(res.Warnings, keepOwn(&a, prev)...)
	}
	if opts.CAFile != "" {
		a.CAFile = opts.CAFile
	}
	origin := opts.Origin
	origin.Provider, origin.MinTLS, origin.RefreshAfter = doc.Provider, doc.MinTLS, doc.RefreshAfter
	origin.CostAllow, origin.Region = nil, ""
	var before *config.Provisioning
	if prev != nil {
		before = prev.Provisioning
	}
	res.Warnings = append(res.Warnings, applyCostGate(&out.Calls, doc.CostGate, before, &origin)...)
	a.Provisioning = &origin

	if err := a.Validate(); err != nil {
		return nil, err
	}
	out.Upsert(a)
	res.Config = out
	res.Changes = Diff(cfg, out, name)
	return res, nil
}

// keepOwn copies the user's own settings from prev into a, which holds
// only what the document says, and warns about the ones that weaken
// security.
func keepOwn(a, prev *config.Account) []string {
	var warn []string
	a.CAFile, a.Policy = prev.CAFile, slices.Clone(prev.Policy)
	if a.XMPP != nil && prev.XMPP != nil {
		a.XMPP.Backend, a.XMPP.PasswordCommand, a.XMPP.AllowPlaintext = prev.XMPP.Backend, prev.XMPP.PasswordCommand, prev.XMPP.AllowPlaintext
		if a.XMPP.AllowPlaintext {
			warn = append(warn, "xmpp.allow_plaintext: kept on, as you set it; the provider's document does not ask for it")
		}
	}
	if a.SIP != nil && prev.SIP != nil {
		a.SIP.Backend, a.SIP.PasswordCommand, a.SIP.AllowPlaintext = prev.SIP.Backend, prev.SIP.PasswordCommand, prev.SIP.AllowPlaintext
		if a.SIP.AllowPlaintext {
			warn = append(warn, "sip.allow_plaintext: kept on, as you set it; the provider's document does not ask for it")
		}
	}
	return warn
}

// applyCostGate replaces the patterns the previous document added with
// this document's, and sets the region unless the user chose one.
func applyCostGate(calls *config.CallSettings, gate *CostGate, before, after *config.Provisioning) []string {
	var warn []string
	if before != nil {
		calls.CostAllow = slices.DeleteFunc(calls.CostAllow, func(p string) bool { return slices.Contains(before.CostAllow, p) })
		if before.Region != "" && calls.Region == before.Region {
			calls.Region = ""
		}
	}
	if len(calls.CostAllow) == 0 {
		calls.CostAllow = nil
	}
	if gate == nil {
		return nil
	}
	for _, p := range gate.Allow {
		if !slices.Contains(calls.CostAllow, p) {
			calls.CostAllow = append(calls.CostAllow, p)
			after.CostAllow = append(after.CostAllow, p)
		}
	}
	switch r := gate.Region; {
	case r == "":
	case calls.Region == "":
		calls.Region, after.Region = r, r
	case calls.Region != r:
		warn = append(warn, fmt.Sprintf("cost_gate.region: kept your calls.region %q; the provider suggests %q", calls.Region, r))
	}
	return warn
}

// cloneConfig deep-copies c through JSON, which covers every field the
// config has or will have (they all carry json tags).
func cloneConfig(c *config.Config) (*config.Config, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("copy config: %w", err)
	}
	var out config.Config
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy config: %w", err)
	}
	return &out, nil
}

// build returns the account d describes, with nothing of the user's own.
func build(d *Document, name string) config.Account {
	a := config.Account{Name: name, Related: d.related()}
	if x := d.XMPP; x != nil {
		a.XMPP = &config.XMPPAspect{
			JID: x.JID, Server: x.Server, DirectTLS: x.DirectTLS,
			Mechanisms: append([]string(nil), x.Mechanisms...),
		}
	}
	if s := d.SIP; s != nil {
		a.SIP = &config.SIPAspect{AOR: s.AOR, Username: s.Username, Proxy: s.Proxy}
	}
	if f := d.Features; f != nil {
		a.Features = config.Features{
			CallsOverXMPP: clone(f.CallsOverXMPP),
			IMOverSIP:     clone(f.IMOverSIP),
			AdvertiseIMPP: clone(f.CallInfo),
		}
	}
	return a
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
