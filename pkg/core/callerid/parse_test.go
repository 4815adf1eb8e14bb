package callerid

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// invite builds a normalised INVITE with extra header lines after the
// mandatory ones, the From line replaced when from is not "".
func invite(t testing.TB, from string, extra ...string) []byte {
	t.Helper()
	if from == "" {
		from = "From: <sip:alice@example.test>;tag=1"
	}
	lines := []string{
		"INVITE sip:bob@example.test SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1",
		"To: <sip:bob@example.test>",
		from,
		"Call-ID: c1@example.test",
		"CSeq: 1 INVITE",
	}
	raw, err := Normalize([]byte(strings.Join(append(lines, extra...), "\n")))
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	return raw
}

func TestParse(t *testing.T) {
	const pai = "P-Asserted-Identity: \"Alice A.\" <sip:alice@example.test>, <tel:+15550100>"
	tests := []struct {
		name     string
		raw      []byte
		viaProxy bool
		want     Call
	}{
		{
			name: "From only",
			raw:  invite(t, `From: "Alice" <sip:alice@example.test>;tag=1`),
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom, DisplayName: "Alice"},
		},
		{
			name: "PAI ignored when not trusted",
			raw:  invite(t, "From: <sip:mallory@evil.test>;tag=1", pai),
			want: Call{Caller: "sip:mallory@evil.test", CallerSource: SourceFrom, From: "sip:mallory@evil.test",
				Unasserted: []string{"sip:alice@example.test", "tel:+15550100"}},
		},
		{
			name:     "PAI trusted via our proxy",
			raw:      invite(t, "From: <sip:mallory@evil.test>;tag=1", pai),
			viaProxy: true,
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourcePAI, From: "sip:mallory@evil.test",
				Asserted: []string{"sip:alice@example.test", "tel:+15550100"}, DisplayName: "Alice A."},
		},
		{
			name:     "PAI in two headers",
			raw:      invite(t, "", "P-Asserted-Identity: <tel:+15550100>", "P-Asserted-Identity: sip:alice@example.test"),
			viaProxy: true,
			want: Call{Caller: "tel:+15550100", CallerSource: SourcePAI,
				Asserted: []string{"tel:+15550100", "sip:alice@example.test"}},
		},
		{
			name:     "via our proxy without PAI: From",
			raw:      invite(t, ""),
			viaProxy: true,
			want:     Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom},
		},
		{
			name: "compact From and Call-ID",
			raw: []byte("INVITE sip:bob@example.test SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n" +
				"t: <sip:bob@example.test>\r\nf: Alice <sip:alice@example.test>;tag=1\r\ni: c1@example.test\r\nCSeq: 1 INVITE\r\n\r\n"),
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom, DisplayName: "Alice"},
		},
		{
			name: "several Call-Info headers and values",
			raw: invite(t, "",
				"Call-Info: <http://www.example.test/alice/photo.jpg> ;purpose=icon, <xmpp:mallory@evil.test>;purpose=info",
				`Call-Info: <XMPP:Alice@XMPP.Example.Test/phone?message;subject=hi> ;Purpose=IMPP, <xmpp:carol@example.test>;purpose="impp"`,
				"Call-Info: <xmpp:alice@xmpp.example.test>;purpose=impp, <xmpp://guest@example.test/dave@example.test>;purpose=impp",
				"Call-Info: <sip:eve@example.test>;purpose=impp, <xmpp:not a jid@@>;purpose=impp, <xmpp:frank%40x@example.test>;purpose=impp",
				"Call-Info: <xmpp:grace@example.test>;purpose=impp-not, <xmpp:heidi@example.test>",
			),
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom,
				Hints: []string{"alice@xmpp.example.test", "carol@example.test", "dave@example.test"}},
		},
		{
			name: "Privacy: id",
			raw:  invite(t, "", "Privacy: id"),
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom, Privacy: []string{"id"}, Anonymous: true},
		},
		{
			name: "Privacy: header;critical",
			raw:  invite(t, "", "Privacy: header;critical"),
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom, Privacy: []string{"header", "critical"}, Anonymous: true},
		},
		{
			name: "Privacy: none",
			raw:  invite(t, "", "Privacy: none"),
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourceFrom, Privacy: []string{"none"}},
		},
		{
			name: "RFC 3323 anonymous From",
			raw:  invite(t, `From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1`, "Call-Info: <xmpp:alice@example.test>;purpose=impp"),
			want: Call{Caller: "sip:anonymous@anonymous.invalid", CallerSource: SourceFrom, DisplayName: "Anonymous", Anonymous: true,
				Hints: []string{"alice@example.test"}},
		},
		{
			name: "anonymous user at a real host",
			raw:  invite(t, "From: <sip:Anonymous@example.test>;tag=1"),
			want: Call{Caller: "sip:Anonymous@example.test", CallerSource: SourceFrom, Anonymous: true},
		},
		{
			name: "anonymous.invalid host",
			raw:  invite(t, "From: <sip:alice@anonymous.invalid>;tag=1"),
			want: Call{Caller: "sip:alice@anonymous.invalid", CallerSource: SourceFrom, Anonymous: true},
		},
		{
			name:     "trusted PAI identifies a caller with an anonymous From",
			raw:      invite(t, `From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1`, "P-Asserted-Identity: <sip:alice@example.test>"),
			viaProxy: true,
			want: Call{Caller: "sip:alice@example.test", CallerSource: SourcePAI, From: "sip:anonymous@anonymous.invalid",
				Asserted: []string{"sip:alice@example.test"}},
		},
		{
			name: "number-only caller",
			raw:  invite(t, "From: <sip:+15550100@example.test;user=phone>;tag=1"),
			want: Call{Caller: "sip:+15550100@example.test;user=phone", CallerSource: SourceFrom},
		},
		{
			name: "tel From",
			raw:  invite(t, "From: tel:+15550100;tag=1"),
			want: Call{Caller: "tel:+15550100", CallerSource: SourceFrom},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.viaProxy)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tt.want
			want.Method, want.CallID = "INVITE", "c1@example.test"
			if want.From == "" {
				want.From = got.Caller
				if want.CallerSource == SourcePAI {
					want.From = "sip:alice@example.test"
				}
			}
			if got.Method != want.Method || got.CallID != want.CallID || got.Caller != want.Caller ||
				got.CallerSource != want.CallerSource || got.From != want.From || got.DisplayName != want.DisplayName ||
				got.Anonymous != want.Anonymous || !slices.Equal(got.Hints, want.Hints) ||
				!slices.Equal(got.Asserted, want.Asserted) || !slices.Equal(got.Privacy, want.Privacy) ||
				!slices.Equal(got.Unasserted, want.Unasserted) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestParseCaptureFile(t *testing.T) {
	raw, err := os.ReadFile("testdata/invite-call-info-no-blank.sip")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(raw, false); err == nil {
		t.Error("Parse accepted an LF-only message; want it to need Normalize")
	}
	norm, err := Normalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(norm, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alice@xmpp.example.test", "carol@xmpp.example.test"}; !slices.Equal(c.Hints, want) {
		t.Errorf("Hints = %q, want %q", c.Hints, want)
	}
}

