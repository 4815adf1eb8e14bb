package tollguard

import (
	"strings"
	"testing"
)

// Number reads what a peer or a vCard put in a URI: it must never panic,
// and what it accepts is a number (an optional + and digits) that
// Classify can read without panicking.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"tel:+49-900-1234567", "sip:+4990012345@x;user=phone", "sips:112@x", "tel:;", "sip:@", "tel:+", "sip:1(2)3@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		n, ok := Number(uri)
		if !ok {
			return
		}
		if strings.TrimLeft(strings.TrimPrefix(n, "+"), "0123456789") != "" || strings.TrimPrefix(n, "+") == "" {
			t.Fatalf("Number(%q) = %q: not a number", uri, n)
		}
		Classify(n, "DE")
	})
}
