package provision

// Version is the document format version this package reads.
const Version = 1

// MaxDocumentSize bounds a provisioning document (and a WebFinger JRD);
// a real one is well under 2 KiB.
const MaxDocumentSize = 64 << 10

// MediaType is the vendor media type of a provisioning document; Fetch
// also accepts application/json.
const MediaType = "application/vnd.cusax.provisioning+json"

// Document is a parsed, checked provisioning document (format version 1,
// docs/provisioning.md). Pointers and empty strings mean "absent".
type Document struct {
	// Version is the format version; always Version after Parse.
	Version int `json:"version"`
	// Provider is a display name such as "Example Telecom".
	Provider string `json:"provider,omitempty"`
	// Account is the suggested account name.
	Account string `json:"account,omitempty"`
	// Related is the RFC 7081 §3.4 CUSAX relationship between the two
	// aspects; absent means true when both aspects are present.
	Related *bool `json:"related,omitempty"`
	// XMPP is the chat aspect; nil for none.
	XMPP *XMPP `json:"xmpp,omitempty"`
	// SIP is the calling aspect; nil for none.
	SIP *SIP `json:"sip,omitempty"`
	// Features turn RFC 7081 §2 features on or off; absent ones keep the
	// defaults.
	Features *Features `json:"features,omitempty"`
	// CostGate adds calls the provider knows are free (RFC 7081 §5).
	CostGate *CostGate `json:"cost_gate,omitempty"`
	// MinTLS is the lowest TLS version for both aspects: "1.2" or "1.3".
	MinTLS string `json:"min_tls,omitempty"`
	// RefreshAfter hints how often to refresh, as a Go duration ("24h").
	RefreshAfter string `json:"refresh_after,omitempty"`
}

// XMPP is the document's chat aspect.
type XMPP struct {
	JID        string   `json:"jid"`
	Server     string   `json:"server,omitempty"`
	DirectTLS  bool     `json:"direct_tls,omitempty"`
	Mechanisms []string `json:"mechanisms,omitempty"`
	// Password says which password the aspect uses.
	Password PasswordSource `json:"password,omitempty"`
}

// SIP is the document's calling aspect.
type SIP struct {
	AOR      string `json:"aor"`
	Username string `json:"username,omitempty"`
	Proxy    string `json:"proxy,omitempty"`
	// Password says which password the aspect uses.
	Password PasswordSource `json:"password,omitempty"`
}

// Features are the per-protocol switches of RFC 7081 §2 and §3.5.
type Features struct {
	CallsOverXMPP *bool `json:"calls_over_xmpp,omitempty"`
	IMOverSIP     *bool `json:"im_over_sip,omitempty"`
	// CallInfo sends Call-Info: <xmpp:…>;purpose=impp (RFC 6993,
	// RFC 7081 §3.5) on outgoing calls.
	CallInfo *bool `json:"call_info,omitempty"`
}

// CostGate holds the document's contribution to the [calls] settings.
type CostGate struct {
	// Allow are calls.cost_allow patterns (dialtarget.MatchPattern).
	Allow []string `json:"allow,omitempty"`
	// Region is an ISO 3166-1 alpha-2 country code for national numbers.
	Region string `json:"region,omitempty"`
}

// PasswordSource says where an aspect's password comes from. A document
// never carries a password itself.
type PasswordSource string

// The password sources.
const (
	// PasswordSame: the password the user gave for provisioning (default).
	PasswordSame PasswordSource = "same"
	// PasswordPrompt: a separate password the user is asked for.
	PasswordPrompt PasswordSource = "prompt"
)

// related is the effective relationship: absent means "both aspects".
func (d *Document) related() bool {
	if d.Related != nil {
		return *d.Related
	}
	return d.XMPP != nil && d.SIP != nil
}

func (x *XMPP) password() PasswordSource {
	if x == nil || x.Password == "" {
		return PasswordSame
	}
	return x.Password
}

func (s *SIP) password() PasswordSource {
	if s == nil || s.Password == "" {
		return PasswordSame
	}
	return s.Password
}
