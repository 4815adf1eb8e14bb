package callerjudge

import (
	"testing"

	"github.com/cusax/cusax/pkg/core/callerid"
)

// TestHintLookupDomainForms: a Call-Info hint (RFC 7081 §3.5, RFC 6993)
// finds its roster entry whatever case or IDN form either side spells the
// domain in (issue 14), and no look-alike.
func TestHintLookupDomainForms(t *testing.T) {
	lookup := HintLookup([]callerid.Entry{
		{JID: "bob@xn--bcher-kva.example", Name: "Bob"},
		{JID: "carol@Example.Test", Name: "Carol"},
	})
	for hint, want := range map[string]string{
		"bob@bücher.example":         "Bob",
		"bob@BÜCHER.example":         "Bob",
		"Bob@XN--BCHER-KVA.example.": "Bob",
		"carol@example.test":         "Carol",
		"carol@EXAMPLE.TEST/phone":   "Carol",
		"bob@bucher.example":         "",
		"carol@sub.example.test":     "",
		"":                           "",
	} {
		e, ok := lookup(hint)
		if ok != (want != "") || e.Name != want {
			t.Errorf("lookup(%q) = %q, %v; want %q", hint, e.Name, ok, want)
		}
	}
}
