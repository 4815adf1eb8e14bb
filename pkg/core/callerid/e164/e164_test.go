package e164

import (
	"testing"

	"github.com/emersion/go-vcard"

	"github.com/cusax/cusax/pkg/core/callerid"
)

func TestE164(t *testing.T) {
	tests := []struct {
		name, region, in, want string
		ok                     bool
	}{
		{"international with separators", "", "+1 (202) 555-0143", "+12025550143", true},
		{"international, no region needed", "", "+44 20 7946 0018", "+442079460018", true},
		{"national without region", "", "(202) 555-0143", "", false},
		{"national US", "US", "(202) 555-0143", "+12025550143", true},
		{"national US with trunk 1", "us", "1 202 555 0143", "+12025550143", true},
		{"national DE drops the 0", "DE", "030 1234567", "+49301234567", true},
		{"national GB drops the 0", "GB", "020 7946 0018", "+442079460018", true},
		{"international in a region", "DE", "+1 202 555 0143", "+12025550143", true},
		{"letters refused", "US", "1-800-FLOWERS", "", false},
		{"extension text refused", "US", "202 555 0143 x12", "", false},
		{"too short", "", "+1 2", "", false},
		{"too long", "", "+1 202 555 0143 0143 0143", "", false},
		{"unknown region ignored", "XX", "(202) 555-0143", "", false},
		{"empty", "US", "", "", false},
		{"plus in the middle", "US", "202+5550143", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := New(DefaultRegion(tt.region)).E164(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("E164(%q) in %q = %q, %v; want %q, %v", tt.in, tt.region, got, ok, tt.want, tt.ok)
			}
		})
	}
	var zero *Normalizer
	if got, ok := zero.E164("+12025550143"); !ok || got != "+12025550143" {
		t.Errorf("nil Normalizer: %q, %v", got, ok)
	}
}

// TestJudgeNationalNumbers: with a region, a national number on a vCard
// matches the caller's international one, and a suffix does not.
func TestJudgeNationalNumbers(t *testing.T) {
	c := vcard.Card{}
	c.AddValue(vcard.FieldTelephone, "030 1234567")
	entries := []callerid.Entry{{JID: "anna@example.test", Name: "Anna", Card: c}}
	idx := callerid.NewIndex(entries, New(DefaultRegion("DE")))
	tests := []struct{ caller, verdict string }{
		{"sip:+49301234567@gw.example.test;user=phone", callerid.VerdictVerifiedByScan},
		{"tel:+49-30-1234567", callerid.VerdictVerifiedByScan},
		{"tel:030-1234567", callerid.VerdictVerifiedByScan},
		{"tel:+491234567", callerid.VerdictUnknown},
		{"tel:+4930301234567", callerid.VerdictUnknown},
		{"tel:+1301234567", callerid.VerdictUnknown},
	}
	for _, tt := range tests {
		r := callerid.Judge(callerid.Call{Caller: tt.caller, CallerSource: callerid.SourceFrom}, idx, nil)
		if r.Verdict != tt.verdict {
			t.Errorf("%s: %q, want %q", tt.caller, r.Verdict, tt.verdict)
		}
	}
}
