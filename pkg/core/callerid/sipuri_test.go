package callerid

import "testing"

func TestSameSIPURI(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		// RFC 3261 §19.1.4, the URIs in each pair are equivalent.
		{"rfc: escaped user, host case, param case", "sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
		{"rfc: param in one only", "sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
		{"rfc: param in one only (2)", "sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true},
		{"rfc: params in one only, both", "sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true},
		{"rfc: param order", "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com", "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true},
		{"rfc: header order", "sip:alice@atlanta.com?subject=project%20x&priority=urgent", "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true},
		// RFC 3261 §19.1.4, the URIs in each pair are not equivalent.
		{"rfc: user case", "SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false},
		{"rfc: port in one only", "sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
		{"rfc: transport in one only", "sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false},
		{"rfc: port and transport", "sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false},
		{"rfc: header in one only", "sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false},
		{"rfc: host vs its address", "sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},
		{"rfc: not transitive", "sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off", false},
		{"rfc: not transitive (1)", "sip:carol@chicago.com", "sip:carol@chicago.com;security=off", true},
		// Further rules of §19.1.4.
		{"sip vs sips", "sip:alice@atlanta.com", "sips:alice@atlanta.com", false},
		{"user param in one only", "sip:+15550100@example.test", "sip:+15550100@example.test;user=phone", false},
		{"ttl in one only", "sip:a@example.test", "sip:a@example.test;ttl=1", false},
		{"method in one only", "sip:a@example.test", "sip:a@example.test;method=INVITE", false},
		{"maddr in one only", "sip:a@example.test;maddr=239.255.255.1", "sip:a@example.test", false},
		{"maddr differs", "sip:a@example.test;maddr=239.255.255.1", "sip:a@example.test;maddr=239.255.255.2", false},
		{"password", "sip:a:x@example.test", "sip:a:y@example.test", false},
		{"password in one only", "sip:a:x@example.test", "sip:a@example.test", false},
		{"header value escape", "sip:a@example.test?subject=a%20b", "sip:a@example.test?Subject=A%20B", true},
		{"reserved escape stays", "sip:a%3Bb@example.test", "sip:a;b@example.test", false},
		{"escape hex case", "sip:a%3bb@example.test", "sip:a%3Bb@example.test", true},
		{"ipv6 forms", "sip:a@[2001:db8::1]", "sip:a@[2001:0db8:0:0::1]", true},
		{"no user vs user", "sip:example.test", "sip:a@example.test", false},
		// Never by substring or suffix.
		{"suffix of host", "sip:alice@example.test", "sip:alice@evilexample.test", false},
		{"suffix of user", "sip:alice@example.test", "sip:malice@example.test", false},
		{"prefix of user", "sip:alice@example.test", "sip:alice2@example.test", false},
		{"subdomain", "sip:alice@example.test", "sip:alice@example.test.evil.test", false},
		// Not comparable.
		{"tel", "tel:+15550100", "tel:+15550100", false},
		{"two @", "sip:a@b@example.test", "sip:a@b@example.test", false},
		{"bad escape", "sip:a%zz@example.test", "sip:a%zz@example.test", false},
		{"empty host", "sip:a@", "sip:a@", false},
		{"port too big", "sip:a@example.test:70000", "sip:a@example.test:70000", false},
		{"repeated param", "sip:a@example.test;transport=tcp;transport=udp", "sip:a@example.test;transport=tcp", false},
		{"space", "sip:a b@example.test", "sip:a b@example.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameSIPURI(tt.a, tt.b); got != tt.want {
				t.Errorf("SameSIPURI(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := SameSIPURI(tt.b, tt.a); got != tt.want {
				t.Errorf("SameSIPURI(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestCallerKey(t *testing.T) {
	tests := []struct {
		addr, key, kind string
	}{
		{"sip:alice@Example.TEST", "sip:alice@example.test", KindSIP},
		{"sip:alice@Bücher.example", "sip:alice@xn--bcher-kva.example", KindSIP},
		{"sip:alice@xn--bcher-kva.example", "sip:alice@xn--bcher-kva.example", KindSIP},
		{"sip:alice@example.test.:5060", "sip:alice@example.test:5060", KindSIP},
		{"SIP:%61lice@example.test;transport=TCP;lr;foo=bar?subject=x", "sip:alice@example.test;transport=tcp", KindSIP},
		{"sip:alice:secret@example.test:5061;user=ip;ttl=5", "sip:alice@example.test:5061;ttl=5;user=ip", KindSIP},
		{"sips:alice@example.test", "sips:alice@example.test", KindSIP},
		{"sip:+15550100@example.test;user=phone", "tel:+15550100", KindPhone},
		{"sip:+1-555-0100@gw.example.test;user=PHONE", "tel:+15550100", KindPhone},
		{"sip:+15550100;ext=12@example.test;user=phone", "tel:+15550100;ext=12", KindPhone},
		{"sip:5550100;phone-context=+1@example.test;user=phone", "tel:+15550100", KindPhone},
		{"tel:+1-555-0100", "tel:+15550100", KindPhone},
		{"tel:+15550100;ext=1-2", "tel:+15550100;ext=12", KindPhone},
		{"tel:5550100;phone-context=example.test", "tel:5550100;phone-context=example.test", KindPhone},
		{"tel:5550100", "tel:5550100", KindPhone},
		{"sip:+15550100@example.test", "sip:+15550100@example.test", KindSIP},
		{"sip:bob@example.test;user=phone", "sip:bob@example.test;user=phone", KindSIP},
		{"tel:+1555x0100", "", ""},
		{"tel:+", "", ""},
		{"tel:+12", "", ""},
		{"tel:+1234567890123456", "", ""},
		{"http://example.test/", "", ""},
		{"alice@example.test", "", ""},
		{"sip:a@b@example.test", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			key, kind := CallerKey(tt.addr, GlobalOnly)
			if key != tt.key || kind != tt.kind {
				t.Errorf("CallerKey(%q) = %q, %q; want %q, %q", tt.addr, key, kind, tt.key, tt.kind)
			}
		})
	}
	if key, kind := CallerKey("tel:+15550100", nil); key != "" || kind != "" {
		t.Errorf("CallerKey with nil normaliser = %q, %q; want nothing", key, kind)
	}
}

// TestCallerKeyAgreesWithSameSIPURI: for URIs whose parameters are all
// ones §19.1.4 never ignores, equal keys and SameSIPURI agree.
func TestCallerKeyAgreesWithSameSIPURI(t *testing.T) {
	uris := []string{
		"sip:alice@example.test", "sip:Alice@example.test", "sip:%61lice@EXAMPLE.test", "sip:alice@example.test:5060",
		"sip:alice@example.test;transport=tcp", "sip:alice@example.test;TRANSPORT=TCP", "sips:alice@example.test",
		"sip:alice@example.test;maddr=192.0.2.1", "sip:alice@example.test;ttl=1;transport=udp", "sip:alice@example.test;transport=udp;ttl=1",
		"sip:example.test", "sip:alice@192.0.2.1",
		"sip:alice@bücher.example", "sip:alice@XN--BCHER-KVA.example", "sip:alice@Bücher.example.",
	}
	for _, a := range uris {
		for _, b := range uris {
			ka, _ := CallerKey(a, GlobalOnly)
			kb, _ := CallerKey(b, GlobalOnly)
			if (ka == kb) != SameSIPURI(a, b) {
				t.Errorf("%q vs %q: keys %q, %q; SameSIPURI %v", a, b, ka, kb, SameSIPURI(a, b))
			}
		}
	}
}

func TestGlobalOnly(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+1 555-0100", "+15550100", true},
		{"+44 (20) 7946.0018", "+442079460018", true},
		{" +15550100 ", "+15550100", true},
		{"555-0100", "", false},
		{"0044 20 7946 0018", "", false},
		{"+1 555 0100 x12", "", false},
		{"++15550100", "", false},
		{"+1555010001234567", "", false},
		{"+", "", false},
	}
	for _, tt := range tests {
		got, ok := GlobalOnly.E164(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("GlobalOnly.E164(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
