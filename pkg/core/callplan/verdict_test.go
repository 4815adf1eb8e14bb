package callplan

import "testing"

// TestVerdictDomainForms: the RFC 7081 §5 inter-domain verdict for a
// contact's number does not depend on how the contact's JID or the AOR
// spells the domain (case, IDN Unicode or punycode, trailing dot, port),
// and uses the same rule as roster and whois-caller (address.SameDomain).
func TestVerdictDomainForms(t *testing.T) {
	tests := []struct {
		name, uri, aor, jid string
		phone               bool
		pstn, inter         bool
	}{
		{name: "bare jid, same domain", uri: "sip:+15550100@example.test;user=phone", aor: "sip:alice@example.test", jid: "carol@example.test", phone: true, pstn: true},
		{name: "case", uri: "sip:+15550100@example.test;user=phone", aor: "sip:alice@EXAMPLE.TEST", jid: "carol@Example.Test", phone: true, pstn: true},
		{name: "idn unicode jid, punycode aor", uri: "sip:+15550100@xn--bcher-kva.example;user=phone", aor: "sip:alice@XN--BCHER-KVA.example:5060", jid: "carol@BÜCHER.example", phone: true, pstn: true},
		{name: "idn punycode jid, unicode aor", uri: "sip:+15550100@xn--bcher-kva.example;user=phone", aor: "sips:alice@bücher.example.;transport=tls", jid: "carol@xn--bcher-kva.example/phone", phone: true, pstn: true},
		{name: "aor on a subdomain", uri: "sip:+15550100@sip.example.test;user=phone", aor: "sip:alice@sip.example.test", jid: "carol@example.test", phone: true, pstn: true},
		{name: "another domain", uri: "sip:+442079460000@example.test;user=phone", aor: "sip:alice@example.test", jid: "dave@biloxi.test", phone: true, pstn: true, inter: true},
		{name: "sibling domain", uri: "sip:+442079460000@atlanta.example;user=phone", aor: "sip:alice@atlanta.example", jid: "dave@biloxi.example", phone: true, pstn: true, inter: true},
		{name: "sip address, not a number", uri: "sip:bob@example.test", aor: "sip:alice@EXAMPLE.test", jid: "bob@biloxi.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pstn, inter := verdict(tt.uri, tt.aor, &contact{kind: "contact", jid: tt.jid, uri: tt.uri, phone: tt.phone})
			if pstn != tt.pstn || inter != tt.inter {
				t.Errorf("verdict = pstn %v inter-domain %v, want %v %v", pstn, inter, tt.pstn, tt.inter)
			}
		})
	}
}
