package contacts

import (
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, uri, kind string
	}{
		{"sip:bob@example.test", "sip:bob@example.test", KindSIP},
		{" SIP:Bob@Example.TEST. ", "sip:Bob@example.test", KindSIP},
		{"sips:bob@example.test:5061;transport=tls", "sips:bob@example.test:5061;transport=tls", KindSIP},
		{"sip:bob:secret@example.test?Subject=hi&Priority=urgent", "sip:bob@example.test", KindSIP},
		{"sip:example.test", "sip:example.test", KindSIP},
		{"sip:+15550100@gw.example.test;user=phone", "sip:+15550100@gw.example.test;user=phone", KindPhone},
		{"sip:+15550100@gw.example.test;User=Phone", "sip:+15550100@gw.example.test;User=Phone", KindPhone},
		{"tel:sip:bob@example.test", "sip:bob@example.test", KindSIP},
		{"TEL:SIPS:bob@example.test", "sips:bob@example.test", KindSIP},
		{"tel:+1-555-555-0100", "tel:+15555550100", KindPhone},
		{"tel:+1 (555) 555.0100", "tel:+15555550100", KindPhone},
		{"tel:+1-555-0100;ext=42", "tel:+15550100;ext=42", KindPhone},
		{"tel:5550100;phone-context=example.test", "tel:5550100;phone-context=example.test", KindPhone},
		{"+44 20 7946 0000", "tel:+442079460000", KindPhone},
		{"(030) 123-45", "tel:03012345", KindPhone},
		{"112", "tel:112", KindPhone},
		{"", "", KindOther},
		{"+", "+", KindOther},
		{"1+2", "1+2", KindOther},
		{"555-CALL-NOW", "555-CALL-NOW", KindOther},
		{"*31#", "*31#", KindOther},
		{strings.Repeat("1", 33), strings.Repeat("1", 33), KindOther},
		{"sip:", "sip:", KindOther},
		{"sip:bob@", "sip:bob@", KindOther},
		{"sip:*", "sip:*", KindOther},
		{"sip:bob@exa mple.test", "sip:bob@exa mple.test", KindOther},
		{"sip:bob@example.test\r\nVia: evil", "sip:bob@example.test\r\nVia: evil", KindOther},
		{"sip:bob@example.test\x00", "sip:bob@example.test\x00", KindOther},
		{"tel:+1 555\n", "tel:+1555", KindPhone}, // trailing white space is trimmed first
		{"tel:+1;ext=1 2", "tel:+1;ext=1 2", KindOther},
		{"tel:call-me", "tel:call-me", KindOther},
		{"xmpp:bob@example.test", "xmpp:bob@example.test", KindOther},
		{"mailto:bob@example.test", "mailto:bob@example.test", KindOther},
		{"bob@example.test", "bob@example.test", KindOther},
	}
	for _, tt := range tests {
		uri, kind := Normalize(tt.in)
		if uri != tt.uri || kind != tt.kind {
			t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tt.in, uri, kind, tt.uri, tt.kind)
		}
		if kind != KindOther {
			if u2, k2 := Normalize(uri); u2 != uri || k2 != kind {
				t.Errorf("Normalize(%q) = %q, %q: not idempotent", uri, u2, k2)
			}
		}
	}
}

func tel(value string, params ...string) *vcard.Field {
	f := &vcard.Field{Value: value, Params: vcard.Params{}}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		f.Params[k] = append(f.Params[k], strings.Split(v, "|")...)
	}
	return f
}

func TestTels(t *testing.T) {
	c := vcard.Card{vcard.FieldTelephone: {
		tel("tel:+1-555-0100", "TYPE=voice|CELL"),
		tel("sip:bob@example.test", "TYPE=work", "TYPE=video", "PREF=2", "VALUE=uri"),
		tel("ask at the desk"),
		tel("+1 555 0101", "TYPE=pref,voice"), // vCard 3
		tel("sip:bob@other.test", "PREF=junk"),
		tel("sips:bob@example.test", "PREF=1"),
	}}
	want := []Tel{
		{URI: "tel:+15550101", Types: []string{"voice"}, Kind: KindPhone, Pref: true},
		{URI: "sips:bob@example.test", Types: []string{}, Kind: KindSIP, Pref: true},
		{URI: "sip:bob@example.test", Types: []string{"work", "video"}, Kind: KindSIP, Pref: true},
		{URI: "sip:bob@other.test", Types: []string{}, Kind: KindSIP, Pref: true},
		{URI: "tel:+15550100", Types: []string{"voice", "cell"}, Kind: KindPhone},
		{URI: "ask at the desk", Types: []string{}, Kind: KindOther},
	}
	if got := Tels(c); !reflect.DeepEqual(got, want) {
		t.Errorf("Tels:\ngot  %+v\nwant %+v", got, want)
	}
	if got := Tels(nil); len(got) != 0 {
		t.Errorf("Tels(nil) = %v", got)
	}
}

func TestPreferred(t *testing.T) {
	sip1 := Tel{URI: "sip:a@example.test", Kind: KindSIP}
	sip2 := Tel{URI: "sip:b@example.test", Kind: KindSIP, Pref: true}
	ph1 := Tel{URI: "tel:+1", Kind: KindPhone}
	ph2 := Tel{URI: "tel:+2", Kind: KindPhone, Pref: true}
	other := Tel{URI: "x", Kind: KindOther, Pref: true}
	tests := []struct {
		name string
		tels []Tel
		want Tel
		ok   bool
	}{
		{"none", nil, Tel{}, false},
		{"only other", []Tel{other}, Tel{}, false},
		{"sip over preferred phone", []Tel{ph2, sip1}, sip1, true},
		{"preferred sip first", []Tel{sip1, sip2, ph2}, sip2, true},
		{"first sip without pref", []Tel{ph1, sip1, {URI: "sip:c@x", Kind: KindSIP}}, sip1, true},
		{"preferred phone", []Tel{other, ph1, ph2}, ph2, true},
		{"first phone", []Tel{ph1, {URI: "tel:+3", Kind: KindPhone}}, ph1, true},
	}
	for _, tt := range tests {
		got, ok := Preferred(tt.tels)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Preferred = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
