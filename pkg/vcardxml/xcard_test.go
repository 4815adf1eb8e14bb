package vcardxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

// xcard wraps property elements in the XEP-0292 root.
func xcard(props ...string) string {
	return `<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0">` + strings.Join(props, "") + `</vcard>`
}

func TestXCardRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want vcard.Card
		out  string // WriteXCard(want), when it differs from in
	}{
		{
			name: "xep-0292 example",
			in: `<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0">
  <fn><text>Peter Saint-Andre</text></fn>
  <n><surname>Saint-Andre</surname><given>Peter</given><additional></additional></n>
  <nickname><text>stpeter</text></nickname>
  <nickname><text>psa</text></nickname>
  <photo><uri>http://stpeter.im/images/stpeter_oscon.jpg</uri></photo>
  <bday><date>1966-08-06</date></bday>
  <adr>
    <parameters>
      <type><text>work</text></type>
      <pref><integer>1</integer></pref>
    </parameters>
    <ext>Suite 600</ext>
    <street>1899 Wynkoop Street</street>
    <locality>Denver</locality>
    <region>CO</region>
    <code>80202</code>
    <country>USA</country>
  </adr>
  <tel>
    <parameters>
      <type><text>work</text><text>voice</text></type>
      <pref><integer>1</integer></pref>
    </parameters>
    <uri>tel:+1-303-308-3282</uri>
  </tel>
  <tel>
    <parameters><type><text>work</text><text>video</text></type></parameters>
    <uri>sip:stpeter@example.test</uri>
  </tel>
  <geo><uri>geo:39.59,-105.01</uri></geo>
  <title><text>Executive Director</text></title>
  <org><parameters><type><text>work</text></type></parameters><text>XMPP Standards Foundation</text></org>
  <gender><sex><text>M</text></sex></gender>
  <lang><parameters><pref>1</pref></parameters><language-tag>en</language-tag></lang>
  <impp><parameters><type><text>work</text></type></parameters><uri>xmpp:stpeter@jabber.org</uri></impp>
</vcard>`,
			want: card(map[string][]*vcard.Field{
				"FN":       {fld("Peter Saint-Andre")},
				"N":        {fld("Saint-Andre;Peter;;;")},
				"NICKNAME": {fld("stpeter"), fld("psa")},
				"PHOTO":    {fld("http://stpeter.im/images/stpeter_oscon.jpg")},
				"BDAY":     {fld("19660806")},
				"ADR":      {fld(";Suite 600;1899 Wynkoop Street;Denver;CO;80202;USA", "TYPE=work", "PREF=1")},
				"TEL": {
					fld("tel:+1-303-308-3282", "TYPE=work|voice", "PREF=1", "VALUE=uri"),
					fld("sip:stpeter@example.test", "TYPE=work|video", "VALUE=uri"),
				},
				"GEO":    {fld("geo:39.59,-105.01")},
				"TITLE":  {fld("Executive Director")},
				"ORG":    {fld("XMPP Standards Foundation", "TYPE=work")},
				"GENDER": {fld("M")},
				"LANG":   {fld("en", "PREF=1")},
				"IMPP":   {fld("xmpp:stpeter@jabber.org", "TYPE=work")},
			}),
			out: xcard(
				`<adr><parameters><pref><integer>1</integer></pref><type><text>work</text></type></parameters><pobox/><ext>Suite 600</ext><street>1899 Wynkoop Street</street><locality>Denver</locality><region>CO</region><code>80202</code><country>USA</country></adr>`,
				`<bday><date>19660806</date></bday>`,
				`<fn><text>Peter Saint-Andre</text></fn>`,
				`<gender><sex>M</sex></gender>`,
				`<geo><uri>geo:39.59,-105.01</uri></geo>`,
				`<impp><parameters><type><text>work</text></type></parameters><uri>xmpp:stpeter@jabber.org</uri></impp>`,
				`<lang><parameters><pref><integer>1</integer></pref></parameters><language-tag>en</language-tag></lang>`,
				`<n><surname>Saint-Andre</surname><given>Peter</given><additional/><prefix/><suffix/></n>`,
				`<nickname><text>stpeter</text></nickname><nickname><text>psa</text></nickname>`,
				`<org><parameters><type><text>work</text></type></parameters><text>XMPP Standards Foundation</text></org>`,
				`<photo><uri>http://stpeter.im/images/stpeter_oscon.jpg</uri></photo>`,
				`<tel><parameters><pref><integer>1</integer></pref><type><text>work</text><text>voice</text></type></parameters><uri>tel:+1-303-308-3282</uri></tel>`,
				`<tel><parameters><type><text>work</text><text>video</text></type></parameters><uri>sip:stpeter@example.test</uri></tel>`,
				`<title><text>Executive Director</text></title>`,
			),
		},
		{
			// What Prosody 0.12's vcard_legacy makes of a vcard-temp
			// <NUMBER>sip:…</NUMBER>: types dropped, tel: prepended.
			name: "prosody mangled sip uri",
			in:   xcard(`<fn><text>Bob</text></fn>`, `<tel><uri>tel:sip:bob@example.test</uri></tel>`, `<tel><uri>tel:+15550100</uri></tel>`),
			want: card(map[string][]*vcard.Field{
				"FN":  {fld("Bob")},
				"TEL": {fld("sip:bob@example.test", "VALUE=uri"), fld("tel:+15550100", "VALUE=uri")},
			}),
			out: xcard(`<fn><text>Bob</text></fn>`, `<tel><uri>sip:bob@example.test</uri></tel>`, `<tel><uri>tel:+15550100</uri></tel>`),
		},
		{
			name: "text tel, groups, extensions and value types",
			in: xcard(
				`<group name="item1"><tel><parameters><type><text>cell</text></type></parameters><text>+1 555 0100</text></tel></group>`,
				`<group name="item1"><x-ablabel><unknown>Mobile, private</unknown></x-ablabel></group>`,
				`<note><text>a, b; c\d</text></note>`,
				`<tz><utc-offset>-0500</utc-offset></tz>`,
				`<x-born><date>19700101</date></x-born>`,
			),
			want: card(map[string][]*vcard.Field{
				"TEL":       {fld("+1 555 0100", "TYPE=cell", "group=item1")},
				"X-ABLABEL": {fld("Mobile, private", "group=item1")},
				"NOTE":      {fld(`a, b; c\d`)},
				"TZ":        {fld("-0500", "VALUE=utc-offset")},
				"X-BORN":    {fld("19700101", "VALUE=date")},
			}),
			out: xcard(
				`<note><text>a, b; c\d</text></note>`,
				`<group name="item1"><tel><parameters><type><text>cell</text></type></parameters><text>+1 555 0100</text></tel></group>`,
				`<tz><utc-offset>-0500</utc-offset></tz>`,
				`<group name="item1"><x-ablabel><unknown>Mobile, private</unknown></x-ablabel></group>`,
				`<x-born><date>19700101</date></x-born>`,
			),
		},
		{
			name: "structured values with several values per component",
			in: xcard(
				`<adr><pobox/><ext/><street>1 Main St</street><street>Building 2</street><locality>Town</locality><region/><code/><country/></adr>`,
				`<categories><text>friends</text><text>work</text></categories>`,
				`<gender><sex>O</sex><identity>nonbinary</identity></gender>`,
				`<n><surname>Doe</surname><given>Jane</given><additional>Ann</additional><additional>Marie</additional><prefix/><suffix>PhD</suffix></n>`,
				`<org><text>Example, Inc.</text><text>Sales</text></org>`,
			),
			want: card(map[string][]*vcard.Field{
				"ADR":        {fld(";;1 Main St,Building 2;Town;;;")},
				"CATEGORIES": {fld("friends,work")},
				"GENDER":     {fld("O;nonbinary")},
				"N":          {fld("Doe;Jane;Ann,Marie;;PhD")},
				"ORG":        {fld("Example, Inc.;Sales")},
			}),
		},
		{
			name: "rfc 6351 vcards wrapper, foreign and invalid elements",
			in: `<vcards xmlns="urn:ietf:params:xml:ns:vcard-4.0" xmlns:x="urn:example:x">` +
				`<vcard><fn><text>First</text></fn><x:fn><text>foreign</text></x:fn><fn><x:text>foreign value</x:text></fn>` +
				`<version><text>4.0</text></version><bad_name><text>x</text></bad_name><empty/><tel><parameters><x:type><text>x</text></x:type><value><text>uri</text></value></parameters><uri>sip:a@example.test</uri></tel></vcard>` +
				`<vcard><fn><text>Second</text></fn></vcard></vcards>`,
			want: card(map[string][]*vcard.Field{
				"FN":  {fld("First")},
				"TEL": {fld("sip:a@example.test", "VALUE=uri")},
			}),
			out: xcard(`<fn><text>First</text></fn>`, `<tel><uri>sip:a@example.test</uri></tel>`),
		},
		{
			name: "value straight in the property element",
			in:   xcard(`<fn> Bob </fn>`, `<tel><parameters><type>video</type></parameters>sip:bob@example.test</tel>`),
			want: card(map[string][]*vcard.Field{
				"FN":  {fld("Bob")},
				"TEL": {fld("sip:bob@example.test", "TYPE=video", "VALUE=uri")},
			}),
			out: xcard(`<fn><text>Bob</text></fn>`, `<tel><parameters><type><text>video</text></type></parameters><uri>sip:bob@example.test</uri></tel>`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseXCard(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("ParseXCard: %v", err)
			}
			assertCard(t, "xcard → card", got, tt.want)
			out := tt.out
			if out == "" {
				out = tt.in
			}
			var b bytes.Buffer
			if err := WriteXCard(&b, tt.want); err != nil {
				t.Fatalf("WriteXCard: %v", err)
			}
			if b.String() != out {
				t.Errorf("card → xcard:\ngot  %s\nwant %s", b.String(), out)
			}
			again, err := ParseXCard(&b)
			if err != nil {
				t.Fatalf("ParseXCard(written): %v", err)
			}
			assertCard(t, "card → xcard → card", again, tt.want)
		})
	}
}