func TestParseMethods(t *testing.T) {
	raw := []byte(crlf("MESSAGE sip:bob@example.test SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:bob@example.test>\n" +
		"From: <sip:alice@example.test>;tag=1\nCall-ID: m1\nCSeq: 1 MESSAGE\n\n"))
	c, err := Parse(raw, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "MESSAGE" || c.IsInvite() {
		t.Errorf("Method = %q, IsInvite = %v", c.Method, c.IsInvite())
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name     string
		raw      []byte
		viaProxy bool
		want     string
	}{
		{"response", []byte(crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:b@example.test>\nFrom: <sip:a@example.test>;tag=1\nCall-ID: x\nCSeq: 1 INVITE\n\n")), false, "a response"},
		{"not SIP", []byte("GET / HTTP/1.1\r\n\r\n"), false, "sip message:"},
		{"LF only", []byte(head + "\n\n"), false, "sip message:"},
		{"no From", []byte(crlf("INVITE sip:b@example.test SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nCall-ID: x\nCSeq: 1 INVITE\n\n")), false, "0 From headers"},
		{"two From", invite(t, "", "From: <sip:mallory@evil.test>;tag=2"), false, "2 From headers"},
		{"no Call-ID", []byte(crlf("INVITE sip:b@example.test SIP/2.0\nFrom: <sip:a@example.test>\nCSeq: 1 INVITE\n\n")), false, "no Call-ID"},
		{"From with two @", invite(t, "From: <sip:a@b@example.test>;tag=1"), false, "malformed From"},
		{"From unclosed", invite(t, "From: \"Alice <sip:a@example.test>;tag=1"), false, ""},
		{"From bad host", invite(t, "From: <sip:alice@exa mple.test>;tag=1"), false, ""},
		{"From bad port", invite(t, "From: <sip:alice@example.test:99999>;tag=1"), false, ""},
		{"PAI with three values", invite(t, "", "P-Asserted-Identity: <sip:a@example.test>, <tel:+1555>, <tel:+1666>"), true, "more than two"},
		{"PAI with two SIP URIs", invite(t, "", "P-Asserted-Identity: <sip:a@example.test>, <sips:b@example.test>"), true, "malformed P-Asserted-Identity"},
		{"PAI http", invite(t, "", "P-Asserted-Identity: <http://example.test/>"), true, "malformed P-Asserted-Identity"},
		{"too large", make([]byte, MaxMessage+1), false, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.raw, tt.viaProxy)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if !errors.Is(err, protocol.ErrInvalid) || strings.ContainsAny(err.Error(), "\r\n") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want one line wrapping ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}
