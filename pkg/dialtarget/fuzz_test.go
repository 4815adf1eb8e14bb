package dialtarget

import (
	"errors"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

// FuzzParse: Parse never panics; an error wraps protocol.ErrInvalid and is
// one line; a URI carries no control character and no '?' (the
// header-injection guard) and parses again to itself with the same kind of
// address; SIPURI of a result is a SIP URI that parses again to itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"sip:bob@example.com", "SIPS:Bob@Example.COM:5061;transport=tls", "sip:+1555@x.example;user=phone",
		"sip:bob@example.com?Subject=x", "sip:bob:pw@example.com", "sip:bob@example.com\r\nVia: x",
		"tel:+1-555-1234;ext=5", "tel:030;phone-context=+49", "tel:sip:a@b", "+44 (0)20 7946 0000", "0049 30 1234",
		"Bob Smith", "xmpp:room@conference.example?join", "http://x", "sip:[::1]:5060", "sip:a;b=c@d;e=f",
		"sip:b%40b@x", "tel:+1;isub=%41", "00(0)1", "Zoë\u0085",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("Parse(%q) error %q does not wrap ErrInvalid", s, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n\x00") {
				t.Fatalf("Parse(%q) error %q is not one clean line", s, err)
			}
			if got != (Target{}) {
				t.Fatalf("Parse(%q) = %+v with an error", s, got)
			}
			return
		}
		if got.Input != s {
			t.Fatalf("Parse(%q).Input = %q", s, got.Input)
		}
		switch got.Kind {
		case KindContact:
			if got.Name == "" || got.URI != "" {
				t.Fatalf("Parse(%q) = %+v: contact without name or with a URI", s, got)
			}
			return
		case KindSIP, KindTel, KindNumber:
		default:
			t.Fatalf("Parse(%q) kind %q", s, got.Kind)
		}
		if strings.ContainsFunc(got.URI, isControl) || strings.ContainsRune(got.URI, '?') {
			t.Fatalf("Parse(%q).URI = %q carries a control character or '?'", s, got.URI)
		}
		again, err := Parse(got.URI)
		if err != nil || again.URI != got.URI || (again.Kind == KindSIP) != (got.Kind == KindSIP) {
			t.Fatalf("Parse(%q).URI = %q, which parses to %+v, %v", s, got.URI, again, err)
		}
		sipURI, err := SIPURI(got, "example.com")
		if err != nil {
			// Only tel: parameters SIP cannot carry may fail.
			if got.Kind != KindTel || !strings.Contains(got.URI, ";") {
				t.Fatalf("SIPURI(%+v): %v", got, err)
			}
			return
		}
		back, err := Parse(sipURI)
		if err != nil || back.Kind != KindSIP || back.URI != sipURI {
			t.Fatalf("SIPURI(%+v) = %q, which parses to %+v, %v", got, sipURI, back, err)
		}
		if pstn, _ := Classify(sipURI, "example.com"); got.Kind != KindSIP && !pstn {
			t.Fatalf("Classify(%q) says a number is not PSTN", sipURI)
		}
	})
}

// FuzzMatchPattern: matching never panics, and a valid pattern made only
// of a dialable URI matches that URI.
func FuzzMatchPattern(f *testing.F) {
	f.Add("tel:+4930*", "tel:+49301234")
	f.Add("sip:*@partner.example", "sip:Bob@Partner.Example;transport=tls")
	f.Add("sip:a*b*c*d*e*f*g*h@x", "sip:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x")
	f.Fuzz(func(t *testing.T, pattern, uri string) {
		_ = MatchPattern(pattern, uri)
		target, err := Parse(uri)
		if err != nil || target.URI == "" || strings.Contains(target.URI, "*") {
			return
		}
		if !MatchPattern(target.URI, target.URI) {
			t.Fatalf("MatchPattern(%q, itself) = false", target.URI)
		}
	})
}
