package contacts

import (
	"errors"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
)

// FuzzResolve: any query against any roster gives an entry or an error
// wrapping ErrNoMatch or ErrAmbiguous, never a panic; an entry is one of
// the roster's (its JID possibly with the query's resource) or a JID that
// parses.
func FuzzResolve(f *testing.F) {
	f.Add("bob", "bob@example.test\x1fBob\x1ebobby@example.test\x1fBobby")
	f.Add("xmpp:bob@example.test?message", "bob@example.test\x1fBob")
	f.Add("Bob@Example.test/res", "bob@example.test\x1f")
	f.Add("xmpp://a@b/c@d", "")
	f.Add("example.test", "example.test\x1fServer\x1ebad jid\x1fX")
	f.Fuzz(func(t *testing.T, query, rosterText string) {
		var entries []Entry
		for e := range strings.SplitSeq(rosterText, "\x1e") {
			j, name, _ := strings.Cut(e, "\x1f")
			entries = append(entries, Entry{JID: j, Name: name})
		}
		got, err := Resolve(entries, query)
		if err != nil {
			if !errors.Is(err, ErrNoMatch) && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("error %v wraps neither ErrNoMatch nor ErrAmbiguous", err)
			}
			if got != (Entry{}) {
				t.Fatalf("entry %+v returned with error", got)
			}
			return
		}
		for _, e := range entries {
			if e.Name == got.Name && (e.JID == got.JID || strings.HasPrefix(got.JID, strings.TrimSpace(e.JID)) || sameBareString(e.JID, got.JID)) {
				return
			}
		}
		if got.Name != "" {
			t.Fatalf("entry %+v is not in the roster", got)
		}
		if _, err := jid.Parse(got.JID); err != nil {
			t.Fatalf("entry %+v outside the roster has an invalid JID: %v", got, err)
		}
	})
}

func sameBareString(rosterJID, got string) bool {
	j, err := jid.Parse(got)
	return err == nil && sameBare(rosterJID, j)
}

// FuzzNormalize: Normalize never panics, a dialable result is idempotent
// and carries no character that could break a SIP header line.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"sip:bob@example.test;user=phone?x=y", "tel:sip:a@b", "+1 (555) 0100", "tel:+1;ext=2", "sips:[::1]:5061", "sip:a:b@c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		uri, kind := Normalize(s)
		switch kind {
		case KindOther:
			return
		case KindSIP, KindPhone:
		default:
			t.Fatalf("kind %q", kind)
		}
		if strings.ContainsFunc(uri, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("Normalize(%q) = %q with a control character", s, uri)
		}
		if u2, k2 := Normalize(uri); u2 != uri || k2 != kind {
			t.Fatalf("Normalize(%q) = %q %s, but Normalize(%q) = %q %s", s, uri, kind, uri, u2, k2)
		}
	})
}