// Cards read from vcard-temp survive xCard, which holds everything they
// can hold.
func TestVCardTempThroughXCard(t *testing.T) {
	var b bytes.Buffer
	if err := WriteXCard(&b, fullVCardTempCard); err != nil {
		t.Fatal(err)
	}
	got, err := ParseXCard(&b)
	if err != nil {
		t.Fatal(err)
	}
	assertCard(t, "vcard-temp card → xcard → card", got, fullVCardTempCard)
}

func TestDecodeXCardInPubsubItem(t *testing.T) {
	in := `<item id="current"><vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0"><fn><text>Bob</text></fn></vcard></item>`
	d := xml.NewDecoder(strings.NewReader(in))
	if _, err := d.Token(); err != nil { // <item>
		t.Fatal(err)
	}
	c, err := DecodeXCard(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertCard(t, "card", c, card(map[string][]*vcard.Field{"FN": {fld("Bob")}}))
	if tok, err := d.Token(); err != nil {
		t.Fatal(err)
	} else if ee, ok := tok.(xml.EndElement); !ok || ee.Name.Local != "item" {
		t.Errorf("next token %#v, want </item>", tok)
	}
}

func TestXCardWrongRoot(t *testing.T) {
	for _, in := range []string{
		`<vCard xmlns="vcard-temp"/>`,
		`<vcard xmlns="urn:example"/>`,
		`<vcards xmlns="urn:ietf:params:xml:ns:vcard-4.0"/>`,
		`<VCARD xmlns="urn:ietf:params:xml:ns:vcard-4.0"/>`,
	} {
		if _, err := ParseXCard(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseXCard(%q) = %v, want ErrMalformed", in, err)
		}
	}
}

func TestWriteXCardRejectsBadNames(t *testing.T) {
	for name, c := range map[string]vcard.Card{
		"property": {"BAD NAME": {fld("x")}},
		"digit":    {"1X": {fld("x")}},
		"param":    {"FN": {fld("x", "BAD:P=1")}},
		"group":    {"FN": {fld("x", "group=a.b")}},
	} {
		var b bytes.Buffer
		if err := WriteXCard(&b, c); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: WriteXCard = %v, want ErrMalformed", name, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: WriteXCard wrote %q on error", name, b.String())
		}
		if _, err := Text(c); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Text = %v, want ErrMalformed", name, err)
		}
	}
}
