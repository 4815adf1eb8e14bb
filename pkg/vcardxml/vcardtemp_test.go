package vcardxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

const fullVCardTemp = `<vCard xmlns="vcard-temp">` +
	`<FN>Bob Example</FN>` +
	`<N><FAMILY>Example</FAMILY><GIVEN>Bob</GIVEN><MIDDLE>Q.</MIDDLE><PREFIX>Dr.</PREFIX><SUFFIX>Jr.</SUFFIX></N>` +
	`<NICKNAME>bobby</NICKNAME>` +
	`<PHOTO><EXTVAL>https://example.test/bob.png</EXTVAL></PHOTO>` +
	`<BDAY>1984-02-03</BDAY>` +
	`<ADR><WORK/><PREF/><POBOX>PO 1</POBOX><EXTADD>Suite 2</EXTADD><STREET>1 Main St</STREET><LOCALITY>Town</LOCALITY><REGION>State</REGION><PCODE>12345</PCODE><CTRY>US</CTRY></ADR>` +
	`<TEL><WORK/><VOICE/><VIDEO/><NUMBER>sip:bob@example.test</NUMBER></TEL>` +
	`<TEL><CELL/><VOICE/><PREF/><NUMBER>+1-555-555-0100</NUMBER></TEL>` +
	`<TEL><HOME/><FAX/><MSG/><PAGER/><BBS/><MODEM/><ISDN/><PCS/><NUMBER>+44 (20) 7946.0000</NUMBER></TEL>` +
	`<EMAIL><INTERNET/><WORK/><PREF/><USERID>bob@example.test</USERID></EMAIL>` +
	`<EMAIL><HOME/><X400/><USERID>bob@home.test</USERID></EMAIL>` +
	`<JABBERID>bob@example.test</JABBERID>` +
	`<TITLE>Engineer</TITLE>` +
	`<ROLE>Lead</ROLE>` +
	`<ORG><ORGNAME>Example, Inc.</ORGNAME><ORGUNIT>Sales</ORGUNIT><ORGUNIT>EMEA</ORGUNIT></ORG>` +
	`<NOTE>line 1&#xA;line 2; with, punctuation</NOTE>` +
	`<UID>urn:uuid:1f0e8c5e-0000-4000-8000-000000000001</UID>` +
	`<URL>https://example.test/~bob</URL>` +
	`</vCard>`

var fullVCardTempCard = card(map[string][]*vcard.Field{
	"FN":       {fld("Bob Example")},
	"N":        {fld("Example;Bob;Q.;Dr.;Jr.")},
	"NICKNAME": {fld("bobby")},
	"PHOTO":    {fld("https://example.test/bob.png")},
	"BDAY":     {fld("19840203")},
	"ADR":      {fld("PO 1;Suite 2;1 Main St;Town;State;12345;US", "TYPE=work", "PREF=1")},
	"TEL": {
		fld("sip:bob@example.test", "TYPE=work|voice|video", "VALUE=uri"),
		fld("tel:+1-555-555-0100", "TYPE=cell|voice", "PREF=1", "VALUE=uri"),
		fld("tel:+44(20)7946.0000", "TYPE=home|fax|msg|pager|bbs|modem|isdn|pcs", "VALUE=uri"),
	},
	"EMAIL": {
		fld("bob@example.test", "TYPE=internet|work", "PREF=1"),
		fld("bob@home.test", "TYPE=home|x400"),
	},
	"IMPP":  {fld("xmpp:bob@example.test")},
	"TITLE": {fld("Engineer")},
	"ROLE":  {fld("Lead")},
	"ORG":   {fld("Example, Inc.;Sales;EMEA")},
	"NOTE":  {fld("line 1\nline 2; with, punctuation")},
	"UID":   {fld("urn:uuid:1f0e8c5e-0000-4000-8000-000000000001")},
	"URL":   {fld("https://example.test/~bob")},
})

func TestVCardTempRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want vcard.Card
		// out is what WriteVCardTemp(want) gives, when it differs from in.
		out string
	}{
		{name: "full", in: fullVCardTemp, want: fullVCardTempCard,
			// Spaces are not allowed in a tel: URI; they become the
			// visual separator '-' (RFC 3966 §5.1.1).
			out: strings.Replace(fullVCardTemp, "+44 (20) 7946.0000", "+44(20)7946.0000", 1)},
		{
			name: "prosody mangled sip uri",
			in:   `<vCard xmlns="vcard-temp"><FN>Bob</FN><TEL><NUMBER>tel:sip:bob@example.test</NUMBER></TEL><TEL><NUMBER>tel:sips:bob@example.test</NUMBER></TEL></vCard>`,
			want: card(map[string][]*vcard.Field{
				"FN":  {fld("Bob")},
				"TEL": {fld("sip:bob@example.test", "VALUE=uri"), fld("sips:bob@example.test", "VALUE=uri")},
			}),
			out: `<vCard xmlns="vcard-temp"><FN>Bob</FN><TEL><NUMBER>sip:bob@example.test</NUMBER></TEL><TEL><NUMBER>sips:bob@example.test</NUMBER></TEL></vCard>`,
		},
		{
			name: "phone numbers with spaces and dashes",
			in:   `<vCard xmlns="vcard-temp"><TEL><VOICE/><NUMBER>+1 555 555 0100</NUMBER></TEL><TEL><VOICE/><NUMBER>+1-555-555-0101</NUMBER></TEL><TEL><NUMBER> 0555 - 123 </NUMBER></TEL></vCard>`,
			want: card(map[string][]*vcard.Field{
				"TEL": {
					fld("tel:+1-555-555-0100", "TYPE=voice", "VALUE=uri"),
					fld("tel:+1-555-555-0101", "TYPE=voice", "VALUE=uri"),
					fld("tel:0555-123", "VALUE=uri"),
				},
			}),
			out: `<vCard xmlns="vcard-temp"><TEL><VOICE/><NUMBER>+1-555-555-0100</NUMBER></TEL><TEL><VOICE/><NUMBER>+1-555-555-0101</NUMBER></TEL><TEL><NUMBER>0555-123</NUMBER></TEL></vCard>`,
		},
		{
			name: "video and pref",
			in:   `<vCard xmlns="vcard-temp"><TEL><VIDEO/><PREF/><NUMBER>sip:alice@example.test</NUMBER></TEL><TEL><VOICE/><NUMBER>sip:alice@pstn.example.test;user=phone</NUMBER></TEL></vCard>`,
			want: card(map[string][]*vcard.Field{
				"TEL": {
					fld("sip:alice@example.test", "TYPE=video", "PREF=1", "VALUE=uri"),
					fld("sip:alice@pstn.example.test;user=phone", "TYPE=voice", "VALUE=uri"),
				},
			}),
		},
		{
			name: "contact on a second domain",
			in:   `<vCard xmlns="vcard-temp"><FN>Carol</FN><TEL><WORK/><NUMBER>sip:carol@biloxi.example.com</NUMBER></TEL><JABBERID>carol@biloxi.example.com</JABBERID></vCard>`,
			want: card(map[string][]*vcard.Field{
				"FN":   {fld("Carol")},
				"TEL":  {fld("sip:carol@biloxi.example.com", "TYPE=work", "VALUE=uri")},
				"IMPP": {fld("xmpp:carol@biloxi.example.com")},
			}),
		},
		{
			name: "binary photo",
			in:   `<vCard xmlns="vcard-temp"><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0K` + "\n  " + `Ggo=</BINVAL></PHOTO></vCard>`,
			want: card(map[string][]*vcard.Field{"PHOTO": {fld("data:image/png;base64,iVBORw0KGgo=")}}),
			out:  `<vCard xmlns="vcard-temp"><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard>`,
		},
		{
			name: "binary photo without type, and junk binval",
			in:   `<vCard xmlns="vcard-temp"><PHOTO><BINVAL>AAAA</BINVAL></PHOTO><PHOTO><TYPE>image/png</TYPE><BINVAL>not base64!</BINVAL></PHOTO></vCard>`,
			want: card(map[string][]*vcard.Field{"PHOTO": {fld("data:application/octet-stream;base64,AAAA")}}),
			out:  `<vCard xmlns="vcard-temp"><PHOTO><TYPE>application/octet-stream</TYPE><BINVAL>AAAA</BINVAL></PHOTO></vCard>`,
		},
		{
			name: "jid needing escapes",
			in:   `<vCard xmlns="vcard-temp"><JABBERID>a?b#c%d@example.test</JABBERID></vCard>`,
			want: card(map[string][]*vcard.Field{"IMPP": {fld("xmpp:a%3Fb%23c%25d@example.test")}}),
		},
		{
			name: "uid as text",
			in:   `<vCard xmlns="vcard-temp"><UID>12345</UID></vCard>`,
			want: card(map[string][]*vcard.Field{"UID": {fld("12345", "VALUE=text")}}),
		},
		{
			name: "lower-case names, whitespace, foreign and unknown elements",
			in: `<?xml version="1.0"?>
<!-- a comment -->
<vCard xmlns="vcard-temp" xmlns:x="urn:example:x">
  <fn>Dave</fn>
  <tel><home/><number>5550100</number></tel>
  <email>dave@example.test<internet/></email>
  <x:FN>ignored</x:FN>
  <TITLE/>
  <MAILER>ignored</MAILER>
  <ADR><COUNTRY>DE</COUNTRY></ADR>
</vCard>`,
			want: card(map[string][]*vcard.Field{
				"FN":    {fld("Dave")},
				"TEL":   {fld("tel:5550100", "TYPE=home", "VALUE=uri")},
				"EMAIL": {fld("dave@example.test", "TYPE=internet")},
				"ADR":   {fld(";;;;;;DE")},
			}),
			out: `<vCard xmlns="vcard-temp"><FN>Dave</FN><ADR><CTRY>DE</CTRY></ADR><TEL><HOME/><NUMBER>5550100</NUMBER></TEL><EMAIL><INTERNET/><USERID>dave@example.test</USERID></EMAIL></vCard>`,
		},
		{
			name: "free-text number and empty elements",
			in:   `<vCard xmlns="vcard-temp"><N/><ORG/><TEL><NUMBER>ask reception</NUMBER></TEL><TEL><WORK/></TEL></vCard>`,
			want: card(map[string][]*vcard.Field{"TEL": {fld("ask reception")}}),
			out:  `<vCard xmlns="vcard-temp"><TEL><NUMBER>ask reception</NUMBER></TEL></vCard>`,
		},
		{
			name: "empty vcard",
			in:   `<vCard xmlns='vcard-temp'/>`,
			want: card(nil),
			out:  `<vCard xmlns="vcard-temp"></vCard>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVCardTemp(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseVCardTemp: %v", err)
			}
			assertCard(t, "vcard-temp → card", got, tt.want)
			out := tt.out
			if out == "" {
				out = tt.in
			}
			var b bytes.Buffer
			if err := WriteVCardTemp(&b, tt.want); err != nil {
				t.Fatalf("WriteVCardTemp: %v", err)
			}
			if b.String() != out {
				t.Errorf("card → vcard-temp:\ngot  %s\nwant %s", b.String(), out)
			}
			again, err := ParseVCardTemp(&b)
			if err != nil {
				t.Fatalf("ParseVCardTemp(written): %v", err)
			}
			assertCard(t, "card → vcard-temp → card", again, tt.want)
		})
	}
}

// A bare NUMBER becomes a tel: URI, whose visual separators cannot include
// spaces (RFC 3966 §5.1.1): a run of spaces becomes '-', or disappears next
// to another separator.
func TestVCardTempNumberForms(t *testing.T) {
	tests := []struct{ number, tel, back string }{
		{"+1 555 555 0100", "tel:+1-555-555-0100", "+1-555-555-0100"},
		{"+1 (555) 555-0100", "tel:+1(555)555-0100", "+1(555)555-0100"},
		{"(555) 0100", "tel:(555)0100", "(555)0100"},
		{"+ 1 555", "tel:+1-555", "+1-555"},
		{"sip:bob@example.test", "sip:bob@example.test", "sip:bob@example.test"},
		{"SIPS:bob@example.test", "SIPS:bob@example.test", "SIPS:bob@example.test"},
		{"tel:sip:bob@example.test", "sip:bob@example.test", "sip:bob@example.test"},
		{"TEL:SIP:bob@example.test", "SIP:bob@example.test", "SIP:bob@example.test"},
		{"tel:+1-555;ext=7", "tel:+1-555;ext=7", "tel:+1-555;ext=7"},
		{"ext. 7", "ext. 7", "ext. 7"},
		{"+", "+", "+"},
	}
	for _, tt := range tests {
		c, err := ParseVCardTemp(strings.NewReader(`<vCard xmlns="vcard-temp"><TEL><NUMBER>` + tt.number + `</NUMBER></TEL></vCard>`))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Value(vcard.FieldTelephone); got != tt.tel {
			t.Errorf("NUMBER %q → TEL %q, want %q", tt.number, got, tt.tel)
		}
		if got := numberFromTel(c.Value(vcard.FieldTelephone)); got != tt.back {
			t.Errorf("NUMBER %q → TEL → NUMBER %q, want %q", tt.number, got, tt.back)
		}
	}
}

// DecodeVCardTemp is used inside stanza handlers: it gets the start element
// already read and must stop right after the matching end element.
func TestDecodeVCardTempInStanza(t *testing.T) {
	in := `<iq type="result" id="v1"><vCard xmlns="vcard-temp"><FN>Bob</FN><TEL><VIDEO/><NUMBER>sip:bob@example.test</NUMBER></TEL></vCard><after/></iq>`
	d := xml.NewDecoder(strings.NewReader(in))
	var start *xml.StartElement
	for start == nil {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "vCard" {
			start = &se
		}
	}
	c, err := DecodeVCardTemp(d, start)
	if err != nil {
		t.Fatal(err)
	}
	assertCard(t, "card", c, card(map[string][]*vcard.Field{
		"FN":  {fld("Bob")},
		"TEL": {fld("sip:bob@example.test", "TYPE=video", "VALUE=uri")},
	}))
	tok, err := d.Token()
	if err != nil {
		t.Fatal(err)
	}
	if se, ok := tok.(xml.StartElement); !ok || se.Name.Local != "after" {
		t.Errorf("next token %#v, want <after>", tok)
	}
}

func TestVCardTempWrongRoot(t *testing.T) {
	for _, in := range []string{
		`<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0"/>`,
		`<vCard xmlns="jabber:client"/>`,
		`<query/>`,
		``,
		`just text`,
		`</vCard>`,
	} {
		if _, err := ParseVCardTemp(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseVCardTemp(%q) = %v, want ErrMalformed", in, err)
		}
	}
}

// A card made in code may hold anything; the writer must still emit
// well-formed XML.
func TestWriteVCardTempEscapes(t *testing.T) {
	c := vcard.Card{
		"FN":   {fld("<Bob & \"Co\">\x01\r\n")},
		"TEL":  {fld("+1 555", "TYPE=VIDEO|custom|pref")},
		"IMPP": {fld("sip:bob@example.test"), fld("xmpp:bob@example.test?message")},
	}
	var b bytes.Buffer
	if err := WriteVCardTemp(&b, c); err != nil {
		t.Fatal(err)
	}
	want := `<vCard xmlns="vcard-temp"><FN>&lt;Bob &amp; &#34;Co&#34;&gt;` + "\uFFFD" + `&#xA;</FN><TEL><VIDEO/><PREF/><NUMBER>+1 555</NUMBER></TEL><JABBERID>bob@example.test</JABBERID></vCard>`
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
	if _, err := ParseVCardTemp(&b); err != nil {
		t.Errorf("written vcard-temp does not parse: %v", err)
	}
}
