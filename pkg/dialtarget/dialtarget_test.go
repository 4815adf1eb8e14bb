package dialtarget

import (
	"errors"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind Kind
		uri  string
		who  string // Name
	}{
		{name: "sip", in: "sip:bob@example.com", kind: KindSIP, uri: "sip:bob@example.com"},
		{name: "sip upper scheme and host", in: "SIP:Bob@Example.COM", kind: KindSIP, uri: "sip:Bob@example.com"},
		{name: "sips with port and params", in: "sips:bob@example.com:5061;transport=tls", kind: KindSIP,
			uri: "sips:bob@example.com:5061;transport=tls"},
		{name: "sip user=phone", in: "sip:+15551234@example.com;user=phone", kind: KindSIP,
			uri: "sip:+15551234@example.com;user=phone"},
		{name: "sip host only", in: "sip:conference.example.com", kind: KindSIP, uri: "sip:conference.example.com"},
		{name: "sip ipv6", in: "sip:bob@[2001:db8::1]:5060", kind: KindSIP, uri: "sip:bob@[2001:db8::1]:5060"},
		{name: "sip escaped user", in: "sip:b%40b@example.com", kind: KindSIP, uri: "sip:b%40b@example.com"},
		{name: "sip surrounding space", in: "  sip:bob@example.com ", kind: KindSIP, uri: "sip:bob@example.com"},

		{name: "tel global", in: "tel:+1-555-123-4567", kind: KindTel, uri: "tel:+15551234567"},
		{name: "tel with ext", in: "TEL:+49 (30) 1234;ext=56", kind: KindTel, uri: "tel:+49301234;ext=56"},
		{name: "tel local with context", in: "tel:030-1234;phone-context=+49", kind: KindTel,
			uri: "tel:0301234;phone-context=+49"},
		{name: "tel local", in: "tel:0301234", kind: KindTel, uri: "tel:0301234"},
		{name: "tel empty params", in: "tel:+1555;", kind: KindTel, uri: "tel:+1555"},

		{name: "number plus", in: "+1 (555) 123-4567", kind: KindNumber, uri: "tel:+15551234567"},
		{name: "number 00", in: "0049 30 1234", kind: KindNumber, uri: "tel:+49301234"},
		{name: "number trunk prefix", in: "+44 (0)20 7946 0000", kind: KindNumber, uri: "tel:+442079460000"},
		{name: "number 00 trunk prefix", in: "0044 (0)20 7946 0000", kind: KindNumber, uri: "tel:+442079460000"},
		{name: "number local", in: "030 1234", kind: KindNumber, uri: "tel:0301234"},
		{name: "number local keeps (0)", in: "(0)30 1234", kind: KindNumber, uri: "tel:0301234"},
		{name: "number 000 stays local", in: "000123", kind: KindNumber, uri: "tel:000123"},
		{name: "number dots", in: "555.123.4567", kind: KindNumber, uri: "tel:5551234567"},
		{name: "emergency", in: "112", kind: KindNumber, uri: "tel:112"},

		{name: "roster name", in: "Bob", kind: KindContact, who: "Bob"},
		{name: "roster name with spaces", in: "  Bob Smith ", kind: KindContact, who: "Bob Smith"},
		{name: "roster name with colon after space", in: "Bob (work): desk", kind: KindContact, who: "Bob (work): desk"},
		{name: "jid", in: "bob@example.com", kind: KindContact, who: "bob@example.com"},
		{name: "full jid with colon", in: "bob@example.com/laptop:1", kind: KindContact, who: "bob@example.com/laptop:1"},
		{name: "xmpp uri", in: "xmpp:bob@example.com", kind: KindContact, who: "xmpp:bob@example.com"},
		{name: "xmpp room", in: "XMPP:room@conference.example.com?join", kind: KindContact,
			who: "XMPP:room@conference.example.com?join"},
		{name: "unicode name", in: "Zoë", kind: KindContact, who: "Zoë"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			want := Target{Input: tt.in, Kind: tt.kind, URI: tt.uri, Name: tt.who}
			if got != want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, want)
			}
			if got.URI != "" {
				again, err := Parse(got.URI)
				if err != nil || again.URI != got.URI {
					t.Errorf("Parse(%q) = %+v, %v: does not round-trip", got.URI, again, err)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		contains string
	}{
		{name: "empty", in: "", contains: "empty"},
		{name: "blank", in: "   ", contains: "empty"},
		{name: "CRLF in sip", in: "sip:bob@example.com\r\nVia: evil", contains: "control character CR (U+000D) at character 20"},
		{name: "LF in name", in: "Bob\nX", contains: "control character LF (U+000A) at character 4"},
		{name: "NUL first", in: "\x00sip:bob@example.com", contains: "control character NUL (U+0000) at character 1"},
		{name: "tab", in: "Bob\tSmith", contains: "TAB (U+0009)"},
		{name: "escape", in: "\x1b[31mBob", contains: "ESC (U+001B)"},
		{name: "DEL", in: "Bob\x7f", contains: "DEL (U+007F)"},
		{name: "other C0", in: "a\x01", contains: "control character U+0001 at character 2"},
		{name: "C1 NEL", in: "Bob\u0085", contains: "NEL (U+0085)"},
		{name: "position counts characters", in: "Zoë\r", contains: "at character 4"},
		{name: "trailing LF", in: "sip:bob@example.com\n", contains: "LF"},
		{name: "invalid utf-8", in: "Bob\xff", contains: "invalid UTF-8 at byte 4"},
		{name: "control before length", in: strings.Repeat("a", 2000) + "\r", contains: "control character CR"},
		{name: "too long", in: "sip:" + strings.Repeat("a", MaxLen) + "@example.com", contains: "longer than 1024 bytes"},
		{name: "long name", in: strings.Repeat("b", MaxLen+1), contains: "longer than"},

		{name: "sip headers", in: "sip:bob@example.com?Subject=hi", contains: "headers"},
		{name: "sip headers after params", in: "sip:bob@example.com;transport=tcp?X-Evil=1", contains: "headers"},
		{name: "sip question in user", in: "sip:b?b@example.com", contains: "headers"},
		{name: "sip password", in: "sip:bob:hunter2@example.com", contains: "password"},
		{name: "sip empty password", in: "sip:bob:@example.com", contains: "password"},
		{name: "sip slashes", in: "sip://bob@example.com", contains: "//"},
		{name: "sip no host", in: "sip:bob@", contains: "not a valid SIP URI"},
		{name: "sip two at", in: "sip:a@b@example.com", contains: "not a valid SIP URI"},
		{name: "sip space", in: "sip:bob smith@example.com", contains: "user part"},
		{name: "sip angle", in: "sip:bob@example.com>;tag=1", contains: "not a valid SIP URI"},
		{name: "sip quote in user", in: `sip:b"b@example.com`, contains: "user part"},
		{name: "sip bad escape", in: "sip:b%zzb@example.com", contains: "user part"},
		{name: "sip bad port", in: "sip:bob@example.com:99999", contains: "not a valid SIP URI"},
		{name: "sip wildcard", in: "sip:*", contains: "not a valid SIP URI"},
		{name: "sip bare", in: "sip:", contains: "not a valid SIP URI"},

		{name: "tel question", in: "tel:+1555?x", contains: "'?'"},
		{name: "tel letters", in: "tel:+1555CALLME", contains: "not a valid tel: URI"},
		{name: "tel empty", in: "tel:", contains: "not a valid tel: URI"},
		{name: "tel plus only", in: "tel:+", contains: "not a valid tel: URI"},
		{name: "tel bad param", in: "tel:+1555;ext=<1>", contains: "bad parameter"},
		{name: "tel param no name", in: "tel:+1555;=1", contains: "bad parameter"},
		{name: "tel param empty value", in: "tel:+1555;ext=", contains: "bad parameter"},
		{name: "tel sip", in: "tel:sip:bob@example.com", contains: "not a valid tel: URI"},
		{name: "tel too many digits", in: "tel:+" + strings.Repeat("1", 40), contains: "not a valid tel: URI"},

		{name: "http", in: "http://example.com/", contains: `unknown URI scheme "http:"`},
		{name: "mailto", in: "MAILTO:bob@example.com", contains: `"mailto:"`},
		{name: "long scheme not quoted", in: strings.Repeat("x", 40) + ":y", contains: "unknown URI scheme ("},
		{name: "word colon", in: "Team:Ops", contains: "unknown URI scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tt.in, got)
			}
			if got != (Target{}) {
				t.Errorf("Parse returned %+v with an error", got)
			}
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("error %q does not wrap protocol.ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.contains) {
				t.Errorf("error %q does not contain %q", msg, tt.contains)
			}
			if !strings.HasPrefix(msg, "call target: ") {
				t.Errorf("error %q lacks the context", msg)
			}
			if strings.ContainsFunc(msg, isControl) {
				t.Errorf("error %q carries a control character", msg)
			}
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "evil") || strings.Contains(msg, "Evil") {
				t.Errorf("error %q repeats the input", msg)
			}
		})
	}
}

