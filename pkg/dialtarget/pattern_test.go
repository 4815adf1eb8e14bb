package dialtarget

import (
	"errors"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestValidatePattern(t *testing.T) {
	for _, ok := range []string{"tel:+4930*", "TEL:+49 30 *", "sip:*@partner.example", "sips:*", "tel:*", "sip:bob@example.com",
		"tel:+4930123;ext=*"} {
		if err := ValidatePattern(ok); err != nil {
			t.Errorf("ValidatePattern(%q) = %v", ok, err)
		}
	}
	tests := []struct{ in, contains string }{
		{"", "must not be empty"},
		{"tel:+49\r\n30*", "control character CR"},
		{"sip:\x00", "NUL"},
		{"tel:" + strings.Repeat("1", MaxLen), "longer than"},
		{"+4930*", "must start with sip:, sips: or tel:"},
		{"*:+4930", "must start with"},
		{"http://example.com/*", "must start with"},
		{"sip:*@partner.example?x", "'?'"},
		{"sip:* @partner.example", "white space"},
		{"sip*:*@partner.example", "must start with"},
	}
	for _, tt := range tests {
		err := ValidatePattern(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.contains) || !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("ValidatePattern(%q) = %v, want an ErrInvalid error containing %q", tt.in, err, tt.contains)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, uri string
		want         bool
	}{
		{"tel:+4930*", "tel:+49301234", true},
		{"tel:+4930*", "tel:+49 30 1234", true}, // uri normalised
		{"tel:+49 30 *", "tel:+49301234", true}, // pattern normalised
		{"tel:+49-30-*", "tel:+49301234;ext=5", true},
		{"tel:+4930*", "tel:+4940123", false},
		{"tel:+4930*", "tel:+14930123", false}, // anchored at the start
		{"tel:+4930123", "tel:+4930123", true},
		{"tel:+4930123", "tel:+49301234", false}, // anchored at the end
		{"tel:+4930123", "tel:+4930123;ext=5", true},
		{"tel:+4930123;ext=5", "tel:+4930123;ext=6", false},
		{"tel:+4930123;ext=5", "tel:+4930123;EXT=5", true},
		{"tel:*", "tel:+1900555", true},
		// A tel: pattern is about the number (RFC 3261 §19.1.6).
		{"tel:+4930*", "sip:+4930123@example.com;user=phone", true},
		{"tel:+4930*", "SIPS:+49-30-123@Example.com;USER=PHONE", true},
		{"tel:+4930123", "sip:+4930123;ext=5@example.com;user=phone", true},
		{"tel:+4930123;ext=5", "sip:+4930123;ext=5@example.com;user=phone", true},
		{"tel:+4930*", "sip:+4930123@example.com", false}, // no user=phone: a SIP user
		{"tel:+4930*", "sip:example.com;user=phone", false},
		{"tel:+4930*", "sip:bob@example.com;user=phone", false},
		{"sip:+4930*", "tel:+4930123", false}, // sip patterns match only sip URIs
		{"sip:*@partner.example", "sip:bob@partner.example", true},
		{"sip:*@partner.example", "sip:Bob@PARTNER.example", true},
		{"SIP:*@Partner.Example", "sip:bob@partner.example", true},
		{"sip:*@partner.example", "sip:bob@partner.example;transport=tls", true},
		// A number costs what it costs whichever domain carries it (RFC 7081 §5).
		{"sip:*@partner.example", "sip:+1555;ext=1@partner.example;user=phone", false},
		{"sip:*@partner.example;user=phone", "sip:+1555;ext=1@partner.example;user=phone", true},
		{"sip:*@partner.example;*", "sip:+1555@partner.example;user=phone", false},
		{"sip:+1555*@partner.example", "sip:+15551@partner.example;user=phone", true},
		{"sip:0*@partner.example", "sip:0301234@partner.example;user=phone", true},
		{"sip:*@partner.example", "sip:bob@partner.example.evil", false},
		{"sip:*@partner.example", "sip:bob@evilpartner.example", false},
		{"sip:*@partner.example", "sip:bob@partner.example:5070", false},
		{"sip:*@partner.example", "sips:bob@partner.example", false},
		{"sip*:*@partner.example", "sips:bob@partner.example", false}, // the scheme is literal
		{"sip:*@*.partner.example", "sip:bob@eu.partner.example", true},
		{"sip:*@partner.example;user=phone", "sip:bob@partner.example", false},
		{"sip:a*b*c@x", "sip:aXbYbZc@x", true},
		{"sip:a*b*c@x", "sip:aXbYbZ@x", false},
		{"sip:**@x", "sip:@x", false}, // Normalize refuses an empty user
		{"sip:*", "sip:x", true},
		{"+4930*", "tel:+49301234", false},                 // invalid pattern
		{"", "", false},                                    // invalid pattern
		{"tel:*", "", false},                               // no uri
		{"tel:*", "mailto:x", false},                       // not a dialable uri
		{"sip:*@x", "sip:a@x\r\nVia: evil@x", false},       // Normalize refuses controls
		{"tel:" + strings.Repeat("*", 200), "tel:1", true}, // no blow-up
	}
	for _, tt := range tests {
		if got := MatchPattern(tt.pattern, tt.uri); got != tt.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tt.pattern, tt.uri, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"*", "abc", true},
		{"a*", "a", true}, {"*a", "ba", true}, {"*a", "ab", false},
		{"a*b*c", "abc", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "acb", false},
		{"*aab", "aaab", true}, {"a*a*a*a*b", strings.Repeat("a", 100), false},
	}
	for _, tt := range tests {
		if got := glob(tt.p, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}
