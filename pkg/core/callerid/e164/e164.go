// Package e164 is a callerid.NumberNormalizer backed by a full
// phone-number library (github.com/nyaruka/phonenumbers, a port of
// Google's libphonenumber): national numbers are read in a default region,
// national prefixes and trunk codes are dropped, and the result is E.164.
//
// It is a separate package because importing the library costs every
// process its initialisation: its metadata is decoded at init, measured
// with GODEBUG=inittrace=1 on this package's test binary at 14-19 ms,
// 2.5 MB and 35,500 allocations, plus about 2 ms for the
// golang.org/x/text/language/display tables it pulls in; cusax
// re-executes its own binary for every plugin, so every command would pay
// it. Import it only from the code path that judges calls (whois-caller),
// never from a package every command links.
//
// Error contract: E164 reports false for input it cannot read as a
// phone number; nothing here prints, exits or uses the network.
package e164

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/cusax/cusax/pkg/core/callerid"
)

// Normalizer turns phone numbers into E.164. The zero value reads only
// numbers in international form. It is safe for concurrent use.
type Normalizer struct {
	region string // ISO 3166-1 alpha-2, upper-case; "" for none
}

var _ callerid.NumberNormalizer = (*Normalizer)(nil)

// Option configures a Normalizer.
type Option func(*Normalizer)

// DefaultRegion sets the region national numbers are read in, as an ISO
// 3166-1 alpha-2 code ("US", "de"): the account's own country, so that
// "030 1234567" on a vCard and "+49301234567" from the network compare
// equal. A region the library does not know is ignored (national
// numbers then report false).
func DefaultRegion(region string) Option {
	return func(n *Normalizer) {
		r := strings.ToUpper(strings.TrimSpace(region))
		if phonenumbers.GetCountryCodeForRegion(r) != 0 {
			n.region = r
		}
	}
}

// New returns a Normalizer.
func New(opts ...Option) *Normalizer {
	n := &Normalizer{}
	for _, o := range opts {
		o(n)
	}
	return n
}

// Region reports the default region, "" when there is none.
func (n *Normalizer) Region() string { return n.region }

// maxInput bounds the text handed to the library (E.164 has at most 15
// digits; separators take the rest).
const maxInput = 64

// E164 returns number in E.164 form ("+" and digits). number is written
// with digits, an optional leading '+' and the visual separators of RFC
// 3966 §5.1.1 (and spaces); letters are refused (a caller's address never
// has vanity letters, and "x12" extensions belong in ;ext=). A national
// number needs a DefaultRegion. Numbers the library deems impossible
// (wrong length for their country) report false.
func (n *Normalizer) E164(number string) (string, bool) {
	number = strings.TrimSpace(number)
	if number == "" || len(number) > maxInput {
		return "", false
	}
	for i := 0; i < len(number); i++ {
		c := number[i]
		if !(c >= '0' && c <= '9' || c == '+' && i == 0 || strings.IndexByte(" -.()", c) >= 0) {
			return "", false
		}
	}
	region := "ZZ" // unknown: only international numbers parse
	if n != nil && n.region != "" {
		region = n.region
	}
	pn, err := phonenumbers.Parse(number, region)
	if err != nil || !phonenumbers.IsPossibleNumber(pn) {
		return "", false
	}
	out := phonenumbers.Format(pn, phonenumbers.E164)
	if len(out) < 2 || out[0] != '+' || len(out) > 16 {
		return "", false
	}
	return out, true
}