func TestSIPURI(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		domain  string
		want    string
		wantErr string
	}{
		{name: "sip as is", in: "SIP:bob@Example.com", domain: "other.example", want: "sip:bob@example.com"},
		{name: "sip user=phone as is", in: "sip:+1555@gw.example;user=phone", domain: "example.com",
			want: "sip:+1555@gw.example;user=phone"},
		{name: "tel", in: "tel:+1-555-1234", domain: "example.com", want: "sip:+15551234@example.com;user=phone"},
		{name: "tel ext", in: "tel:+1555;ext=12", domain: "example.com", want: "sip:+1555;ext=12@example.com;user=phone"},
		{name: "number", in: "+49 30 1234", domain: "Example.COM.", want: "sip:+49301234@example.com;user=phone"},
		{name: "local number", in: "030 1234", domain: "example.com", want: "sip:0301234@example.com;user=phone"},
		{name: "domain from AOR", in: "+1555", domain: "sip:alice@example.com:5061;transport=tls",
			want: "sip:+1555@example.com;user=phone"},
		{name: "domain from JID", in: "+1555", domain: "alice@example.com/laptop", want: "sip:+1555@example.com;user=phone"},
		{name: "ip domain", in: "+1555", domain: "192.0.2.1", want: "sip:+1555@192.0.2.1;user=phone"},
		// Issue 14: the A-label, not a Unicode host no SIP parser takes.
		{name: "idn domain", in: "+1555", domain: "alice@BÜCHER.example", want: "sip:+1555@xn--bcher-kva.example;user=phone"},

		{name: "contact", in: "Bob", domain: "example.com", wantErr: "has no SIP URI"},
		{name: "no domain", in: "+1555", domain: "", wantErr: "no account domain"},
		{name: "bad domain", in: "+1555", domain: "exa mple.com", wantErr: "not a valid SIP host"},
		{name: "injecting domain", in: "+1555", domain: "example.com>\r\nX: y", wantErr: "not a valid SIP host"},
		{name: "domain with params", in: "+1555", domain: "example.com;maddr=evil", wantErr: "not a valid SIP host"},
		{name: "tel param not for sip", in: "tel:+1555;isub=a:b", domain: "example.com", wantErr: "cannot be carried"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SIPURI(target, tt.domain)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, protocol.ErrInvalid) {
					t.Fatalf("SIPURI = %q, %v; want an ErrInvalid error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SIPURI = %q, %v; want %q", got, err, tt.want)
			}
			if pstn, _ := Classify(got, tt.domain); pstn != (target.Kind != KindSIP || strings.Contains(got, "user=phone")) {
				t.Errorf("Classify(%q) pstn = %v", got, pstn)
			}
		})
	}
}

