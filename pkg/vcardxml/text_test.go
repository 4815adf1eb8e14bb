package vcardxml

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

const fullText = "BEGIN:VCARD\r\n" +
	"VERSION:4.0\r\n" +
	"ADR;PREF=1;TYPE=work:PO 1;Suite 2;1 Main St;Town;State;12345;US\r\n" +
	"BDAY:19840203\r\n" +
	"EMAIL;PREF=1;TYPE=internet,work:bob@example.test\r\n" +
	"EMAIL;TYPE=home,x400:bob@home.test\r\n" +
	"FN:Bob Example\r\n" +
	"IMPP:xmpp:bob@example.test\r\n" +
	"N:Example;Bob;Q.;Dr.;Jr.\r\n" +
	"NICKNAME:bobby\r\n" +
	"NOTE:line 1\\nline 2; with\\, punctuation\r\n" +
	"ORG:Example\\, Inc.;Sales;EMEA\r\n" +
	"PHOTO:https://example.test/bob.png\r\n" +
	"ROLE:Lead\r\n" +
	"TEL;TYPE=work,voice,video;VALUE=uri:sip:bob@example.test\r\n" +
	"TEL;PREF=1;TYPE=cell,voice;VALUE=uri:tel:+1-555-555-0100\r\n" +
	"TEL;TYPE=home,fax,msg,pager,bbs,modem,isdn,pcs;VALUE=uri:tel:+44(20)7946.00\r\n" +
	" 00\r\n" +
	"TITLE:Engineer\r\n" +
	"UID:urn:uuid:1f0e8c5e-0000-4000-8000-000000000001\r\n" +
	"URL:https://example.test/~bob\r\n" +
	"END:VCARD\r\n"

func TestTextGolden(t *testing.T) {
	got, err := Text(fullVCardTempCard)
	if err != nil {
		t.Fatal(err)
	}
	if got != fullText {
		t.Errorf("Text:\n%s\nwant:\n%s", got, fullText)
	}
	back, err := ParseText(got)
	if err != nil {
		t.Fatal(err)
	}
	assertCard(t, "card → text → card", back, fullVCardTempCard)
}

// protocol.VCard promises text any go-vcard consumer can read.
func TestTextReadableByGoVCard(t *testing.T) {
	text, err := Text(fullVCardTempCard)
	if err != nil {
		t.Fatal(err)
	}
	got, err := vcard.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	assertCard(t, "go-vcard Decode(Text(card))", got, fullVCardTempCard)
}

