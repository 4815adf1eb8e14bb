package contactaudit

import (
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/protocol"
)

// Facts is what Run observed for one account. Nothing here is a verdict.
type Facts struct {
	Account string `json:"account"`
	JID     string `json:"jid,omitempty"`
	AOR     string `json:"aor,omitempty"`
	// ChatError: the Chat aspect could not be opened (no roster, no
	// vCards); every check is then an error.
	ChatError string `json:"chat_error,omitempty"`
	// Own is the account's own vCard.
	Own VCardFacts `json:"own"`
	// Contacts are the roster's contacts in roster order.
	Contacts []ContactFacts `json:"contacts"`
	// TelephonyError: OPTIONS could not be sent for this account (no SIP
	// aspect, the backend failed, or it does not declare "options").
	TelephonyError string `json:"telephony_error,omitempty"`
}

// VCardFacts is one vCard as fetched.
type VCardFacts struct {
	// Present: a vCard was found; Error: fetching or reading it failed.
	Present bool           `json:"present"`
	Error   string         `json:"error,omitempty"`
	Source  string         `json:"source,omitempty"`
	Tels    []contacts.Tel `json:"tels,omitempty"`
}

// ContactFacts is one roster contact.
type ContactFacts struct {
	JID   string           `json:"jid"`
	VCard VCardFacts       `json:"vcard"`
	Reach []contacts.Reach `json:"reach,omitempty"`
	// Probes are the OPTIONS results for the contact's SIP URIs.
	Probes []Probe `json:"probes,omitempty"`
}

// Probe is one OPTIONS to one SIP URI.
type Probe struct {
	URI    string                  `json:"uri"`
	Result *protocol.OptionsResult `json:"result,omitempty"`
	Error  string                  `json:"error,omitempty"`
}

// SIPTels returns the SIP URIs among tels (KindSIP), in order.
func SIPTels(tels []contacts.Tel) []contacts.Tel {
	var out []contacts.Tel
	for _, t := range tels {
		if t.Kind == contacts.KindSIP {
			out = append(out, t)
		}
	}
	return out
}