func TestSIPURIHandMadeTarget(t *testing.T) {
	for _, target := range []Target{
		{Kind: KindSIP, URI: "sip:bob@example.com\r\nVia: evil"},
		{Kind: KindSIP, URI: "sip:bob@example.com?Route=evil"},
		{Kind: KindSIP, URI: "sip:Bob@EXAMPLE.com"},       // not normalised
		{Kind: KindTel, URI: "sip:bob@example.com"},       // kind mismatch
		{Kind: KindSIP, URI: "tel:+1555"},                 // kind mismatch
		{Kind: KindNumber, URI: "tel:+1555\nX-Evil: yes"}, // control
		{Kind: "pager", URI: "sip:bob@example.com"},       // unknown kind
		{Kind: KindRoom, Name: "room@conference.example"}, // no URI
		{},
	} {
		if got, err := SIPURI(target, "example.com"); err == nil || !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("SIPURI(%+v) = %q, %v; want ErrInvalid", target, got, err)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name        string
		uri, domain string
		pstn, inter bool
	}{
		{name: "sip same domain", uri: "sip:bob@example.com", domain: "example.com"},
		{name: "sip same domain case", uri: "sip:bob@EXAMPLE.com", domain: "Example.Com."},
		{name: "sip subdomain", uri: "sip:bob@sip.example.com", domain: "example.com"},
		{name: "sip other domain", uri: "sip:bob@biloxi.example", domain: "atlanta.example", inter: true},
		{name: "suffix is not a subdomain", uri: "sip:bob@badexample.com", domain: "example.com", inter: true},
		// Issue 14: one rule with call, roster and whois-caller
		// (address.SameDomain): a subdomain counts either way, siblings
		// do not.
		{name: "parent is the same domain", uri: "sip:bob@example.com", domain: "sip.example.com"},
		{name: "siblings are two domains", uri: "sip:bob@xmpp.example.com", domain: "sip.example.com", inter: true},
		{name: "idn punycode against unicode", uri: "sip:bob@xn--bcher-kva.example", domain: "alice@BÜCHER.example/phone"},
		{name: "case and port in the AOR", uri: "sip:bob@example.com", domain: "sip:alice@EXAMPLE.COM:5061;transport=tls"},
		{name: "domain from AOR", uri: "sip:bob@example.com", domain: "sips:alice@example.com"},
		{name: "domain from JID", uri: "sip:bob@biloxi.example", domain: "alice@atlanta.example", inter: true},
		{name: "tel", uri: "tel:+15551234", domain: "example.com", pstn: true},
		{name: "bare number", uri: "+1 555 1234", domain: "example.com", pstn: true},
		{name: "user=phone own domain", uri: "sip:+15551234@example.com;user=phone", domain: "example.com", pstn: true},
		// RFC 7081 §5: Bob's mobile number, learned from biloxi.example.
		{name: "user=phone other domain", uri: "sip:+15551234@biloxi.example;user=phone", domain: "atlanta.example",
			pstn: true, inter: true},
		{name: "no account domain", uri: "sip:bob@biloxi.example", domain: ""},
		{name: "unrecognised fails closed", uri: "mailto:bob@example.com", domain: "example.com", inter: true},
		{name: "control fails closed", uri: "sip:bob@example.com\r\n", domain: "example.com", inter: true},
		{name: "idna", uri: "sip:bob@xn--bcher-kva.example", domain: "bücher.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pstn, inter := Classify(tt.uri, tt.domain)
			if pstn != tt.pstn || inter != tt.inter {
				t.Errorf("Classify(%q, %q) = %v, %v; want %v, %v", tt.uri, tt.domain, pstn, inter, tt.pstn, tt.inter)
			}
		})
	}
}