func TestTextRoundTrip(t *testing.T) {
	long := strings.Repeat("ü€", 40) // multi-byte runes across fold points
	tests := []struct {
		name string
		card vcard.Card
		// contains are substrings the text must hold.
		contains []string
	}{
		{
			name: "parameter values needing quotes and RFC 6868",
			card: card(map[string][]*vcard.Field{
				"ADR": {fld(";;1 Main St;Town;;;", "LABEL=1 Main St\nTown, State: \"Home\" ^_^", "GEO=geo:1.5,2.5")},
				"TEL": {fld("sip:bob@example.test", "VALUE=uri", "X-PATH=C:\\path;x")},
			}),
			contains: []string{
				`ADR;GEO="geo:1.5,2.5";LABEL="1 Main St^nTown, State: ^'Home^' ^^_^^":;;1 Main St;Town;;;`,
				`X-PATH="C:\path;x"`,
			},
		},
		{
			name: "text escapes and list values",
			card: card(map[string][]*vcard.Field{
				"NOTE":       {fld("a\\b, c; d\ne")},
				"N":          {fld("Doe;Jane;Ann,Marie;;")},
				"CATEGORIES": {fld("a,b")},
				"X-FOO":      {fld("x,y")},
				"PHOTO":      {fld("data:image/png;base64,iVBORw0KGgo=")},
			}),
			contains: []string{
				`NOTE:a\\b\, c; d\ne`,
				"N:Doe;Jane;Ann,Marie;;\r\n",
				"CATEGORIES:a,b\r\n",
				`X-FOO:x\,y`,
				"PHOTO:data:image/png;base64,iVBORw0KGgo=\r\n",
			},
		},
		{
			name: "groups, several values, folding",
			card: card(map[string][]*vcard.Field{
				"TEL":       {fld("tel:+15550100", "group=item1", "TYPE=cell|video", "VALUE=uri")},
				"X-ABLABEL": {fld("Mobile", "group=item1")},
				"NOTE":      {fld(long)},
				"X-EMPTY":   {fld("", "X-P=")},
			}),
			contains: []string{"item1.TEL;TYPE=cell,video;VALUE=uri:tel:+15550100\r\n", "item1.X-ABLABEL:Mobile\r\n", "X-EMPTY;X-P=:\r\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := Text(tt.card)
			if err != nil {
				t.Fatal(err)
			}
			unfolded := strings.ReplaceAll(text, "\r\n ", "")
			for _, s := range tt.contains {
				if !strings.Contains(unfolded, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			for l := range strings.SplitSeq(text, "\r\n") {
				if len(l) > 75 {
					t.Errorf("line longer than 75 octets: %q", l)
				}
			}
			back, err := ParseText(text)
			if err != nil {
				t.Fatal(err)
			}
			assertCard(t, "card → text → card", back, tt.card)
			// And the same card through xCard.
			var b bytes.Buffer
			if err := WriteXCard(&b, tt.card); err != nil {
				t.Fatal(err)
			}
			x, err := ParseXCard(&b)
			if err != nil {
				t.Fatal(err)
			}
			assertCard(t, "card → xcard → card", x, tt.card)
		})
	}
}

func TestParseText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want vcard.Card
	}{
		{
			name: "vcard 2.1 phone export",
			in: "BEGIN:VCARD\r\nVERSION:2.1\r\n" +
				"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\r\n" +
				"FN;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:J=FCrgen M=FCller, a very long name that needs a soft =\r\n" +
				"line break\r\n" +
				"TEL;WORK;VIDEO:+49 30 1234567\r\n" +
				"TEL;CELL;PREF:+49-170-1234567\r\n" +
				"TEL;X-CUSTOM;VOICE:sip:juergen@example.test\r\n" +
				"PHOTO;ENCODING=BASE64;JPEG:/9j/4AAQ\r\n" +
				" SkZJRgAB\r\n" +
				"\r\n" +
				"END:VCARD\r\n",
			want: card(map[string][]*vcard.Field{
				"N":     {fld("Müller;Jürgen;;;")},
				"FN":    {fld("Jürgen Müller, a very long name that needs a soft line break")},
				"TEL":   {fld("+49 30 1234567", "TYPE=work|video"), fld("+49-170-1234567", "TYPE=cell", "PREF=1"), fld("sip:juergen@example.test", "TYPE=x-custom|voice", "VALUE=uri")},
				"PHOTO": {fld("data:image/jpeg;base64,/9j/4AAQSkZJRgAB")},
			}),
		},
		{
			name: "vcard 3.0",
			in: "BEGIN:VCARD\nVERSION:3.0\n" +
				"FN:Anna\n" +
				"TEL;TYPE=WORK,VOICE,pref:+1 555 0100\n" +
				"TEL;type=CELL;type=VIDEO:tel:+15550101\n" +
				"BDAY:1990-12-24\n" +
				"PHOTO;ENCODING=b;TYPE=image/png:iVBORw0KGgo=\n" +
				"item2.EMAIL;TYPE=INTERNET:anna@example.test\n" +
				"item2.X-ABLabel:_$!<Other>!$_\n" +
				"END:VCARD\n",
			want: card(map[string][]*vcard.Field{
				"FN":        {fld("Anna")},
				"TEL":       {fld("+1 555 0100", "TYPE=work|voice", "PREF=1"), fld("tel:+15550101", "TYPE=cell|video", "VALUE=uri")},
				"BDAY":      {fld("19901224")},
				"PHOTO":     {fld("data:image/png;base64,iVBORw0KGgo=")},
				"EMAIL":     {fld("anna@example.test", "TYPE=internet", "group=item2")},
				"X-ABLABEL": {fld("_$!<Other>!$_", "group=item2")},
			}),
		},
		{
			// What go-vcard's Encoder writes: repeated TYPE parameters and
			// backslash escapes inside parameter values.
			name: "go-vcard encoder output",
			in: "BEGIN:VCARD\r\nVERSION:4.0\r\n" +
				"ADR;LABEL=1 Main St\\, Town\\nUS;TYPE=HOME:;;1 Main St;Town;;;US\r\n" +
				"FN:Bob\r\n" +
				"TEL;TYPE=WORK;TYPE=VIDEO:sip:bob@example.test\r\n" +
				"END:VCARD\r\n",
			want: card(map[string][]*vcard.Field{
				"ADR": {fld(";;1 Main St;Town;;;US", "LABEL=1 Main St, Town\nUS", "TYPE=home")},
				"FN":  {fld("Bob")},
				"TEL": {fld("sip:bob@example.test", "TYPE=work|video", "VALUE=uri")},
			}),
		},
		{
			name: "escapes, folding, nested card, junk lines",
			in: "\uFEFF\r\nBEGIN:VCARD\r\nVERSION:4.0\r\n" +
				"NOTE:semi\\;colon\\Nnew\\,line \\q\r\n" +
				"FN:Fo\r\n ld\r\n\ted\r\n" +
				"AGENT:\r\nBEGIN:VCARD\r\nFN:Agent Smith\r\nEND:VCARD\r\n" +
				"this line has no colon\r\n" +
				";NOPE:x\r\n" +
				"TEL;TYPE=\"voice,video\";VALUE=TEXT:+15550100\r\n" +
				"X-Q;X-P=\"unterminated:x\r\n" +
				"END:VCARD\r\n" +
				"BEGIN:VCARD\r\nFN:Second\r\nEND:VCARD\r\n",
			want: card(map[string][]*vcard.Field{
				"NOTE":  {fld("semi;colon\nnew,line \\q")},
				"FN":    {fld("Folded")},
				"AGENT": {fld("")},
				"TEL":   {fld("+15550100", "TYPE=voice|video")},
			}),
		},
		{
			name: "v4 with caret and quoted comma parameters",
			in: "BEGIN:VCARD\r\nVERSION:4.0\r\n" +
				"ADR;LABEL=\"Main St^nTown, ^'X^' ^^\";GEO=\"geo:1,2\":;;Main St;Town;;;\r\n" +
				"GENDER:F;\r\n" +
				"N:Doe;Jane\r\n" +
				"END:VCARD\r\n",
			want: card(map[string][]*vcard.Field{
				"ADR":    {fld(";;Main St;Town;;;", "LABEL=Main St\nTown, \"X\" ^", "GEO=geo:1,2")},
				"GENDER": {fld("F")},
				"N":      {fld("Doe;Jane;;;")},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseText(tt.in)
			if err != nil {
				t.Fatalf("ParseText: %v", err)
			}
			assertCard(t, "text → card", got, tt.want)
			text, err := Text(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseText(text)
			if err != nil {
				t.Fatal(err)
			}
			assertCard(t, "text → card → text → card", again, tt.want)
		})
	}
}

// A TEL URI without VALUE=uri (a card made in code, or go-vcard's) gets it
// in the text, which go-vcard's Encoder would not add.
func TestTextAddsValueURI(t *testing.T) {
	text, err := Text(vcard.Card{"TEL": {fld("sip:bob@example.test", "TYPE=video")}, "VERSION": {fld("3.0")}})
	if err != nil {
		t.Fatal(err)
	}
	want := "BEGIN:VCARD\r\nVERSION:4.0\r\nTEL;TYPE=video;VALUE=uri:sip:bob@example.test\r\nEND:VCARD\r\n"
	if text != want {
		t.Errorf("got  %q\nwant %q", text, want)
	}
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrMalformed},
		{"\r\n\r\n", ErrMalformed},
		{"FN:Bob\r\nBEGIN:VCARD\r\nEND:VCARD\r\n", ErrMalformed},
		{"BEGIN:VCARD\r\nFN:Bob\r\n", ErrMalformed},
		{"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ErrMalformed},
		{"BEGIN:VCARD\r\n" + strings.Repeat("BEGIN:VCARD\r\n", maxDepth+1), ErrMalformed},
		{"BEGIN:VCARD\r\nNOTE:" + strings.Repeat("x", MaxSize) + "\r\nEND:VCARD\r\n", ErrTooLarge},
		{"\x00\xff\xfe binary junk", ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := ParseText(tt.in); !errors.Is(err, tt.want) {
			in := tt.in
			if len(in) > 60 {
				in = in[:60] + "…"
			}
			t.Errorf("ParseText(%q) = %v, want %v", in, err, tt.want)
		}
	}
}

func TestTextTooLarge(t *testing.T) {
	c := card(map[string][]*vcard.Field{"NOTE": {fld(strings.Repeat(",", MaxSize/2+1))}})
	if _, err := Text(c); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Text = %v, want ErrTooLarge", err)
	}
	var b bytes.Buffer
	if err := WriteXCard(&b, card(map[string][]*vcard.Field{"NOTE": {fld(strings.Repeat("<", MaxSize/4))}})); !errors.Is(err, ErrTooLarge) || b.Len() != 0 {
		t.Errorf("WriteXCard = %v (%d bytes written), want ErrTooLarge and nothing", err, b.Len())
	}
	if err := WriteVCardTemp(&b, card(map[string][]*vcard.Field{"NOTE": {fld(strings.Repeat("&", MaxSize/4))}})); !errors.Is(err, ErrTooLarge) || b.Len() != 0 {
		t.Errorf("WriteVCardTemp = %v (%d bytes written), want ErrTooLarge and nothing", err, b.Len())
	}
}
