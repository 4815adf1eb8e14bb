package contacts

import (
	"strings"

	"github.com/emersion/go-vcard"
	"github.com/emiago/sipgo/sip"
	"mellium.im/xmpp/jid"
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
	// included) whose host is another domain. A domain counts as the
	// account's when it is equal to it or a subdomain of it (sip.example.com
	// for example.com), after IDNA and case normalisation; with no account
	// domain, InterDomain is false.
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
	account := domainOf(accountDomain)
	if account == "" {
		return out
	}
	if contactJID != "" {
		if d := domainOf(contactJID); d != "" && !sameDomain(d, account) {
			out.InterDomain = true
		}
	}
	if ok {
		if host := sipHost(pref.URI); host != "" && !sameDomain(host, account) {
			out.InterDomain = true
		}
	}
	return out
}

// domainOf returns the normalised domain of a JID or domain name (RFC 7622
// §3.2: IDNA to U-labels, lower case, no trailing dot), or "".
func domainOf(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	j, err := jid.Parse(s)
	if err != nil {
		// Not a valid JID (an IP literal with a port, say): compare as
		// text.
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			s = s[i+1:]
		}
		return strings.ToLower(strings.TrimSuffix(s, "."))
	}
	return j.Domainpart()
}

// sipHost returns the normalised host of a sip:/sips: URI, or "".
func sipHost(uri string) string {
	low := strings.ToLower(uri)
	if !strings.HasPrefix(low, "sip:") && !strings.HasPrefix(low, "sips:") {
		return ""
	}
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.Host == "" {
		return ""
	}
	return domainOf(u.Host)
}

func sameDomain(d, account string) bool {
	return d == account || strings.HasSuffix(d, "."+account)
}
