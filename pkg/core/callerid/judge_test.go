package callerid

import (
	"slices"
	"testing"

	"github.com/emersion/go-vcard"
)

// card makes a vCard with the given TEL values.
func card(fn string, tels ...string) vcard.Card {
	c := vcard.Card{}
	c.SetValue(vcard.FieldFormattedName, fn)
	for _, t := range tels {
		c.AddValue(vcard.FieldTelephone, t)
	}
	return c
}

// roster is the test roster: JIDs and their vCards.
var roster = []Entry{
	{JID: "alice@xmpp.example.test", Name: "Alice", Card: card("Alice Liddell", "sip:alice@example.test", "+1 555-0100")},
	{JID: "bob@xmpp.example.test", Card: card("Bob Builder", "sip:bob@Example.Test;transport=tcp", "sip:bob@example.test")},
	{JID: "carol@xmpp.example.test", Name: "Carol", Card: card("Carol", "sip:shared@example.test")},
	{JID: "dave@xmpp.example.test", Name: "Dave", Card: card("Dave", "sip:shared@example.test", "sip:shared@example.test")},
	{JID: "erin@xmpp.example.test", Name: "Erin", Card: card("Erin", "+44 1555 0199", "tel:+1-555-0142;ext=7")},
	{JID: "frank@xmpp.example.test", Name: "Frank"}, // no vCard
	{JID: "grace@xmpp.example.test", Name: "Grace", Card: card("Grace", "not a number", "mailto:grace@example.test", "sip:grace@example.test:5070")},
}

// lookupIn returns a lookup over entries that counts its calls.
func lookupIn(entries []Entry, calls *[]string) func(string) (Entry, bool) {
	return func(jid string) (Entry, bool) {
		*calls = append(*calls, jid)
		for _, e := range entries {
			if e.JID == jid {
				return e, true
			}
		}
		return Entry{}, false
	}
}

