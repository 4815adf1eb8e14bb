package contactaudit

import "github.com/cusax/cusax/pkg/core/audit"

// Schema names the JSON report of audit-contacts: audit.Report's shape
// under its own name (fields are only ever added).
const Schema = "cusax.audit-contacts/v1"

// Check IDs. Dotted lowercase like audit-tls's; an ID never changes
// meaning once released.
const (
	CheckOwnAOR   = "contacts.own-aor"
	CheckVCard    = "contacts.vcard"
	CheckSIPURI   = "contacts.sip-uri"
	CheckSIPKnown = "contacts.sip-known"
	CheckVideo    = "contacts.video"
	CheckReach    = "contacts.reach"
)

// Check is one check of the catalogue with its fixed severity. RFC 7081 is
// informational (no RFC 2119 keywords), so the weights follow its wording:
// "quite important" (§3.1: the SIP URI must be reachable) is high, the
// strategies a service "should" follow are medium, the optional video
// type (strategy 4) is low.
type Check struct {
	ID       string
	Aspect   audit.Aspect
	Severity audit.Severity
	// Title states the requirement; FailTitle what a failure means, so a
	// failed finding reads as what failed.
	Title, FailTitle string
	Ref, Fix         string
}

var catalogue = []Check{
	{CheckOwnAOR, audit.CUSAX, audit.Medium,
		"own vCard lists the account's own SIP AOR", "own vCard does not list the account's own SIP AOR",
		"RFC 7081 §3.5, §6 strategy 3",
		"add a TEL with the account's SIP AOR (TEL;TYPE=voice:sip:user@domain) to the account's vCard, so that callees can match its calls to its JID"},
	{CheckVCard, audit.Chat, audit.Medium,
		"contact has a vCard", "contact has no vCard",
		"RFC 7081 §3.1, §6 strategy 3",
		"publish a vCard for the contact (XEP-0292 or XEP-0054) with a TEL holding its SIP URI"},
	{CheckSIPURI, audit.Chat, audit.Medium,
		"contact's vCard lists a SIP URI", "contact's vCard lists no SIP URI",
		"RFC 7081 §3.1, §6 strategy 3",
		"add a TEL with the contact's SIP URI at this service (TEL;TYPE=voice:sip:user@domain) to the contact's vCard"},
	{CheckSIPKnown, audit.Telephony, audit.High,
		"contact's SIP URI is known to the SIP service", "contact's SIP URI is unknown to the SIP service",
		"RFC 7081 §3.1, §6 strategy 3; RFC 3261 §11",
		"correct the TEL in the contact's vCard to an AOR the SIP service knows, or provision that AOR at the registrar"},
	{CheckVideo, audit.Telephony, audit.Low,
		"TYPE=video matches what the SIP answer offers", "TYPE=video does not match what the SIP answer offers",
		"RFC 7081 §3.1, §6 strategy 4; RFC 6350 §6.4.1",
		"set TYPE=video on the contact's SIP TEL only for lines that take video"},
	{CheckReach, audit.Chat, audit.Medium,
		"contact's XEP-0152 reachability addresses are confirmed by its vCard", "contact's XEP-0152 reachability addresses are not confirmed by its vCard",
		"RFC 7081 §3.3; XEP-0152",
		"publish only reachability addresses that the contact's vCard lists as TELs, or add them to the vCard"},
}

// Checks returns the catalogue.
func Checks() []Check { return append([]Check(nil), catalogue...) }

func lookup(id string) Check {
	for _, c := range catalogue {
		if c.ID == id {
			return c
		}
	}
	panic("contactaudit: unknown check " + id)
}

// Profile is the fixed weighting above, named for the report's policy
// block.
func Profile() audit.Profile { return audit.Profile{Name: "rfc7081", Source: "builtin"} }
