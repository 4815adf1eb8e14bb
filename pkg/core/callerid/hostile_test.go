package callerid

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// TestHostile feeds input meant to break the parser or slow it down: each
// case must end in an ErrInvalid error or a verdict, quickly.
func TestHostile(t *testing.T) {
	many := func(n int, v string) string { return strings.TrimSuffix(strings.Repeat(v+",", n), ",") }
	long := func(prefix string, n int) string { return prefix + strings.Repeat("a", n) }
	tests := []struct {
		name string
		raw  string
	}{
		{"huge header", head + "\n" + long("Subject: ", 60000) + "\n\n"},
		{"huge From", strings.Replace(head, "From: <sip:alice@example.test>;tag=1", "From: <sip:"+long("", 60000)+"@example.test>", 1) + "\n\n"},
		{"binary junk", "\x00\x01\x02\xff\xfe INVITE\x00sip:\r\n\r\n"},
		{"binary body", head + "\nContent-Length: 8\n\n\x00\x01\x02\x03\xff\xfe\r\n"},
		{"10k empty Call-Info values", head + "\nCall-Info: " + many(10000, "<x:>") + "\n\n"},
		{"10k Call-Info headers", head + strings.Repeat("\nCall-Info: <xmpp:a@b.test>;purpose=impp", 10000) + "\n\n"},
		{"2.4k valid hints in one header", head + "\nCall-Info: " + many(2400, "<xmpp:a@b.test>;purpose=impp") + "\n\n"},
		{"unterminated quote", head + "\nCall-Info: \"" + many(5000, "<xmpp:a@b.test>;purpose=impp") + "\n\n"},
		{"unterminated angle", head + "\nCall-Info: <" + many(5000, "xmpp:a@b.test;purpose=impp") + "\n\n"},
		{"escapes", head + "\nCall-Info: <xmpp:" + strings.Repeat("%", 20000) + ">;purpose=impp\n\n"},
		{"broken From URI", strings.Replace(head, "<sip:alice@example.test>", "<sip:@:;?&=%>", 1) + "\n\n"},
		{"From of brackets", strings.Replace(head, "<sip:alice@example.test>", strings.Repeat("<", 5000), 1) + "\n\n"},
		{"broken PAI", head + "\nP-Asserted-Identity: <sip:[::1>, \"\\\n\n"},
		{"broken xmpp URIs", head + "\nCall-Info: <xmpp:>;purpose=impp, <xmpp:@>;purpose=impp, <xmpp://x>;purpose=impp, <xmpp:a@b/>;purpose=impp, <xmpp:%ff@b>;purpose=impp\n\n"},
		{"many params", head + "\nCall-Info: <xmpp:a@b.test>" + strings.Repeat(";purpose=impp", 4000) + "\n\n"},
		{"deep folding", head + "\nSubject: a" + strings.Repeat("\n a", 5000) + "\n\n"},
		{"many Privacy values", head + "\nPrivacy: " + strings.Repeat("none;", 10000) + "\n\n"},
		{"request line junk", "INVITE " + strings.Repeat("sip:", 10000) + " SIP/2.0\n\n"},
	}
	idx := NewIndex(roster, GlobalOnly)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			var lookups int
			lookup := func(j string) (Entry, bool) {
				lookups++
				return Entry{}, false
			}
			for _, viaProxy := range []bool{false, true} {
				// Through Normalize, as whois-caller reads files, and
				// straight into Parse.
				inputs := [][]byte{[]byte(crlf(tt.raw))}
				if norm, err := Normalize([]byte(tt.raw)); err != nil {
					checkInvalid(t, "Normalize", err)
				} else {
					inputs = append(inputs, norm)
				}
				for _, in := range inputs {
					call, err := Parse(in, viaProxy)
					if err != nil {
						checkInvalid(t, "Parse", err)
						continue
					}
					if len(call.Hints) > MaxHints {
						t.Errorf("%d hints, more than %d", len(call.Hints), MaxHints)
					}
					if r := Judge(call, idx, lookup); r.Verdict == "" {
						t.Error("no verdict")
					}
				}
			}
			if lookups > 4*MaxHints {
				t.Errorf("%d lookups", lookups)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("%s: error %v does not wrap ErrInvalid", what, err)
	}
	if strings.ContainsAny(err.Error(), "\r\n") || len(err.Error()) > 400 {
		t.Errorf("%s: error not one short line: %q", what, err)
	}
}

// TestHintsBounded: thousands of distinct hints cost at most MaxHints
// lookups (each may be a vCard fetch).
func TestHintsBounded(t *testing.T) {
	var vals []string
	for i := range 1500 {
		vals = append(vals, "<xmpp:u"+strings.Repeat("x", i%3)+itoa3(i)+"@b.test>;purpose=impp")
	}
	call, err := Parse([]byte(crlf(head+"\nCall-Info: "+strings.Join(vals, ",")+"\n\n")), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(call.Hints) != MaxHints {
		t.Fatalf("%d hints, want %d", len(call.Hints), MaxHints)
	}
	var calls []string
	if r := Judge(call, NewIndex(roster, nil), lookupIn(roster, &calls)); r.Verdict != VerdictNotInRoster || len(calls) != MaxHints {
		t.Errorf("verdict %q after %d lookups; want %q after %d", r.Verdict, len(calls), VerdictNotInRoster, MaxHints)
	}
}

func itoa3(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}
