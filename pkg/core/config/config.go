package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// CurrentVersion is the config file format this package reads and writes.
const CurrentVersion = 1

// Aspect names, as used in secrets references and plugin kinds.
const (
	AspectXMPP = "xmpp"
	AspectSIP  = "sip"
	// AspectProvisioning names the secret (password or bearer token) used
	// to fetch an account's provisioning document (Account.Provisioning).
	AspectProvisioning = "provisioning"
)

// Lookup errors. Account wraps them with the name asked for and the names
// that exist.
var (
	// ErrNoAccounts: the config has no accounts at all.
	ErrNoAccounts = errors.New("no accounts configured")
	// ErrAccountNotFound: no account has the requested name.
	ErrAccountNotFound = errors.New("account not found")
	// ErrAmbiguousAccount: no name was given, there is no default account,
	// and more than one account exists.
	ErrAmbiguousAccount = errors.New("more than one account and no default")
)

// Config is the whole accounts file.
type Config struct {
	// Version of the file format; 0 (absent) is read as CurrentVersion.
	Version int `toml:"version" json:"version"`
	// Default names the account used when none is given.
	Default string `toml:"default_account,omitempty" json:"default_account,omitempty"`
	// Accounts are the [[account]] tables, in file order.
	Accounts []Account `toml:"account" json:"accounts"`
	// Plugins configures plugin discovery.
	Plugins PluginSettings `toml:"plugins,omitempty" json:"plugins,omitzero"`
	// Calls configures calling, for every account.
	Calls CallSettings `toml:"calls,omitempty" json:"calls,omitzero"`
	// Policies are the [policies.NAME] tables: each policy plugin's own
	// settings, string keys to string values, passed to that plugin alone
	// at launch (CUSAX_POLICY_SETTINGS, see docs/plugins.md). They are
	// not secret: never put a password or token here.
	Policies map[string]map[string]string `toml:"policies,omitempty" json:"policies,omitempty"`
}

// CallSettings is the [calls] table.
type CallSettings struct {
	// CostAllow lists the dialled URIs that may be called without --yes
	// although they may cost money (RFC 7081 §5): sip:, sips: or tel:
	// patterns in which '*' matches any run of characters, such as
	// "tel:+4930*" or "sip:*@partner.example". They are matched with
	// dialtarget.MatchPattern (case-insensitive, visual separators of tel:
	// numbers ignored) and reach the policy as protocol.CostRequest's
	// Allowlist.
	CostAllow []string `toml:"cost_allow,omitempty" json:"cost_allow,omitempty"`
	// Region is the ISO 3166-1 alpha-2 country whose national numbers
	// the user's contacts are written in ("DE": 030 1234567 is
	// +49301234567). whois-caller needs it to compare national numbers
	// as E.164; without it they match only as written.
	Region string `toml:"region,omitempty" json:"region,omitempty"`
}

// PluginSettings configures where plugins are looked for.
type PluginSettings struct {
	// Dirs are extra directories searched for cusax-plugin-* binaries, in
	// order, before the built-in locations.
	Dirs []string `toml:"dirs,omitempty" json:"dirs,omitempty"`
	// DecisionTimeout bounds each answer of a policy plugin, as a Go
	// duration ("5s"); empty means 5 s. A policy that does not answer in
	// time fails the command (exit code 6) rather than hang it.
	DecisionTimeout string `toml:"decision_timeout,omitempty" json:"decision_timeout,omitempty"`
	// CallTimeout bounds every other call to a plugin that has no bound of
	// its own (roster, vCard, register …), as a Go duration; empty means
	// 2 minutes. A plugin that does not answer in time fails the command
	// (exit code 6) rather than hang it.
	CallTimeout string `toml:"call_timeout,omitempty" json:"call_timeout,omitempty"`
}

// CallTimeoutOr returns call_timeout, or def when it is not set (or
// invalid: Validate reports that).
func (p PluginSettings) CallTimeoutOr(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(p.CallTimeout); err == nil && d > 0 {
		return d
	}
	return def
}

// DecisionTimeoutOr returns decision_timeout, or def when it is not set
// (or invalid: Validate reports that).
func (p PluginSettings) DecisionTimeoutOr(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(p.DecisionTimeout); err == nil && d > 0 {
		return d
	}
	return def
}

