package roster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/addressbook"
)

// roster show finds a contact the way contacts.Resolve does (JID, exact
// name, unique name prefix) and, when that finds nothing, by search:
// a case-insensitive substring of the name or the JID (so a domain finds
// its contacts), else a phone number in the contact's vCard. One match is
// shown; several are a usage error listing them.

// maxListed bounds the candidates a "matches several" error names.
const maxListed = 10

// searchEntries returns the entries whose name or JID contains query,
// ignoring case.
func searchEntries(entries []contacts.Entry, query string) []contacts.Entry {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return nil
	}
	var out []contacts.Entry
	for _, e := range entries {
		if strings.Contains(strings.ToLower(e.Name), q) || strings.Contains(strings.ToLower(e.JID), q) {
			out = append(out, e)
		}
	}
	return out
}

// numberQuery returns the digits of query when it reads as a phone number
// (digits with + - . ( ) / and spaces, at least three digits), else "".
func numberQuery(query string) string {
	var digits strings.Builder
	for _, r := range strings.TrimSpace(query) {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune("+-.()/ ", r):
		default:
			return ""
		}
	}
	if digits.Len() < 3 {
		return ""
	}
	return digits.String()
}

// hasNumber reports whether one of c's TELs holds digits: the tel: number,
// or the user part of a sip: URI (not its host, whose digits are an
// address).
func hasNumber(c addressbook.Contact, digits string) bool {
	for _, t := range c.Tels {
		u := t.URI
		if i := strings.IndexByte(u, ':'); i >= 0 {
			u = u[i+1:]
		}
		if t.Kind == contacts.KindSIP {
			user, _, ok := strings.Cut(u, "@")
			if !ok {
				continue
			}
			u = user
		}
		if strings.Contains(onlyDigits(u), digits) {
			return true
		}
	}
	return false
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// matchesSeveral is the usage error for a search with several results.
func matchesSeveral(query string, found []contacts.Entry) error {
	names := make([]string, 0, min(len(found), maxListed+1))
	for i, e := range found {
		if i == maxListed {
			names = append(names, fmt.Sprintf("and %d more", len(found)-maxListed))
			break
		}
		if e.Name != "" {
			names = append(names, cmdutil.TermSafe(e.Name)+" <"+cmdutil.TermSafe(e.JID)+">")
		} else {
			names = append(names, "<"+cmdutil.TermSafe(e.JID)+">")
		}
	}
	return cmdutil.Usagef("contact %q matches %s: %w", query, strings.Join(names, ", "), contacts.ErrAmbiguous)
}

// isNoMatch: Resolve found nothing (rather than several).
func isNoMatch(err error) bool { return errors.Is(err, contacts.ErrNoMatch) }
