package contacts

import (
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/emersion/go-vcard"
)

// WhyUnverified is Reach.Why for an address the contact's vCard does not
// confirm.
const WhyUnverified = "unverified: the contact's vCard does not list it"

// Reach is one XEP-0152 reachability address with a verdict on it.
type Reach struct {
	// URI is the address, normalised as Normalize does when it is a SIP
	// or phone address, else as advertised (trimmed).
	URI  string `json:"uri"`
	Desc string `json:"desc,omitempty"`
	// Source is where it was advertised: "pep" or "presence".
	Source string `json:"source"`
	// Verified: the contact's vCard lists the same address as a TEL.
	Verified bool `json:"verified"`
	// Why says what confirmed it, or WhyUnverified.
	Why string `json:"why"`
}

// JudgeReach judges XEP-0152 addresses against the contact's vCard (which
// may be nil). RFC 7081 §3.3: such addresses are hints only, and a client
// ought not associate a SIP and an XMPP address unless it can verify the
// relationship, e.g. the XMPP account's vCard lists the SIP address and the
// SIP account's vCard lists the XMPP address. A client has no way to fetch
// a SIP account's vCard, so Verified here means the weaker half: the
// contact's XMPP vCard lists the address as a TEL, exactly after
// normalisation (SIP scheme and host case, phone-number separators).
// Addresses are returned in the order given.
func JudgeReach(addrs []protocol.ReachAddress, contactCard vcard.Card) []Reach {
	listed := map[string]bool{}
	for _, t := range Tels(contactCard) {
		if t.Callable() {
			listed[t.URI] = true
		}
	}
	out := make([]Reach, 0, len(addrs))
	for _, a := range addrs {
		uri, kind := Normalize(a.URI)
		r := Reach{URI: uri, Desc: a.Desc, Source: a.Source, Why: WhyUnverified}
		if kind != KindOther && listed[uri] {
			r.Verified = true
			r.Why = "confirmed: the contact's vCard lists " + uri + " as a TEL"
		}
		out = append(out, r)
	}
	return out
}
