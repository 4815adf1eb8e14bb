package session

import "testing"

// TestDomainOfAOR: the AOR's domain in the parity fix texts is the one
// form pkg/address gives (issue 14): case folded, port and parameters
// dropped, an IDN as its A-label, an IPv6 literal whole.
func TestDomainOfAOR(t *testing.T) {
	for aor, want := range map[string]string{
		"sip:alice@example.test":                     "example.test",
		"sip:alice@EXAMPLE.Test:5060;transport=udp":  "example.test",
		"sips:alice@bücher.example.":                 "xn--bcher-kva.example",
		"sip:alice@[2001:DB8::1]:5060;transport=tcp": "[2001:db8::1]",
		"tel:+15551234":                              "",
	} {
		if got := domainOf(aor); got != want {
			t.Errorf("domainOf(%q) = %q, want %q", aor, got, want)
		}
	}
}
