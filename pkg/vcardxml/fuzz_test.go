package vcardxml

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

// The fuzz targets check more than "no panic": whatever parses is a
// canonical card, and a canonical card survives every form that can hold
// it. Seeds beyond these live in testdata/fuzz/<FuzzName>/.

func FuzzParseVCardTemp(f *testing.F) {
	f.Add([]byte(fullVCardTemp))
	f.Add([]byte(`<vCard xmlns="vcard-temp"><TEL><NUMBER>tel:sip:bob@example.test</NUMBER></TEL><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard>`))
	f.Add([]byte(`<vCard xmlns="vcard-temp"><N><FAMILY>a;b</FAMILY><SUFFIX>c;d</SUFFIX></N><JABBERID>a?b@c</JABBERID><BDAY>2000-01-02</BDAY></vCard>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseVCardTemp(bytes.NewReader(data))
		if !checkParse(t, c, err) {
			return
		}
		var b bytes.Buffer
		if err := WriteVCardTemp(&b, c); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatalf("WriteVCardTemp of a parsed card: %v", err)
		}
		again, err := ParseVCardTemp(&b)
		if err != nil {
			t.Fatalf("written vcard-temp does not parse: %v\n%s", err, b.String())
		}
		sameCard(t, "vcard-temp → card → vcard-temp → card", again, c)
		throughText(t, c)
		throughXCard(t, c)
	})
}

func FuzzParseXCard(f *testing.F) {
	f.Add([]byte(xcard(`<fn><text>Bob</text></fn>`, `<tel><parameters><type><text>video</text></type></parameters><uri>tel:sip:bob@example.test</uri></tel>`)))
	f.Add([]byte(xcard(`<group name="g1"><n><surname>a</surname><surname>b;c</surname></n></group>`, `<gender><sex>M</sex></gender>`, `<bday><date-time>19700101T000000Z</date-time></bday>`)))
	f.Add([]byte(`<vcards xmlns="urn:ietf:params:xml:ns:vcard-4.0"><vcard><x-a><parameters><x-p><text>1,2</text></x-p></parameters><boolean>true</boolean></x-a></vcard></vcards>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseXCard(bytes.NewReader(data))
		if !checkParse(t, c, err) {
			return
		}
		throughXCard(t, c)
		throughText(t, c)
		if err := WriteVCardTemp(&bytes.Buffer{}, c); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("WriteVCardTemp of a parsed card: %v", err)
		}
	})
}

func FuzzParseText(f *testing.F) {
	f.Add(fullText)
	f.Add("BEGIN:VCARD\r\nVERSION:2.1\r\nTEL;WORK;VIDEO:+1 555\r\nFN;ENCODING=QUOTED-PRINTABLE:a=\r\nb\r\nPHOTO;BASE64;JPEG:AAAA\r\nEND:VCARD\r\n")
	f.Add("BEGIN:VCARD\nADR;LABEL=\"a,b^n\";TYPE=a\\,b:;;x\nitem1.X-A:\\,\\;\\N\nEND:VCARD\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseText(s)
		if !checkParse(t, c, err) {
			return
		}
		throughText(t, c)
		throughXCard(t, c)
		if err := WriteVCardTemp(&bytes.Buffer{}, c); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("WriteVCardTemp of a parsed card: %v", err)
		}
	})
}

// checkParse checks a parser's result and reports whether there is a card
// to go on with.
func checkParse(t *testing.T, c vcard.Card, err error) bool {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v wraps neither ErrMalformed nor ErrTooLarge", err)
		}
		if c != nil {
			t.Fatalf("card returned with error %v", err)
		}
		return false
	}
	if c.Value(vcard.FieldVersion) != "4.0" {
		t.Fatalf("VERSION = %q", c.Value(vcard.FieldVersion))
	}
	return true
}

func throughText(t *testing.T, c vcard.Card) {
	t.Helper()
	s, err := Text(c)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return
		}
		t.Fatalf("Text of a parsed card: %v", err)
	}
	if strings.ContainsAny(strings.ReplaceAll(s, "\r\n", ""), "\r\n") {
		t.Fatalf("Text has a bare line break:\n%q", s)
	}
	again, err := ParseText(s)
	if err != nil {
		t.Fatalf("Text output does not parse: %v\n%s", err, s)
	}
	sameCard(t, "card → text → card", again, c)
}

func throughXCard(t *testing.T, c vcard.Card) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteXCard(&b, c); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return
		}
		t.Fatalf("WriteXCard of a parsed card: %v", err)
	}
	again, err := ParseXCard(&b)
	if err != nil {
		t.Fatalf("written xcard does not parse: %v\n%s", err, b.String())
	}
	sameCard(t, "card → xcard → card", again, c)
}

func sameCard(t *testing.T, what string, got, want vcard.Card) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\ngot:\n%s\nwant:\n%s", what, dump(got), dump(want))
	}
}
