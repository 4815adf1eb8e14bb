package contactaudit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/audit"
)

// Evaluate judges one account's facts. Per-contact findings carry the
// contact's bare JID in Endpoint. Unobserved facts make a check Skipped
// or Error, never Pass.
func Evaluate(f Facts) []audit.Finding {
	var out []audit.Finding
	add := func(id, subject string, st audit.Status, evidence string) {
		c := lookup(id)
		fd := audit.Finding{ID: id, Account: f.Account, Aspect: c.Aspect, Endpoint: subject, Severity: c.Severity,
			Status: st, Title: c.Title, Evidence: evidence, Ref: c.Ref}
		if st == audit.Fail {
			fd.Title, fd.Fix = c.FailTitle, c.Fix
		}
		out = append(out, fd)
	}
	if f.ChatError != "" {
		for _, c := range catalogue {
			add(c.ID, "", audit.Error, "the Chat aspect could not be opened: "+f.ChatError)
		}
		return out
	}
	ownAOR(f, add)
	for _, c := range f.Contacts {
		contact(f, c, add)
	}
	return out
}

type addFunc func(id, subject string, st audit.Status, evidence string)

// ownAOR: RFC 7081 §3.5: a callee confirms a caller's AOR-to-JID binding
// through the caller's vCard, so the account's own vCard must list its AOR.
func ownAOR(f Facts, add addFunc) {
	switch {
	case f.AOR == "":
		add(CheckOwnAOR, "", audit.Skipped, "the account has no SIP aspect")
	case f.Own.Error != "":
		add(CheckOwnAOR, "", audit.Error, "own vCard: "+f.Own.Error)
	case !f.Own.Present:
		add(CheckOwnAOR, "", audit.Fail, "the account has no vCard; its AOR "+f.AOR+" is listed nowhere")
	default:
		want, _ := contacts.Normalize(f.AOR)
		var seen []string
		for _, t := range SIPTels(f.Own.Tels) {
			if sameAOR(t.URI, want) {
				add(CheckOwnAOR, "", audit.Pass, fmt.Sprintf("own vCard (%s) lists %s", f.Own.Source, t.URI))
				return
			}
			seen = append(seen, t.URI)
		}
		add(CheckOwnAOR, "", audit.Fail, fmt.Sprintf("own vCard (%s) lists %s, not %s", f.Own.Source, list(seen, "no SIP URI"), f.AOR))
	}
}

// sameAOR compares two normalised SIP URIs by scheme-less user@host: sip:
// and sips: name the same AOR (RFC 3261 §19.1.4 aside, a vCard rarely
// says sips:).
func sameAOR(a, b string) bool {
	strip := func(u string) string {
		u = strings.TrimPrefix(strings.TrimPrefix(u, "sips:"), "sip:")
		u, _, _ = strings.Cut(u, ";")
		return u
	}
	return strip(a) == strip(b)
}

func contact(f Facts, c ContactFacts, add addFunc) {
	subject := c.JID
	switch {
	case c.VCard.Error != "":
		add(CheckVCard, subject, audit.Error, "vCard: "+c.VCard.Error)
		add(CheckSIPURI, subject, audit.Error, "vCard could not be read")
	case !c.VCard.Present:
		add(CheckVCard, subject, audit.Fail, "no vCard found (XEP-0292 nor XEP-0054)")
		add(CheckSIPURI, subject, audit.Skipped, "no vCard")
	default:
		add(CheckVCard, subject, audit.Pass, "vCard from "+c.VCard.Source)
		sips := SIPTels(c.VCard.Tels)
		if len(sips) == 0 {
			var tels []string
			for _, t := range c.VCard.Tels {
				tels = append(tels, t.URI)
			}
			add(CheckSIPURI, subject, audit.Fail, "vCard TELs: "+list(tels, "none"))
		} else {
			add(CheckSIPURI, subject, audit.Pass, "vCard lists "+uris(sips))
		}
	}
	known(f, c, add)
	video(f, c, add)
	reach(c, add)
}

