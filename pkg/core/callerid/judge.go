package callerid

import (
	"github.com/emersion/go-vcard"

	"github.com/cusax/cusax/pkg/contacts"
)

// Verdicts Judge returns.
const (
	// VerdictVerified: a Call-Info hint named a roster contact whose vCard
	// lists the caller's address.
	VerdictVerified = "verified"
	// VerdictVerifiedByScan: no hint; exactly one roster contact's vCard
	// lists the caller's address.
	VerdictVerifiedByScan = "verified-by-scan"
	// VerdictAmbiguous: no hint; several contacts' vCards list it.
	VerdictAmbiguous = "ambiguous"
	// VerdictMismatch: a hint named a roster contact whose vCard does not
	// list the caller's address — a possible spoof.
	VerdictMismatch = "mismatch"
	// VerdictNotInRoster: the hinted JID is not in the roster.
	VerdictNotInRoster = "not-in-roster"
	// VerdictUnknown: no hint, and no contact lists the caller's address.
	VerdictUnknown = "unknown"
	// VerdictAnonymous: the caller withheld their identity (Call.Anonymous).
	VerdictAnonymous = "anonymous"
)

// Where a verdict's contact was found.
const (
	SourceCallInfo   = "call-info"
	SourceRosterScan = "roster-scan"
)

// Entry is one roster contact with its vCard.
type Entry struct {
	JID  string     // bare JID, canonical (as mellium's jid.JID.String gives it)
	Name string     // roster name; the vCard's FN is used when empty
	Card vcard.Card // nil when the contact has none
}

// Result is Judge's verdict on a call.
type Result struct {
	Verdict string `json:"verdict"`
	// Caller is the address judged (Call.Caller) and CallerSource where it
	// came from.
	Caller       string `json:"caller"`
	CallerSource string `json:"caller_source"`
	// Unasserted is Call.Unasserted: P-Asserted-Identity URIs that were
	// not trusted and played no part in the verdict.
	Unasserted []string `json:"untrusted_asserted_identity,omitempty"`
	// Hint is the Call-Info JID the verdict is about, if any.
	Hint string `json:"hint,omitempty"`
	// JID and Name are the contact the verdict names (verified,
	// verified-by-scan, mismatch).
	JID  string `json:"jid,omitempty"`
	Name string `json:"name,omitempty"`
	// MatchedTel is the contact's TEL (as contacts.Tels normalises it)
	// equal to the caller's address.
	MatchedTel string `json:"matched_tel,omitempty"`
	// Source is SourceCallInfo or SourceRosterScan: what found the contact.
	Source string `json:"source,omitempty"`
	// Candidates are the contacts listing the caller when ambiguous.
	Candidates []string `json:"candidates,omitempty"`
}

// match is one contact whose TEL has a key.
type match struct {
	entry int
	tel   string // the TEL's URI, for MatchedTel
}

// Index maps normalised TEL keys (CallerKey) to the contacts listing them,
// for the scan that runs when a call carries no hint. Build it once with
// NewIndex; it is read-only afterwards and safe for concurrent use.
type Index struct {
	entries []Entry
	byKey   map[string][]match
	numbers NumberNormalizer
}

// NewIndex indexes every callable TEL of every entry's vCard
// (contacts.Tels) by its CallerKey under n (GlobalOnly when nil). A contact
// listing one address twice is indexed once for it.
func NewIndex(entries []Entry, n NumberNormalizer) *Index {
	if n == nil {
		n = GlobalOnly
	}
	idx := &Index{entries: entries, byKey: make(map[string][]match), numbers: n}
	for i, e := range entries {
		for _, t := range contacts.Tels(e.Card) {
			if !t.Callable() {
				continue
			}
			key, _ := CallerKey(t.URI, n)
			if key == "" {
				continue
			}
			ms := idx.byKey[key]
			if len(ms) > 0 && ms[len(ms)-1].entry == i {
				continue
			}
			idx.byKey[key] = append(ms, match{entry: i, tel: t.URI})
		}
	}
	return idx
}

// Len reports the number of distinct keys indexed.
func (idx *Index) Len() int {
	if idx == nil {
		return 0
	}
	return len(idx.byKey)
}