// Account is one cusax account: an XMPP aspect, a SIP aspect, or both.
type Account struct {
	// Name identifies the account on the command line: [A-Za-z0-9._-]{1,64}.
	Name string `toml:"name" json:"name"`
	// Related records that the XMPP and SIP aspects are two aspects of one
	// CUSAX service (RFC 7081 §3.4). Only meaningful with both aspects.
	Related bool `toml:"related" json:"related"`
	// CAFile is an absolute path to PEM CA certificates trusted for both
	// aspects in addition to the system roots.
	CAFile string `toml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// XMPP is the chat aspect; nil for a SIP-only account.
	XMPP *XMPPAspect `toml:"xmpp,omitempty" json:"xmpp,omitempty"`
	// SIP is the calling aspect; nil for an XMPP-only account.
	SIP *SIPAspect `toml:"sip,omitempty" json:"sip,omitempty"`
	// Features overrides the RFC 7081 §2 defaults.
	Features Features `toml:"features,omitempty" json:"features"`
	// Policy names policy plugins consulted in order.
	Policy []string `toml:"policy,omitempty" json:"policy,omitempty"`
	// Provisioning records where a provisioned account came from (package
	// provision); nil for an account set up by hand.
	Provisioning *Provisioning `toml:"provisioning,omitempty" json:"provisioning,omitempty"`
}

// Provisioning records the provider document an account was built from,
// so that `cusax login --refresh` can fetch it again and report changes
// (RFC 7081 §2: online provisioning over HTTPS). It holds no secret: the
// password or token is in the secrets store under AspectProvisioning.
type Provisioning struct {
	// URL is the https:// address of the document.
	URL string `toml:"url" json:"url"`
	// Auth is how the fetch authenticates: "none", "basic" or "bearer".
	Auth string `toml:"auth,omitempty" json:"auth,omitempty"`
	// Username is the HTTP basic user ID (not a secret); "" otherwise.
	Username string `toml:"username,omitempty" json:"username,omitempty"`
	// Provider is the document's display name of the provider.
	Provider string `toml:"provider,omitempty" json:"provider,omitempty"`
	// ETag and LastModified are the validators of the last fetch, sent
	// back on refresh so an unchanged document costs a 304.
	ETag         string `toml:"etag,omitempty" json:"etag,omitempty"`
	LastModified string `toml:"last_modified,omitempty" json:"last_modified,omitempty"`
	// Fetched is when the document was last fetched.
	Fetched time.Time `toml:"fetched,omitzero" json:"fetched,omitzero"`
	// DocumentSHA256 is the hex SHA-256 of the raw document last applied.
	DocumentSHA256 string `toml:"document_sha256,omitempty" json:"document_sha256,omitempty"`
	// MinTLS is the provider's lowest TLS version for both aspects ("",
	// "1.2" or "1.3"); login uses it like --min-tls.
	MinTLS string `toml:"min_tls,omitempty" json:"min_tls,omitempty"`
	// RefreshAfter is the provider's hint for how often to refresh, as a
	// Go duration ("24h"); "" for none.
	RefreshAfter string `toml:"refresh_after,omitempty" json:"refresh_after,omitempty"`
	// CostAllow lists the calls.cost_allow patterns this document added,
	// so that a refresh can remove them again without touching the
	// user's own patterns.
	CostAllow []string `toml:"cost_allow,omitempty" json:"cost_allow,omitempty"`
	// Region is the calls.region the document set, "" if the user's own
	// region was kept.
	Region string `toml:"region,omitempty" json:"region,omitempty"`
	// PasswordCommand, if set, is run with sh -c to obtain the password or
	// token for the provisioning server (instead of the secrets store).
	PasswordCommand string `toml:"password_command,omitempty" json:"password_command,omitempty"`
}

// XMPPAspect configures the XMPP (chat and presence) side of an account.
type XMPPAspect struct {
	// JID is the bare JID to log in as; it must have a localpart.
	JID string `toml:"jid" json:"jid"`
	// Server is host:port to connect to; "" uses DNS SRV (RFC 6120 §3.2).
	Server string `toml:"server,omitempty" json:"server,omitempty"`
	// DirectTLS connects with TLS from the first byte (XEP-0368) instead of
	// STARTTLS.
	DirectTLS bool `toml:"direct_tls,omitempty" json:"direct_tls,omitempty"`
	// Backend is the IMPP plugin name; "" means "xmpp".
	Backend string `toml:"backend,omitempty" json:"backend,omitempty"`
	// PasswordCommand, if set, is run with sh -c to obtain the password.
	PasswordCommand string `toml:"password_command,omitempty" json:"password_command,omitempty"`
	// AllowPlaintext permits sending credentials without TLS. It is the
	// decision of one invocation (--allow-plaintext): the CLI overwrites it
	// after Load, warns about a stored true, and never saves it.
	AllowPlaintext bool `toml:"allow_plaintext,omitempty" json:"allow_plaintext,omitempty"`
	// Mechanisms optionally overrides the SASL mechanism preference order.
	Mechanisms []string `toml:"mechanisms,omitempty" json:"mechanisms,omitempty"`
}

// SIPAspect configures the SIP (calls) side of an account.
type SIPAspect struct {
	// AOR is the address of record, e.g. sip:alice@example.test.
	AOR string `toml:"aor" json:"aor"`
	// Username authenticates digest challenges; "" means the AOR user part.
	Username string `toml:"username,omitempty" json:"username,omitempty"`
	// Proxy is an outbound proxy SIP URI such as
	// sip:127.0.0.1:5061;transport=tls; "" locates the server with RFC 3263
	// DNS procedures.
	Proxy string `toml:"proxy,omitempty" json:"proxy,omitempty"`
	// Backend is the telephony plugin name; "" means "sip".
	Backend string `toml:"backend,omitempty" json:"backend,omitempty"`
	// IMBackend is the IMPP plugin that carries chat over SIP when IM goes
	// over SIP (im_over_sip = true, or no XMPP aspect; RFC 7081 §2);
	// "" means "sipmessage" (RFC 3428).
	IMBackend string `toml:"im_backend,omitempty" json:"im_backend,omitempty"`
	// PasswordCommand, if set, is run with sh -c to obtain the password.
	PasswordCommand string `toml:"password_command,omitempty" json:"password_command,omitempty"`
	// AllowPlaintext permits sending credentials without TLS. It is the
	// decision of one invocation (--allow-plaintext): the CLI overwrites it
	// after Load, warns about a stored true, and never saves it.
	AllowPlaintext bool `toml:"allow_plaintext,omitempty" json:"allow_plaintext,omitempty"`
	// TrustAssertedIdentity makes whois-caller take the caller's identity
	// from P-Asserted-Identity on requests that come from Proxy. Only for
	// a proxy that forms an RFC 3325 §9.1 trust domain, which removes the
	// header from requests of untrusted sources; off, the header is shown
	// but never judged.
	TrustAssertedIdentity bool `toml:"trust_asserted_identity,omitempty" json:"trust_asserted_identity,omitempty"`
	// MediaEncryption is how call media is protected: "srtp" (SRTP or no
	// call), "optional" (SRTP when the peer does it, else RTP with a
	// warning) or "none". "" means srtp when the SIP flow uses TLS, plain
	// RTP otherwise (RFC 7081 §7: both aspects protected alike). See
	// protocol.MediaEncryptionSRTP.
	MediaEncryption string `toml:"media_encryption,omitempty" json:"media_encryption,omitempty"`
	// MediaKeying is how SRTP is keyed on calls placed: "sdes" (keys in
	// the SDP, over TLS only; the default) or "dtls" (DTLS-SRTP, RFC
	// 5763/5764). See protocol.KeyingDTLS.
	MediaKeying string `toml:"media_keying,omitempty" json:"media_keying,omitempty"`
}

// Features holds per-account overrides; nil means "use the default".
type Features struct {
	// CallsOverXMPP enables Jingle calls on the XMPP aspect.
	CallsOverXMPP *bool `toml:"calls_over_xmpp,omitempty" json:"calls_over_xmpp,omitempty"`
	// IMOverSIP enables SIP MESSAGE and SIP presence on the SIP aspect.
	IMOverSIP *bool `toml:"im_over_sip,omitempty" json:"im_over_sip,omitempty"`
	// AdvertiseIMPP adds the XMPP address to SIP requests in a Call-Info
	// header with purpose=impp (RFC 6993), a hint for the peer's CUSAX
	// client; RFC 7081 §3.3 warns it is only a hint.
	AdvertiseIMPP *bool `toml:"advertise_impp,omitempty" json:"advertise_impp,omitempty"`
	// PresenceOnCall shows the account as on the phone over XMPP while a
	// call of `cusax call` or `cusax answer` is up (RFC 7081 §3).
	PresenceOnCall *bool `toml:"presence_on_call,omitempty" json:"presence_on_call,omitempty"`
}

// PresenceOnCallEnabled reports whether calls set the on-the-phone
// presence. Default: on for a CUSAX account (related aspects, RFC 7081
// §3: one service) whose XMPP password needs no password command (a call
// must not prompt for a password it does not need to ring).
func (f Features) PresenceOnCallEnabled(a Account) bool {
	if f.PresenceOnCall != nil {
		return *f.PresenceOnCall && a.XMPP != nil
	}
	return a.Related && a.XMPP != nil && a.XMPP.PasswordCommand == ""
}

// CallsOverXMPPEnabled reports whether audio/video calls may use XMPP.
// RFC 7081 §2: with a CUSAX relationship the client should disable calling
// over XMPP by default; the default does not apply to stand-alone accounts.
func (f Features) CallsOverXMPPEnabled(related bool) bool {
	if f.CallsOverXMPP != nil {
		return *f.CallsOverXMPP
	}
	return !related
}

// IMOverSIPEnabled reports whether instant messaging and presence may use
// SIP. RFC 7081 §2: off by default with a CUSAX relationship, on otherwise.
func (f Features) IMOverSIPEnabled(related bool) bool {
	if f.IMOverSIP != nil {
		return *f.IMOverSIP
	}
	return !related
}

// AdvertiseIMPPEnabled reports whether SIP requests carry the XMPP address
// (RFC 6993 Call-Info purpose=impp). Default true.
func (f Features) AdvertiseIMPPEnabled() bool {
	if f.AdvertiseIMPP != nil {
		return *f.AdvertiseIMPP
	}
	return true
}

// MinTLS is the lowest TLS version the account's provider asks for in its
// provisioning document ("", "1.2" or "1.3"); every connection of the
// account honours it.
func (a Account) MinTLS() string {
	if a.Provisioning != nil {
		return a.Provisioning.MinTLS
	}
	return ""
}

// Names returns the account names in file order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Accounts))
	for i := range c.Accounts {
		names[i] = c.Accounts[i].Name
	}
	return names
}

// Account returns the account called name, as a pointer into c.Accounts so
// that edits stick.
//
// An empty name selects the default account if one is set, else the only
// account. Errors wrap ErrNoAccounts when there are none, ErrAccountNotFound
// (with the name and the existing names) when no account matches, and
// ErrAmbiguousAccount when several exist and none is the default.
//
// Account does not validate: a broken account can still be found, shown,
// edited or removed. Call Account.Validate before connecting with it.
func (c *Config) Account(name string) (*Account, error) {
	return c.lookup(name)
}

func (c *Config) lookup(name string) (*Account, error) {
	if name == "" {
		name = c.Default
		if name == "" {
			switch len(c.Accounts) {
			case 0:
				return nil, ErrNoAccounts
			case 1:
				return &c.Accounts[0], nil
			default:
				return nil, fmt.Errorf("%w (have %s)", ErrAmbiguousAccount, quoteList(c.Names()))
			}
		}
		if i := c.index(name); i >= 0 {
			return &c.Accounts[i], nil
		}
		return nil, fmt.Errorf("default_account: %w", c.notFound(name))
	}
	if i := c.index(name); i >= 0 {
		return &c.Accounts[i], nil
	}
	return nil, c.notFound(name)
}

func (c *Config) notFound(name string) error {
	if len(c.Accounts) == 0 {
		// Wrap both: callers checking either sentinel get the right answer.
		return fmt.Errorf("%w: %q: %w", ErrAccountNotFound, name, ErrNoAccounts)
	}
	return fmt.Errorf("%w: %q (have %s)", ErrAccountNotFound, name, quoteList(c.Names()))
}

func (c *Config) index(name string) int {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return i
		}
	}
	return -1
}

// Upsert replaces the account with a's name, keeping its position, or
// appends a. It reports whether an existing account was replaced. It does
// not validate a.
func (c *Config) Upsert(a Account) (replaced bool) {
	if i := c.index(a.Name); i >= 0 {
		c.Accounts[i] = a
		return true
	}
	c.Accounts = append(c.Accounts, a)
	return false
}

// Remove deletes the account called name and clears default_account if it
// named it. The error wraps ErrAccountNotFound if there is no such account.
func (c *Config) Remove(name string) error {
	i := c.index(name)
	if i < 0 {
		return c.notFound(name)
	}
	c.Accounts = append(c.Accounts[:i], c.Accounts[i+1:]...)
	if c.Default == name {
		c.Default = ""
	}
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