// known judges the OPTIONS answers: 404 or 604 means the SIP service does
// not know the user; 480 that it knows the user, who is not registered
// now (a fact about the user, not a fault of the service); any other
// final response that the request reached someone who answered.
func known(f Facts, c ContactFacts, add addFunc) {
	switch {
	case len(SIPTels(c.VCard.Tels)) == 0:
		add(CheckSIPKnown, c.JID, audit.Skipped, "no SIP URI to ask about")
		return
	case len(c.Probes) == 0 && f.TelephonyError != "":
		add(CheckSIPKnown, c.JID, audit.Error, f.TelephonyError)
		return
	}
	var unknown, errs, ok []string
	for _, p := range c.Probes {
		switch {
		case p.Error != "":
			errs = append(errs, p.URI+": "+p.Error)
		case p.Result.StatusCode == 404 || p.Result.StatusCode == 604:
			unknown = append(unknown, fmt.Sprintf("OPTIONS %s: %d %s (unknown user)", p.URI, p.Result.StatusCode, p.Result.Reason))
		case p.Result.StatusCode == 480:
			ok = append(ok, fmt.Sprintf("OPTIONS %s: 480 %s (known, not registered now)", p.URI, p.Result.Reason))
		default:
			ok = append(ok, fmt.Sprintf("OPTIONS %s: %d %s (reachable)", p.URI, p.Result.StatusCode, p.Result.Reason))
		}
	}
	switch {
	case len(unknown) > 0:
		add(CheckSIPKnown, c.JID, audit.Fail, strings.Join(append(unknown, ok...), "; "))
	case len(errs) > 0:
		add(CheckSIPKnown, c.JID, audit.Error, strings.Join(append(errs, ok...), "; "))
	case len(ok) > 0:
		add(CheckSIPKnown, c.JID, audit.Pass, strings.Join(ok, "; "))
	default:
		add(CheckSIPKnown, c.JID, audit.Error, "no OPTIONS was sent")
	}
}

// video: RFC 7081 strategy 4 puts TYPE=video only on lines that take
// video. The only evidence short of a call is the SDP a 2xx to OPTIONS
// may carry (RFC 3261 §11.2); without one it is unknown.
func video(f Facts, c ContactFacts, add addFunc) {
	sips := SIPTels(c.VCard.Tels)
	media := map[string][]string{} // URI -> media types of its OPTIONS SDP
	for _, p := range c.Probes {
		if p.Result != nil && p.Result.Media != nil {
			media[p.URI] = p.Result.Media
		}
	}
	var claimed, confirmed, contradicted, unadvertised []string
	for _, t := range sips {
		m, known := media[t.URI]
		takesVideo := slices.Contains(m, "video")
		switch {
		case t.HasType("video"):
			claimed = append(claimed, t.URI)
			if known && takesVideo {
				confirmed = append(confirmed, t.URI)
			} else if known {
				contradicted = append(contradicted, fmt.Sprintf("%s has TYPE=video but its OPTIONS answer offers %s only", t.URI, list(m, "no media")))
			}
		case known && takesVideo:
			unadvertised = append(unadvertised, t.URI)
		}
	}
	switch {
	case len(sips) == 0:
		add(CheckVideo, c.JID, audit.Skipped, "no SIP URI")
	case len(contradicted) > 0:
		add(CheckVideo, c.JID, audit.Fail, strings.Join(contradicted, "; "))
	case len(unadvertised) > 0:
		add(CheckVideo, c.JID, audit.Fail, fmt.Sprintf("no TYPE=video on %s in the vCard (%s), but its OPTIONS answer offers video", strings.Join(unadvertised, ", "), c.VCard.Source))
	case len(confirmed) > 0:
		add(CheckVideo, c.JID, audit.Pass, "TYPE=video on "+strings.Join(confirmed, ", ")+", and the OPTIONS answer offers video")
	case len(media) == 0 || len(claimed) > 0:
		why := "no OPTIONS answer carried an SDP: whether video works is unknown"
		if c.VCard.Source == "xep-0054" && len(claimed) == 0 {
			why += " (the vCard came from vcard-temp, where some servers drop TEL types)"
		}
		add(CheckVideo, c.JID, audit.Skipped, why)
	default:
		add(CheckVideo, c.JID, audit.Pass, "no TYPE=video, and the OPTIONS answer offers no video")
	}
}

// reach: XEP-0152 addresses are hints (RFC 7081 §3.3) and ought to be
// confirmed by the vCard.
func reach(c ContactFacts, add addFunc) {
	if len(c.Reach) == 0 {
		add(CheckReach, c.JID, audit.Skipped, "no XEP-0152 reachability addresses published (or readable)")
		return
	}
	var bad, good []string
	for _, r := range c.Reach {
		if r.Verified {
			good = append(good, r.URI)
		} else {
			bad = append(bad, r.URI)
		}
	}
	if len(bad) > 0 {
		add(CheckReach, c.JID, audit.Fail, "advertised but not in the vCard: "+strings.Join(bad, ", "))
		return
	}
	add(CheckReach, c.JID, audit.Pass, "the vCard lists "+strings.Join(good, ", "))
}

func uris(tels []contacts.Tel) string {
	var s []string
	for _, t := range tels {
		s = append(s, t.URI)
	}
	return strings.Join(s, ", ")
}

func list(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}
