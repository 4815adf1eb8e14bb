package contacts

import (
	"errors"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/uri"
)

// Entry is one roster entry as Resolve sees it.
type Entry struct {
	JID  string `json:"jid"`
	Name string `json:"name,omitempty"`
}

var (
	// ErrNoMatch: no roster entry matches and the query is not a JID.
	ErrNoMatch = errors.New("no contact matches")
	// ErrAmbiguous: several roster entries match.
	ErrAmbiguous = errors.New("contact is ambiguous")
)

// maxCandidates bounds the candidates an ambiguity error lists.
const maxCandidates = 10

// Resolve finds the contact a CONTACT argument means, trying in turn:
//
//  1. an xmpp: URI (RFC 5122; the query part such as ?message is dropped)
//     or a string with '@' that is a valid JID, compared with the roster's
//     JIDs after PRECIS (RFC 7622: case-insensitive domain, case-mapped
//     local part); a bare domain JID also matches a roster entry with that
//     JID. A resource in the query is kept in the returned JID. A JID not
//     in the roster is returned as Entry{JID: it} with no error (the caller
//     may still talk to it, and should say it is not a contact), unless a
//     roster name equals the query (step 2 or 3);
//  2. an exact roster name;
//  3. a roster name equal to the query ignoring case;
//  4. a unique roster name starting with the query, ignoring case.
//
// Several entries at the first step that matches give an error wrapping
// ErrAmbiguous that lists them as "Name <jid>"; nothing gives one wrapping
// ErrNoMatch (so does an empty query or an invalid xmpp: URI).
func Resolve(entries []Entry, query string) (Entry, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return Entry{}, fmt.Errorf("empty contact: %w", ErrNoMatch)
	}
	if len(q) >= 5 && strings.EqualFold(q[:5], "xmpp:") {
		j, err := xmppURI(q)
		if err != nil {
			return Entry{}, fmt.Errorf("contact %q: not a valid xmpp: uri: %w", query, ErrNoMatch)
		}
		return byJID(entries, j, query, true)
	}
	if j, err := jid.Parse(q); err == nil && (strings.Contains(q, "@") || inRoster(entries, j)) {
		if inRoster(entries, j) {
			return byJID(entries, j, query, false)
		}
		// A roster name may look like a JID ("bob@work"); the exact name
		// is the likelier meaning than a stranger's address.
		if e, ok, err := byName(entries, q, query, false); ok {
			return e, err
		}
		return byJID(entries, j, query, true)
	}
	if e, ok, err := byName(entries, q, query, true); ok {
		return e, err
	}
	return Entry{}, fmt.Errorf("contact %q: %w", query, ErrNoMatch)
}

// byName tries the name steps of Resolve in turn (the prefix step only
// with prefix) and reports whether one of them matched.
func byName(entries []Entry, q, query string, prefix bool) (e Entry, matched bool, err error) {
	low := strings.ToLower(q)
	steps := []func(e Entry) bool{
		func(e Entry) bool { return e.Name == q },
		func(e Entry) bool { return strings.EqualFold(e.Name, q) },
	}
	if prefix {
		steps = append(steps, func(e Entry) bool { return e.Name != "" && strings.HasPrefix(strings.ToLower(e.Name), low) })
	}
	for _, match := range steps {
		if found := filter(entries, match); len(found) == 1 {
			return found[0], true, nil
		} else if len(found) > 1 {
			return Entry{}, true, ambiguous(query, found)
		}
	}
	return Entry{}, false, nil
}

// xmppURI returns the JID of an xmpp: URI. mellium's parser handles the
// xmpp://auth@host/jid form and percent-encoding; a bare "xmpp:jid?query"
// that it rejects is retried without the query.
func xmppURI(q string) (jid.JID, error) {
	if u, err := uri.Parse(q); err == nil {
		return u.ToAddr, nil
	}
	s := q[5:]
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return jid.Parse(s)
}

func byJID(entries []Entry, j jid.JID, query string, outside bool) (Entry, error) {
	// mellium accepts "a@.." (domainpart ".") and then refuses its own
	// String(); such a JID addresses nothing.
	if strings.Trim(j.Domainpart(), ".") == "" {
		return Entry{}, fmt.Errorf("contact %q: not a valid jid: %w", query, ErrNoMatch)
	}
	if _, err := jid.Parse(j.String()); err != nil {
		return Entry{}, fmt.Errorf("contact %q: not a valid jid: %w", query, ErrNoMatch)
	}
	found := filter(entries, func(e Entry) bool { return sameBare(e.JID, j) })
	switch {
	case len(found) == 1:
		e := found[0]
		if j.Resourcepart() != "" {
			e.JID = j.String()
		}
		return e, nil
	case len(found) > 1:
		return Entry{}, ambiguous(query, found)
	case outside:
		return Entry{JID: j.String()}, nil
	}
	return Entry{}, fmt.Errorf("contact %q: %w", query, ErrNoMatch)
}

func inRoster(entries []Entry, j jid.JID) bool {
	for _, e := range entries {
		if sameBare(e.JID, j) {
			return true
		}
	}
	return false
}

// sameBare compares a roster JID with j's bare JID after PRECIS; a roster
// JID that does not parse is compared as text, ignoring case.
func sameBare(rosterJID string, j jid.JID) bool {
	r, err := jid.Parse(strings.TrimSpace(rosterJID))
	if err != nil {
		return strings.EqualFold(strings.TrimSpace(rosterJID), j.Bare().String())
	}
	return r.Bare().Equal(j.Bare())
}

func filter(entries []Entry, keep func(Entry) bool) []Entry {
	var out []Entry
	for _, e := range entries {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func ambiguous(query string, found []Entry) error {
	names := make([]string, 0, min(len(found), maxCandidates))
	for i, e := range found {
		if i == maxCandidates {
			names = append(names, fmt.Sprintf("and %d more", len(found)-maxCandidates))
			break
		}
		// Roster names are other people's text: no control characters
		// reach the terminal through an error message.
		if e.Name != "" {
			names = append(names, printable(e.Name)+" <"+printable(e.JID)+">")
		} else {
			names = append(names, "<"+printable(e.JID)+">")
		}
	}
	return fmt.Errorf("contact %q matches %s: %w", query, strings.Join(names, ", "), ErrAmbiguous)
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
