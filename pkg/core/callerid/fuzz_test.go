package callerid

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
)

var verdicts = []string{
	VerdictVerified, VerdictVerifiedByScan, VerdictAmbiguous, VerdictMismatch,
	VerdictNotInRoster, VerdictUnknown, VerdictAnonymous,
}

// FuzzParse runs the whois-caller input path, Normalize, Parse and Judge
// against a small roster, and checks what must hold for any input: no
// panic, errors wrap ErrInvalid on one line, Normalize is idempotent and
// its output is parseable by RFC 3261 framing, hints are few bare JIDs,
// a verdict is always one of the seven and consistent with the call.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sip")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	for _, extra := range [][]string{
		{"Call-Info: <xmpp:alice@xmpp.example.test>;purpose=impp"},
		{"Call-Info: <xmpp:bob@xmpp.example.test>;purpose=impp, <xmpp:alice@xmpp.example.test>;purpose=impp", "P-Asserted-Identity: <tel:+15550100>"},
		{"Privacy: id"},
		{"P-Asserted-Identity: \"A\" <sip:shared@example.test>, <tel:+1 555 0100>"},
	} {
		f.Add([]byte(head+"\n"+strings.Join(extra, "\n")+"\n\n"), true)
	}
	f.Add([]byte(strings.Replace(head, "<sip:alice@example.test>", "<sip:+15550100@example.test;user=phone>", 1)), false)
	f.Add([]byte(strings.Replace(head, "<sip:alice@example.test>", "\"Anonymous\" <sip:anonymous@anonymous.invalid>", 1)), false)
	f.Add([]byte(head+"\nContent-Length: 10\n\nv=0\ns=-\n"), false)

	idx := NewIndex(roster, GlobalOnly)
	lookup := func(j string) (Entry, bool) {
		for _, e := range roster {
			if e.JID == j {
				return e, true
			}
		}
		return Entry{}, false
	}
	f.Fuzz(func(t *testing.T, raw []byte, viaProxy bool) {
		// Parse straight from the wire, without Normalize.
		if call, err := Parse(raw, viaProxy); err != nil {
			checkInvalid(t, "Parse(raw)", err)
		} else {
			checkJudge(t, call, idx, lookup)
		}
		norm, err := Normalize(raw)
		if err != nil {
			checkInvalid(t, "Normalize", err)
			return
		}
		again, err := Normalize(norm)
		if err != nil || !bytes.Equal(again, norm) {
			t.Fatalf("Normalize not idempotent: %v\n%q\n%q", err, norm, again)
		}
		if !bytes.Contains(norm, []byte("\r\n\r\n")) || bytes.Contains(bytes.SplitN(norm, []byte("\r\n\r\n"), 2)[0], []byte{'\n', '\n'}) {
			t.Fatalf("Normalize output without a CRLF header section: %q", norm)
		}
		call, err := Parse(norm, viaProxy)
		if err != nil {
			checkInvalid(t, "Parse", err)
			return
		}
		checkJudge(t, call, idx, lookup)
	})
}

func checkJudge(t *testing.T, call Call, idx *Index, lookup func(string) (Entry, bool)) {
	t.Helper()
	if len(call.Hints) > MaxHints {
		t.Fatalf("%d hints", len(call.Hints))
	}
	for _, h := range call.Hints {
		j, err := jid.Parse(h)
		if err != nil || j.Bare().String() != h {
			t.Fatalf("hint %q is not a bare canonical JID", h)
		}
	}
	if call.Caller == "" || (call.CallerSource != SourceFrom && call.CallerSource != SourcePAI) {
		t.Fatalf("caller %q from %q", call.Caller, call.CallerSource)
	}
	if SameSIPURI(call.Caller, call.From) != SameSIPURI(call.From, call.Caller) {
		t.Fatalf("SameSIPURI not symmetric on %q, %q", call.Caller, call.From)
	}
	if _, ok := parseSIPURI(call.Caller); ok && !SameSIPURI(call.Caller, call.Caller) {
		t.Fatalf("SameSIPURI not reflexive on %q", call.Caller)
	}
	var lookups []string
	r := Judge(call, idx, func(j string) (Entry, bool) {
		lookups = append(lookups, j)
		return lookup(j)
	})
	if !slices.Contains(verdicts, r.Verdict) {
		t.Fatalf("verdict %q", r.Verdict)
	}
	switch {
	case call.Anonymous:
		if r.Verdict != VerdictAnonymous || len(lookups) > 0 {
			t.Fatalf("anonymous call judged %q after %d lookups", r.Verdict, len(lookups))
		}
	case len(call.Hints) > 0:
		if r.Source != SourceCallInfo || !slices.Contains(call.Hints, r.Hint) || len(lookups) > len(call.Hints) {
			t.Fatalf("hinted call: %+v after lookups %q", r, lookups)
		}
	default:
		if len(lookups) > 0 || r.Verdict == VerdictVerified || r.Verdict == VerdictMismatch || r.Verdict == VerdictNotInRoster {
			t.Fatalf("unhinted call: %+v after lookups %q", r, lookups)
		}
	}
	if r.Verdict == VerdictVerified || r.Verdict == VerdictVerifiedByScan {
		// The matched TEL must be exactly the caller (or an asserted
		// identity) after normalisation.
		want, _ := CallerKey(r.MatchedTel, GlobalOnly)
		addrs := call.Asserted
		if len(addrs) == 0 {
			addrs = []string{call.Caller}
		}
		found := false
		for _, a := range addrs {
			if k, _ := CallerKey(a, GlobalOnly); k != "" && k == want {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: matched TEL %q is not the caller %q", r.Verdict, r.MatchedTel, addrs)
		}
	}
}