func TestJudge(t *testing.T) {
	idx := NewIndex(roster, GlobalOnly)
	hint := func(j string) string { return "Call-Info: <xmpp:" + j + ">;purpose=impp" }
	tests := []struct {
		name     string
		from     string
		extra    []string
		viaProxy bool
		want     Result
		lookups  []string
	}{
		{
			name:    "hint confirmed by the vCard",
			extra:   []string{hint("alice@xmpp.example.test")},
			want:    Result{Verdict: VerdictVerified, Caller: "sip:alice@example.test", Hint: "alice@xmpp.example.test", JID: "alice@xmpp.example.test", Name: "Alice", MatchedTel: "sip:alice@example.test", Source: SourceCallInfo},
			lookups: []string{"alice@xmpp.example.test"},
		},
		{
			name: "no hint, one contact lists the caller",
			from: "From: <sip:bob@example.test>;tag=1",
			want: Result{Verdict: VerdictVerifiedByScan, Caller: "sip:bob@example.test", JID: "bob@xmpp.example.test", Name: "Bob Builder", MatchedTel: "sip:bob@example.test", Source: SourceRosterScan},
		},
		{
			name: "RFC 3261 §19.1.4: a transport param in the caller only does not match",
			from: "From: <sip:alice@example.test;transport=tcp>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "sip:alice@example.test;transport=tcp"},
		},
		{
			name: "no hint, several contacts list the caller",
			from: "From: <sip:shared@example.test>;tag=1",
			want: Result{Verdict: VerdictAmbiguous, Caller: "sip:shared@example.test", Source: SourceRosterScan, Candidates: []string{"carol@xmpp.example.test", "dave@xmpp.example.test"}},
		},
		{
			name:    "hint whose vCard does not list the caller: possible spoof",
			from:    "From: \"Alice\" <sip:mallory@evil.test>;tag=1",
			extra:   []string{hint("alice@xmpp.example.test")},
			want:    Result{Verdict: VerdictMismatch, Caller: "sip:mallory@evil.test", Hint: "alice@xmpp.example.test", JID: "alice@xmpp.example.test", Name: "Alice", Source: SourceCallInfo},
			lookups: []string{"alice@xmpp.example.test"},
		},
		{
			name:    "hint names a genuine caller's other contact: mismatch, never a scan",
			from:    "From: <sip:bob@example.test>;tag=1",
			extra:   []string{hint("alice@xmpp.example.test")},
			want:    Result{Verdict: VerdictMismatch, Caller: "sip:bob@example.test", Hint: "alice@xmpp.example.test", JID: "alice@xmpp.example.test", Name: "Alice", Source: SourceCallInfo},
			lookups: []string{"alice@xmpp.example.test"},
		},
		{
			name:    "hinted JID not in the roster",
			extra:   []string{hint("zed@example.test")},
			want:    Result{Verdict: VerdictNotInRoster, Caller: "sip:alice@example.test", Hint: "zed@example.test", Source: SourceCallInfo},
			lookups: []string{"zed@example.test"},
		},
		{
			name: "nobody lists the caller",
			from: "From: <sip:nobody@example.test>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "sip:nobody@example.test"},
		},
		{
			name:  "Privacy: id",
			extra: []string{"Privacy: id", hint("alice@xmpp.example.test")},
			want:  Result{Verdict: VerdictAnonymous, Caller: "sip:alice@example.test"},
		},
		{
			name: "anonymous From",
			from: `From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1`,
			want: Result{Verdict: VerdictAnonymous, Caller: "sip:anonymous@anonymous.invalid"},
		},
		{
			name:    "number-only caller matched through a TEL with spaces and dashes",
			from:    "From: <sip:+15550100@example.test;user=phone>;tag=1",
			extra:   []string{hint("alice@xmpp.example.test")},
			want:    Result{Verdict: VerdictVerified, Caller: "sip:+15550100@example.test;user=phone", Hint: "alice@xmpp.example.test", JID: "alice@xmpp.example.test", Name: "Alice", MatchedTel: "tel:+15550100", Source: SourceCallInfo},
			lookups: []string{"alice@xmpp.example.test"},
		},
		{
			name: "tel: caller by scan",
			from: "From: <tel:+1-555-0100>;tag=1",
			want: Result{Verdict: VerdictVerifiedByScan, Caller: "tel:+1-555-0100", JID: "alice@xmpp.example.test", Name: "Alice", MatchedTel: "tel:+15550100", Source: SourceRosterScan},
		},
		{
			name: "tel: extension must match",
			from: "From: <tel:+15550142>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "tel:+15550142"},
		},
		{
			name: "tel: with the extension",
			from: "From: <tel:+15550142;ext=7>;tag=1",
			want: Result{Verdict: VerdictVerifiedByScan, Caller: "tel:+15550142;ext=7", JID: "erin@xmpp.example.test", Name: "Erin", MatchedTel: "tel:+15550142;ext=7", Source: SourceRosterScan},
		},
		{
			name: "suffix attack: +15550199 is not +4415550199",
			from: "From: <sip:+15550199@example.test;user=phone>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "sip:+15550199@example.test;user=phone"},
		},
		{
			name:    "suffix attack with a hint: mismatch",
			from:    "From: <tel:+15550199>;tag=1",
			extra:   []string{hint("erin@xmpp.example.test")},
			want:    Result{Verdict: VerdictMismatch, Caller: "tel:+15550199", Hint: "erin@xmpp.example.test", JID: "erin@xmpp.example.test", Name: "Erin", Source: SourceCallInfo},
			lookups: []string{"erin@xmpp.example.test"},
		},
		{
			name: "suffix attack on a SIP host",
			from: "From: <sip:alice@evilexample.test>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "sip:alice@evilexample.test"},
		},
		{
			name: "suffix attack on a SIP user",
			from: "From: <sip:malice@example.test>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "sip:malice@example.test"},
		},
		{
			name: "port must match",
			from: "From: <sip:grace@example.test>;tag=1",
			want: Result{Verdict: VerdictUnknown, Caller: "sip:grace@example.test"},
		},
		{
			name:    "several hints: the first verified wins",
			extra:   []string{hint("zed@example.test") + ", <xmpp:bob@xmpp.example.test>;purpose=impp", hint("alice@xmpp.example.test")},
			want:    Result{Verdict: VerdictVerified, Caller: "sip:alice@example.test", Hint: "alice@xmpp.example.test", JID: "alice@xmpp.example.test", Name: "Alice", MatchedTel: "sip:alice@example.test", Source: SourceCallInfo},
			lookups: []string{"zed@example.test", "bob@xmpp.example.test", "alice@xmpp.example.test"},
		},
		{
			name:    "several hints, none verified: mismatch for the first known",
			from:    "From: <sip:mallory@evil.test>;tag=1",
			extra:   []string{hint("zed@example.test"), hint("frank@xmpp.example.test"), hint("alice@xmpp.example.test")},
			want:    Result{Verdict: VerdictMismatch, Caller: "sip:mallory@evil.test", Hint: "frank@xmpp.example.test", JID: "frank@xmpp.example.test", Name: "Frank", Source: SourceCallInfo},
			lookups: []string{"zed@example.test", "frank@xmpp.example.test", "alice@xmpp.example.test"},
		},
		{
			name:     "trusted PAI, not the spoofed From",
			from:     "From: <sip:alice@example.test>;tag=1",
			extra:    []string{"P-Asserted-Identity: <sip:mallory@evil.test>", hint("alice@xmpp.example.test")},
			viaProxy: true,
			want:     Result{Verdict: VerdictMismatch, Caller: "sip:mallory@evil.test", CallerSource: SourcePAI, Hint: "alice@xmpp.example.test", JID: "alice@xmpp.example.test", Name: "Alice", Source: SourceCallInfo},
			lookups:  []string{"alice@xmpp.example.test"},
		},
		{
			name:     "trusted PAI: the tel identity matches",
			from:     "From: <sip:mallory@evil.test>;tag=1",
			extra:    []string{"P-Asserted-Identity: <sip:a1@gw.example.test>, <tel:+15550100>"},
			viaProxy: true,
			want:     Result{Verdict: VerdictVerifiedByScan, Caller: "sip:a1@gw.example.test", CallerSource: SourcePAI, JID: "alice@xmpp.example.test", Name: "Alice", MatchedTel: "tel:+15550100", Source: SourceRosterScan},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := Parse(invite(t, tt.from, tt.extra...), tt.viaProxy)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var calls []string
			got := Judge(call, idx, lookupIn(roster, &calls))
			want := tt.want
			if want.CallerSource == "" {
				want.CallerSource = SourceFrom
			}
			if !equalResult(got, want) {
				t.Errorf("Judge =\n%+v\nwant\n%+v", got, want)
			}
			if !slices.Equal(calls, tt.lookups) {
				t.Errorf("lookups %q, want %q", calls, tt.lookups)
			}
		})
	}
}

