package dialtarget

import (
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/contacts"
)

// SIPURI returns the SIP URI a call to t dials through the account's SIP
// service. accountDomain is the account's domain, or its AOR
// (sip:alice@example.com) or JID, whose domain is used.
//
// A KindSIP target is returned as it is. A tel: or number target becomes
// sip:<number>@<domain>;user=phone, its tel: parameters (;ext=…) kept in
// the user part (RFC 3261 §19.1.6): sip:+15551234@example.com;user=phone.
// A local number keeps no phone-context (see Target.URI): the service's
// dial plan reads it.
//
// The target is parsed again first, so a Target built by hand gets the
// same checks as Parse. Errors wrap protocol.ErrInvalid: for a contact or
// room (resolve it to an address first), for a target Parse refuses, and
// for an empty or malformed account domain.
func SIPURI(t Target, accountDomain string) (string, error) {
	switch t.Kind {
	case KindSIP, KindTel, KindNumber:
	case KindContact, KindRoom:
		return "", invalidf("call target: a %s has no SIP URI until it is resolved to an address", t.Kind)
	default:
		return "", invalidf("call target: unknown kind %q", t.Kind)
	}
	p, err := Parse(t.URI)
	if err != nil {
		return "", err
	}
	if p.URI != t.URI || (p.Kind == KindSIP) != (t.Kind == KindSIP) {
		return "", invalidf("call target: the URI does not match the target's kind %s", t.Kind)
	}
	if t.Kind == KindSIP {
		return p.URI, nil
	}
	// The A-label form: a Unicode (IDN) domain is no valid SIP host
	// (RFC 3261 §25.1), its punycode is.
	domain, err := address.DomainOf(accountDomain)
	if errors.Is(err, address.ErrNoDomain) {
		return "", invalidf("call target: no account domain to dial the number through")
	}
	if err != nil || strings.ContainsFunc(domain, func(r rune) bool { return !hostChar(r) }) {
		return "", invalidf("call target: the account domain is not a valid SIP host")
	}
	user := strings.TrimPrefix(p.URI, "tel:")
	uri := "sip:" + user + "@" + domain + ";user=phone"
	if !sipUser(user) {
		return "", invalidf("call target: the tel: URI's parameters cannot be carried in a SIP URI (RFC 3261 §19.1.6)")
	}
	// The same normaliser as everything else: a malformed domain shows as
	// a difference.
	if n, kind := contacts.Normalize(uri); n != uri || kind != contacts.KindPhone {
		return "", invalidf("call target: the account domain is not a valid SIP host")
	}
	return uri, nil
}

// Classify answers the questions of the cost gate (RFC 7081 §5) for the
// URI a call dials, read with contacts.Normalize:
//
//   - pstn: a phone number rather than a SIP address: a tel: URI, a bare
//     number, or a SIP URI with user=phone (RFC 3261 §19.1.6).
//   - interDomain: a SIP URI whose host is not the account's domain, like
//     a number "learned from a contact on another domain" (§5), as
//     address.SameDomain decides (IDNA and case folded; a subdomain either
//     way counts — the old rule here was one-way, so example.com was
//     another domain to an account on sip.example.com); a tel: URI or
//     number goes through the account's own service and is never
//     inter-domain.
//
// accountDomain is a domain, an AOR or a JID, as for SIPURI; when it is
// empty, nothing is inter-domain (again as contacts.Derive). A URI that
// Normalize does not recognise, or one with a control character, reports
// interDomain, so the gate asks rather than lets it through.
func Classify(uri, accountDomain string) (pstn, interDomain bool) {
	if strings.ContainsFunc(uri, isControl) {
		return false, true // Normalize would trim a trailing CRLF away
	}
	n, kind := contacts.Normalize(uri)
	switch kind {
	case contacts.KindPhone:
		pstn = true
	case contacts.KindSIP:
	default:
		return false, true
	}
	if !strings.HasPrefix(n, "sip:") && !strings.HasPrefix(n, "sips:") {
		return pstn, false
	}
	if _, err := address.DomainOf(accountDomain); err != nil {
		return pstn, false
	}
	var u sip.Uri
	if err := sip.ParseUri(n, &u); err != nil || u.Host == "" {
		return pstn, true
	}
	return pstn, !address.SameDomain(n, accountDomain)
}

// hostChar reports whether r may appear in a host, IPv6 reference or port
// (RFC 3261 §25.1 hostport; '_' is seen in the wild).
func hostChar(r rune) bool {
	return r < 0x80 && (isAlpha(byte(r)) || isDigit(byte(r)) || strings.ContainsRune("-._[]:", r))
}
