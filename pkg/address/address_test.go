package address

import (
	"errors"
	"strings"
	"testing"
)

func TestDomainOf(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		in, want string
		err      error
	}{
		// Case, IDN in Unicode and punycode, trailing dot.
		{"example.com", "example.com", nil},
		{"EXAMPLE.Com", "example.com", nil},
		{"example.com.", "example.com", nil},
		{"alice@Example.COM.", "example.com", nil},
		{"bücher.example", "xn--bcher-kva.example", nil},
		{"BÜCHER.example", "xn--bcher-kva.example", nil},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", nil},
		{"XN--BCHER-KVA.EXAMPLE.", "xn--bcher-kva.example", nil},
		{"bob@bücher.example/phone", "xn--bcher-kva.example", nil},
		{"bücher。example", "xn--bcher-kva.example", nil}, // ideographic full stop
		// sip:/sips: with ports, params, user=phone, headers.
		{"sip:alice@example.com", "example.com", nil},
		{"SIP:alice@EXAMPLE.COM:5060", "example.com", nil},
		{"sips:alice@bücher.example:5061;transport=tls", "xn--bcher-kva.example", nil},
		{"sip:+15551234@Example.com;user=phone", "example.com", nil},
		{"sip:+15551234;ext=12@example.com;user=phone", "example.com", nil},
		{"sip:alice:secret@example.com", "example.com", nil},
		{"sip:alice@example.com?subject=hi%40there", "example.com", nil},
		{"sip:example.com;transport=tcp", "example.com", nil},
		{"<sip:alice@example.com>", "example.com", nil},
		{"sip:alice@[2001:DB8::1]:5060", "[2001:db8::1]", nil},
		{"sip:alice@192.0.2.1:5060", "192.0.2.1", nil},
		// tel: has no domain.
		{"tel:+15551234", "", ErrNoDomain},
		{"TEL:+1-555-1234;phone-context=example.com", "", ErrNoDomain},
		// xmpp: URIs (RFC 5122).
		{"xmpp:bob@Example.com", "example.com", nil},
		{"xmpp:bob@example.com/phone?message", "example.com", nil},
		{"xmpp://guest@example.org/bob@Example.COM?message#x", "example.com", nil},
		{"xmpp:bob@b%C3%BCcher.example", "xn--bcher-kva.example", nil},
		{"xmpp:example.com", "example.com", nil},
		// JIDs with resources, user@host with ports.
		{"bob@example.com/laptop", "example.com", nil},
		{"bob@example.com/with@at/and/slash", "example.com", nil},
		{"example.com/resource", "example.com", nil},
		{"bob@example.com:5222", "example.com", nil},
		{"bob@[::1]", "[::1]", nil},
		{"  bob@example.com  ", "example.com", nil},
		{"sip_host.example.com", "sip_host.example.com", nil},
		// Hostile.
		{"", "", ErrNoDomain},
		{"   ", "", ErrNoDomain},
		{"<>", "", ErrNoDomain},
		{"@", "", ErrInvalid},
		{"bob@", "", ErrInvalid},
		{"sip:", "", ErrInvalid},
		{"sip:alice@", "", ErrInvalid},
		{"xmpp:", "", ErrNoDomain},
		{"xmpp://only-authority", "", ErrInvalid},
		{"xmpp:bob@%zz", "", ErrInvalid},
		{".", "", ErrInvalid},
		{"example..com", "", ErrInvalid},
		{"exa mple.com", "", ErrInvalid},
		{"example.com:http", "", ErrInvalid},
		{"example.com:1234567", "", ErrInvalid},
		{"bob@example.com\r\n", "example.com", nil}, // outer white space only
		{"bob@exa\nmple.com", "", ErrInvalid},
		{"sip:alice@[2001:db8::1", "", ErrInvalid},
		{"sip:alice@[192.0.2.1]", "", ErrInvalid},
		{"sip:alice@[fe80::1%eth0]", "", ErrInvalid},
		{"[::1]junk", "", ErrInvalid},
		{long + ".example", long + ".example", nil},
		{long + "a.example", "", ErrInvalid},
		{strings.Repeat(long+".", 4) + "example", "", ErrInvalid},
		{"xn--zz.example", "", ErrInvalid},
		{"bad!char.example", "", ErrInvalid},
		{"\x80.example", "", ErrInvalid},
	}
	for _, tt := range tests {
		got, err := DomainOf(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("DomainOf(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSameDomain(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"bob@EXAMPLE.com", "sip:alice@example.com", true},
		{"bob@bücher.example", "sip:alice@xn--bcher-kva.example", true},
		{"bob@XN--BCHER-KVA.example/phone", "sip:alice@BÜCHER.example.:5060", true},
		{"xmpp:bob@example.com", "sips:alice@example.com;transport=tls", true},
		// Subdomains count both ways (RFC 7081 §3.4), siblings do not (§5).
		{"bob@example.com", "sip:alice@sip.example.com", true},
		{"sip:+1555@sip.example.com;user=phone", "alice@example.com", true},
		{"bob@biloxi.example.com", "alice@atlanta.example.com", false},
		{"bob@notexample.com", "alice@example.com", false},
		{"bob@example.com", "alice@com", false},
		{"bob@com", "alice@example.com", false},
		// Literals only by equality.
		{"bob@192.0.2.1", "sip:alice@192.0.2.1:5060", true},
		{"bob@1.192.0.2.1", "alice@192.0.2.1", false},
		{"bob@[2001:db8::1]", "sip:alice@[2001:DB8:0::1]", true},
		// No domain is no domain.
		{"tel:+1555", "tel:+1555", false},
		{"", "", false},
		{"@", "example.com", false},
		{"example.com", "exa mple.com", false},
	}
	for _, tt := range tests {
		if got := SameDomain(tt.a, tt.b); got != tt.want {
			t.Errorf("SameDomain(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := SameDomain(tt.b, tt.a); got != tt.want {
			t.Errorf("SameDomain(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func FuzzDomainOf(f *testing.F) {
	for _, s := range []string{"sip:alice@Example.com:5060;user=phone", "bob@bücher.example/r", "tel:+1", "xmpp://a@b/c@d?x", "[::1]", "@", "", "x@1.2.3.4:5"} {
		f.Add(s, "example.com")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if k := BareKey(a); k != "" && BareKey(a) != k {
			t.Fatalf("BareKey(%q) is not deterministic", a)
		}
		d, err := DomainOf(a)
		if err != nil {
			if d != "" {
				t.Fatalf("DomainOf(%q) = %q with error %v", a, d, err)
			}
			return
		}
		if d == "" {
			t.Fatalf("DomainOf(%q) = \"\" without an error", a)
		}
		again, err := DomainOf("x@" + d)
		if err != nil || again != d {
			t.Fatalf("DomainOf(%q) = %q, but DomainOf(x@%s) = %q, %v", a, d, d, again, err)
		}
		if !SameDomain(a, a) {
			t.Fatalf("SameDomain(%q, itself) = false", a)
		}
		if SameDomain(a, b) != SameDomain(b, a) {
			t.Fatalf("SameDomain(%q, %q) is not symmetric", a, b)
		}
	})
}

func TestBareKey(t *testing.T) {
	for in, want := range map[string]string{
		"bob@example.com":                "bob@example.com",
		"Bob@EXAMPLE.com./laptop":        "bob@example.com",
		"bob@BÜCHER.example":             "bob@xn--bcher-kva.example",
		"xmpp:bob@xn--bcher-kva.example": "bob@xn--bcher-kva.example",
		"example.com/r":                  "example.com",
		"bob@exa mple.com":               "bob@exa mple.com",
		"":                               "",
	} {
		if got := BareKey(in); got != want {
			t.Errorf("BareKey(%q) = %q, want %q", in, got, want)
		}
	}
}
