package protocol

import "context"

// APIVersion is the major version of the plugin contract. It is the go-plugin
// protocol version and the version in the proto package name (cusax.v1). A
// plugin built for another major version is refused at launch.
const APIVersion = 1

// Kind is what a plugin does.
type Kind string

// The plugin kinds.
const (
	KindIMPP      Kind = "impp"      // instant messaging and presence (XMPP today)
	KindTelephony Kind = "telephony" // calls (SIP today)
	KindPolicy    Kind = "policy"    // decisions: which account, may this cost money, …
)

// Kinds lists the plugin kinds in a stable order.
var Kinds = []Kind{KindIMPP, KindTelephony, KindPolicy}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Capability names one optional operation a plugin implements. Callers check
// capabilities before calling; a call outside them returns ErrUnsupported.
type Capability string

// IMPP capabilities.
const (
	CapLogin        Capability = "login"
	CapRoster       Capability = "roster"
	CapVCard        Capability = "vcard"
	CapPresence     Capability = "presence"
	CapMessage      Capability = "message"
	CapMessageRecv  Capability = "message-stream"
	CapMUC          Capability = "muc"
	CapDisco        Capability = "disco"
	CapReach        Capability = "reach"
	CapPublishReach Capability = "reach-publish"
)

// Telephony capabilities.
const (
	CapRegister      Capability = "register"
	CapDial          Capability = "dial"
	CapIncomingCalls Capability = "incoming-calls"
	CapMedia         Capability = "media"
	CapDTMF          Capability = "dtmf"
	CapVideo         Capability = "video"
)

// Policy capabilities: one per decision the policy takes part in.
const (
	CapChooseAccount  Capability = "choose-account"
	CapApproveCost    Capability = "approve-cost"
	CapCallerBinding  Capability = "caller-binding"
	CapSecurityParity Capability = "security-parity"
	CapAuditFindings  Capability = "audit-findings" // AuditJudge: re-weighs audit-tls findings
)

// Info describes a plugin. It is reported by the plugin itself, as data.
type Info struct {
	Kind         Kind         `json:"kind"`
	Name         string       `json:"name"`
	Version      string       `json:"version"`
	APIVersion   int          `json:"api_version"`
	Capabilities []Capability `json:"capabilities"`
	Description  string       `json:"description,omitempty"`
}

// Has reports whether the plugin declared capability c.
func (i Info) Has(c Capability) bool {
	for _, v := range i.Capabilities {
		if v == c {
			return true
		}
	}
	return false
}

// Describer is implemented by every plugin.
type Describer interface {
	// Info returns the plugin's self-description. It must not do network IO.
	Info(ctx context.Context) (Info, error)
}

// CapRespondAny: Respond sends whatever final status it is given (3xx to
// 6xx, e.g. 603 Decline). A backend with incoming-calls but without it can
// reject with 486 Busy Here only: it answers another final status with
// ErrUnsupported and leaves the call waiting, so the host may Respond 486.
// Added within v1 for baresip 1.0, which rejects with 486 whatever it is
// asked (issue 18); an older host sees an unknown capability and ignores it.
const CapRespondAny Capability = "respond-any"
