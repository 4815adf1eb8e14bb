package contacts

import (
	"errors"
	"strings"
	"testing"
)

var roster = []Entry{
	{JID: "alice@example.test", Name: "Alice Liddell"},
	{JID: "bob@example.test", Name: "Bob"},
	{JID: "bobby@example.test", Name: "Bobby Tables"},
	{JID: "carol@biloxi.example.com", Name: "Carol"},
	{JID: "dave@example.test", Name: "dave"},
	{JID: "dave2@example.test", Name: "Dave"},
	{JID: "eve@example.test", Name: "Eve"},
	{JID: "eve2@example.test", Name: "Eve"},
	{JID: "gateway.example.test"},
	{JID: "nameless@example.test"},
	{JID: "frank@example.test", Name: "frank@work"},
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		want    Entry
		wantErr error
		errHas  []string
	}{
		{name: "bare jid", query: "bob@example.test", want: roster[1]},
		{name: "jid with case and spaces", query: "  BOB@Example.TEST ", want: roster[1]},
		{name: "jid with resource", query: "bob@example.test/phone", want: Entry{JID: "bob@example.test/phone", Name: "Bob"}},
		{name: "xmpp uri", query: "xmpp:carol@biloxi.example.com", want: roster[3]},
		{name: "xmpp uri with query", query: "xmpp:carol@biloxi.example.com?message;body=hi", want: roster[3]},
		{name: "xmpp uri upper-case scheme", query: "XMPP:alice@example.test", want: roster[0]},
		{name: "xmpp uri percent-encoded", query: "xmpp:alice%40example.test", want: roster[0]},
		{name: "xmpp uri with authority", query: "xmpp://me@example.test/bob@example.test?message", want: roster[1]},
		{name: "xmpp uri outside roster", query: "xmpp:zed@elsewhere.test?join", want: Entry{JID: "zed@elsewhere.test"}},
		{name: "domain jid in roster", query: "gateway.example.test", want: roster[8]},
		{name: "exact name", query: "Bob", want: roster[1]},
		{name: "exact name wins over prefix", query: "Bob", want: roster[1]},
		{name: "exact name among case variants", query: "Dave", want: roster[5]},
		{name: "name ignoring case", query: "carol", want: roster[3]},
		{name: "unique prefix", query: "ali", want: roster[0]},
		{name: "unique prefix ignoring case", query: "bobby", want: roster[2]},
		{name: "jid outside roster", query: "zed@elsewhere.test", want: Entry{JID: "zed@elsewhere.test"}},
		{name: "name that looks like a jid", query: "Frank@Work", want: roster[10]},
		{name: "nameless entry by jid", query: "nameless@example.test", want: roster[9]},
		{
			name: "ambiguous prefix", query: "bo",
			wantErr: ErrAmbiguous, errHas: []string{"Bob <bob@example.test>", "Bobby Tables <bobby@example.test>"},
		},
		{
			name: "ambiguous exact name", query: "Eve",
			wantErr: ErrAmbiguous, errHas: []string{"Eve <eve@example.test>", "Eve <eve2@example.test>"},
		},
		{
			name: "ambiguous case-insensitive name", query: "DAVE",
			wantErr: ErrAmbiguous, errHas: []string{"dave <dave@example.test>", "Dave <dave2@example.test>"},
		},
		{name: "no match", query: "zed", wantErr: ErrNoMatch, errHas: []string{`"zed"`}},
		{name: "empty", query: "  ", wantErr: ErrNoMatch},
		{name: "invalid xmpp uri", query: "xmpp:@", wantErr: ErrNoMatch},
		{name: "invalid jid with @ is not a name", query: "bob@", wantErr: ErrNoMatch},
		{name: "bare word that is a valid domain but not in roster", query: "example", wantErr: ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(roster, tt.query)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%q) = %+v, %v; want %v", tt.query, got, err, tt.wantErr)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestResolveAmbiguityListIsBoundedAndPrintable(t *testing.T) {
	var many []Entry
	for i := range 15 {
		many = append(many, Entry{JID: "u" + string(rune('a'+i)) + "@example.test", Name: "User\x1b[31m"})
	}
	_, err := Resolve(many, "user")
	if !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	if strings.ContainsRune(msg, '\x1b') {
		t.Errorf("control character in %q", msg)
	}
	if !strings.Contains(msg, "and 5 more") {
		t.Errorf("%q does not say how many more", msg)
	}
	if msg != strings.ToLower(msg[:1])+msg[1:] {
		t.Errorf("error %q starts upper-case", msg)
	}
}