// Judge decides who is calling (RFC 7081 §3.5). In order:
//
//   - an anonymous call (Call.Anonymous) is VerdictAnonymous, hints and
//     all: a caller who withheld their identity is not identified;
//   - with Call-Info hints, only the hinted contacts are consulted,
//     through lookup (a roster entry with its vCard; a cache or one vCard
//     fetch), never the index: §3.5 has the hint save the roster walk.
//     Hints are judged in order: the first whose vCard lists the caller
//     is VerdictVerified; else the first hint in the roster is
//     VerdictMismatch (a possible spoof: the caller claims a contact whose
//     vCard does not list them); else VerdictNotInRoster;
//   - without hints, idx is scanned: one contact listing the caller is
//     VerdictVerifiedByScan, several VerdictAmbiguous, none
//     VerdictUnknown.
//
// The caller's address is every P-Asserted-Identity in Call.Asserted (or
// Call.Caller), compared with the vCard TELs exactly by CallerKey under
// idx's NumberNormalizer (GlobalOnly when idx is nil); never by substring
// or suffix. lookup gets a bare canonical JID; a nil lookup finds
// nothing. Judge has no side effects beyond calling lookup.
func Judge(call Call, idx *Index, lookup func(jid string) (Entry, bool)) Result {
	r := Result{Caller: call.Caller, CallerSource: call.CallerSource, Unasserted: call.Unasserted}
	if call.Anonymous {
		r.Verdict = VerdictAnonymous
		return r
	}
	numbers := GlobalOnly
	if idx != nil {
		numbers = idx.numbers
	}
	var keys []string
	addrs := call.Asserted
	if len(addrs) == 0 {
		addrs = []string{call.Caller}
	}
	for _, a := range addrs {
		if k, _ := CallerKey(a, numbers); k != "" {
			keys = append(keys, k)
		}
	}

	if len(call.Hints) > 0 {
		var mismatch *Result
		for _, h := range call.Hints {
			if lookup == nil {
				break
			}
			e, ok := lookup(h)
			if !ok {
				continue
			}
			if tel, ok := listsCaller(e.Card, keys, numbers); ok {
				r.Verdict, r.Hint, r.JID, r.Name, r.MatchedTel, r.Source = VerdictVerified, h, h, entryName(e), tel, SourceCallInfo
				return r
			}
			if mismatch == nil {
				m := r
				m.Verdict, m.Hint, m.JID, m.Name, m.Source = VerdictMismatch, h, h, entryName(e), SourceCallInfo
				mismatch = &m
			}
		}
		if mismatch != nil {
			return *mismatch
		}
		r.Verdict, r.Hint, r.Source = VerdictNotInRoster, call.Hints[0], SourceCallInfo
		return r
	}

	r.Verdict = VerdictUnknown
	if idx == nil {
		return r
	}
	var found []match
	for _, k := range keys {
		for _, m := range idx.byKey[k] {
			if !containsEntry(found, m.entry) {
				found = append(found, m)
			}
		}
	}
	switch len(found) {
	case 0:
	case 1:
		e := idx.entries[found[0].entry]
		r.Verdict, r.JID, r.Name, r.MatchedTel, r.Source = VerdictVerifiedByScan, e.JID, entryName(e), found[0].tel, SourceRosterScan
	default:
		r.Verdict, r.Source = VerdictAmbiguous, SourceRosterScan
		for _, m := range found {
			r.Candidates = append(r.Candidates, idx.entries[m.entry].JID)
		}
	}
	return r
}

// listsCaller reports the first callable TEL of card whose key is one of
// keys.
func listsCaller(card vcard.Card, keys []string, numbers NumberNormalizer) (string, bool) {
	if len(keys) == 0 {
		return "", false
	}
	for _, t := range contacts.Tels(card) {
		if !t.Callable() {
			continue
		}
		k, _ := CallerKey(t.URI, numbers)
		for _, want := range keys {
			if k != "" && k == want {
				return t.URI, true
			}
		}
	}
	return "", false
}

func containsEntry(ms []match, i int) bool {
	for _, m := range ms {
		if m.entry == i {
			return true
		}
	}
	return false
}

// entryName is the roster name, else the vCard's formatted name.
func entryName(e Entry) string {
	if e.Name != "" {
		return e.Name
	}
	if e.Card != nil {
		return e.Card.PreferredValue(vcard.FieldFormattedName)
	}
	return ""
}