func equalResult(a, b Result) bool {
	return slices.Equal(a.Candidates, b.Candidates) && a.Verdict == b.Verdict && a.Caller == b.Caller &&
		a.CallerSource == b.CallerSource && a.Hint == b.Hint && a.JID == b.JID && a.Name == b.Name &&
		a.MatchedTel == b.MatchedTel && a.Source == b.Source
}

func TestJudgeNils(t *testing.T) {
	call := Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom, Hints: []string{"alice@xmpp.example.test"}}
	if got := Judge(call, nil, nil); got.Verdict != VerdictNotInRoster {
		t.Errorf("nil lookup: %q, want %q", got.Verdict, VerdictNotInRoster)
	}
	call.Hints = nil
	if got := Judge(call, nil, nil); got.Verdict != VerdictUnknown {
		t.Errorf("nil index: %q, want %q", got.Verdict, VerdictUnknown)
	}
	if got := Judge(Call{}, NewIndex(nil, nil), nil); got.Verdict != VerdictUnknown {
		t.Errorf("empty call: %q, want %q", got.Verdict, VerdictUnknown)
	}
}

func TestNewIndex(t *testing.T) {
	idx := NewIndex(roster, nil)
	// alice: 2, bob: 2 (transport=tcp differs), shared: 1, erin: 2, grace: 1.
	if got := idx.Len(); got != 8 {
		t.Errorf("Len = %d, want 8", got)
	}
	if ms := idx.byKey["sip:shared@example.test"]; len(ms) != 2 {
		t.Errorf("shared indexed %d times, want once per contact (2)", len(ms))
	}
}
