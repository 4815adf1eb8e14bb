package callerid

import (
	"fmt"
	"testing"

	"github.com/emersion/go-vcard"
)

// benchRoster makes n contacts, each with a SIP URI, a phone number
// written with separators and a work number.
func benchRoster(n int) ([]Entry, map[string]Entry) {
	entries := make([]Entry, n)
	byJID := make(map[string]Entry, n)
	for i := range entries {
		c := vcard.Card{}
		c.SetValue(vcard.FieldFormattedName, fmt.Sprintf("User %d", i))
		c.AddValue(vcard.FieldTelephone, fmt.Sprintf("sip:user%d@example.test", i))
		c.AddValue(vcard.FieldTelephone, fmt.Sprintf("+1 202 555-%04d", i))
		c.AddValue(vcard.FieldTelephone, fmt.Sprintf("tel:+44-20-7946-%04d", i))
		e := Entry{JID: fmt.Sprintf("user%d@xmpp.example.test", i), Card: c}
		entries[i] = e
		byJID[e.JID] = e
	}
	return entries, byJID
}

// BenchmarkJudge: a 1,000-contact roster, index already built; the
// caller is the last contact. hint: one lookup and one vCard's TELs;
// scan: one index probe.
func BenchmarkJudge(b *testing.B) {
	entries, byJID := benchRoster(1000)
	idx := NewIndex(entries, GlobalOnly)
	lookup := func(j string) (Entry, bool) { e, ok := byJID[j]; return e, ok }
	cases := []struct {
		name string
		call Call
		want string
	}{
		{"hint", Call{Caller: "sip:user999@example.test", CallerSource: SourceFrom, Hints: []string{"user999@xmpp.example.test"}}, VerdictVerified},
		{"hint-phone", Call{Caller: "sip:+12025550999@gw.example.test;user=phone", CallerSource: SourceFrom, Hints: []string{"user999@xmpp.example.test"}}, VerdictVerified},
		{"scan", Call{Caller: "sip:user999@example.test", CallerSource: SourceFrom}, VerdictVerifiedByScan},
		{"scan-phone", Call{Caller: "sip:+12025550999@gw.example.test;user=phone", CallerSource: SourceFrom}, VerdictVerifiedByScan},
		{"scan-unknown", Call{Caller: "sip:nobody@example.test", CallerSource: SourceFrom}, VerdictUnknown},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if r := Judge(c.call, idx, lookup); r.Verdict != c.want {
				b.Fatalf("verdict %q, want %q", r.Verdict, c.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				Judge(c.call, idx, lookup)
			}
		})
	}
}

// BenchmarkNewIndex: indexing a 1,000-contact roster (3,000 TELs).
func BenchmarkNewIndex(b *testing.B) {
	entries, _ := benchRoster(1000)
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(entries, GlobalOnly)
	}
}

// BenchmarkParse: Normalize and Parse of an LF-only INVITE with a hint.
func BenchmarkParse(b *testing.B) {
	raw := []byte(head + "\nCall-Info: <xmpp:alice@xmpp.example.test>;purpose=impp\nContent-Length: 10\n\nv=0\ns=-\n")
	b.ReportAllocs()
	for b.Loop() {
		norm, err := Normalize(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(norm, false); err != nil {
			b.Fatal(err)
		}
	}
}
