package contacts

import (
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/cusax/cusax/pkg/address"
)

// Calling is what a contact's vCard says about calling them.
type Calling struct {
	// Tels are the contact's TELs, most preferred first (see Tels).
	Tels []Tel `json:"tels"`
	// Callable: some TEL is a usable SIP URI or phone number, so the
	// contact gets a "Call" option (RFC 7081 §3.3), even where calling
	// over this account is switched off.
	Callable bool `json:"callable"`
	// Video: some callable TEL has TYPE=video (RFC 7081 §3.1, §3.3: the
	// cue for offering a video call).
	Video bool `json:"video"`
	// InterDomain: the contact is outside the account's domain (RFC 7081
	// §5), so the call may cross into another provider's policies. It is
	// set when the contact's JID has a domain other than the account's,
	// or when the TEL a call would use (Preferred) is a SIP URI (user=phone
	// included) whose host is another domain, as address.SameDomain
	// decides (IDNA and case folded; a subdomain either way counts, a
	// sibling does not; an unreadable domain is another domain); with no
	// account domain, InterDomain is false.
	InterDomain bool `json:"inter_domain"`
	// PSTN: the TEL a call would use (Preferred: a SIP URI if there is one,
	// PREF first) is a phone number rather than a SIP URI, so the call
	// likely goes to the telephone network and may cost money (RFC 7081
	// §5).
	PSTN bool `json:"pstn"`
}

// Derive reads the calling options out of a contact's vCard. contactJID
// is the contact's JID and accountDomain the domain (or a JID) of the
// account that would call; either may be empty. c may be nil.
func Derive(c vcard.Card, contactJID, accountDomain string) Calling {
	tels := Tels(c)
	out := Calling{Tels: tels}
	for _, t := range tels {
		if t.Callable() {
			out.Callable = true
			out.Video = out.Video || t.HasType(vcard.TypeVideo)
		}
	}
	pref, ok := Preferred(tels)
	out.PSTN = ok && pref.Kind == KindPhone
	if _, err := address.DomainOf(accountDomain); err != nil {
		return out
	}
	// address.SameDomain is symmetric: the old rule here was one-way (a
	// contact on example.com looked inter-domain to an account on
	// sip.example.com, while call.go said the opposite).
	if contactJID != "" && !address.SameDomain(contactJID, accountDomain) {
		out.InterDomain = true
	}
	if ok && isSIP(pref.URI) && !address.SameDomain(pref.URI, accountDomain) {
		out.InterDomain = true
	}
	return out
}

func isSIP(uri string) bool {
	low := strings.ToLower(uri)
	return strings.HasPrefix(low, "sip:") || strings.HasPrefix(low, "sips:")
}
